"""The observation server of a process: `GET /metrics` (Prometheus text format) and
`GET /healthz` (200 or 503 with a JSON body). aiohttp, like the committee network and the
dashboard. Runs either inside the caller's asyncio loop (`add_observation_routes`) or on a
background thread of its own (`ObservationServer`, for the synchronous node agent)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from oracle.observe.health import Health


def add_observation_routes(
    app: web.Application, registry: CollectorRegistry, health: Health
) -> None:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(_: web.Request) -> web.Response:
        healthy, body = health.check()
        return web.json_response(body, status=200 if healthy else 503)

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)


class ObservationServer:
    """/metrics and /healthz on `host:port` (port 0: any free port; see `.port`), served from a
    daemon thread with its own event loop."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: Health) -> None:
        self.host = host
        self.port = port
        self._registry = registry
        self._health = health
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="observation-server", daemon=True)

    def start(self, timeout: float = 10.0) -> ObservationServer:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the metrics server on {self.host}:{self.port} did not start")
        if self._error is not None:
            raise OSError(f"cannot serve metrics on {self.host}:{self.port}: {self._error}")
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is not None and runner is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        add_observation_routes(app, self._registry, self._health)
        runner = web.AppRunner(app, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            loop.run_until_complete(site.start())
            # port 0: the kernel chose one; read it back from the listening socket
            server: Any = site._server
            sockets = list(getattr(server, "sockets", None) or [])
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        except BaseException as exc:  # bind errors end up in start()
            self._error = exc
            self._ready.set()
            return
        self._runner = runner
        self._ready.set()
        loop.run_forever()
        loop.close()
