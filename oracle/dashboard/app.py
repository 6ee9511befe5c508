"""The dashboard's web application (aiohttp): server-rendered pages, the live-update stream,
static files (the vendored chart library among them), /metrics and /healthz.

Safety: nothing here changes anything. Only GET and HEAD are answered (everything else is 405,
whatever the path); every value from the chain goes through Jinja's autoescaping; a strict
Content-Security-Policy allows scripts and styles from this server only (no inline script, no
third-party origin, so the page works with no internet and an injected tag could not run).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from oracle.dashboard import format as fmt
from oracle.dashboard.live import BlockFeed, sse
from oracle.dashboard.metrics import DashboardMetrics
from oracle.dashboard.pages import energy, nodes, overview, rounds, tasks
from oracle.dashboard.view import Reader, View
from oracle.observe.health import Health
from oracle.observe.logs import get_logger
from oracle.observe.server import add_observation_routes

log = get_logger("oracle.dashboard.app")
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SQLITE_MAX_ID = 2**63 - 1
KEEPALIVE_SECONDS = 15.0
FRAGMENT_HEADER = "X-Verai-Fragment"
RENDER_CACHE = 64  # rendered pages kept (oldest dropped first)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
READ_ONLY_METHODS = ("GET", "HEAD")

Builder = Callable[[View], dict[str, Any] | None]


class BadParameter(Exception):
    """A query parameter with a value the page cannot use."""


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every page is HTML: escape every value, always
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt.FILTERS)
    return env


class Dashboard:
    """Request handlers over a `Reader`; page reads and rendering run on a thread pool so a
    slow page never holds up /events or /healthz."""

    def __init__(
        self,
        reader: Reader,
        *,
        feed: BlockFeed,
        metrics: DashboardMetrics,
        health: Health,
        workers: int = 4,
    ) -> None:
        self.reader = reader
        self.feed = feed
        self.metrics = metrics
        self.health = health
        self.env = templates()
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="dashboard-page")
        self.closing = asyncio.Event()
        self._cache: dict[tuple[Any, ...], tuple[int, str, int | None]] = {}
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ application
    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._headers, self._read_only])
        get = app.router.add_get
        get("/", self._page("overview", lambda r: overview.build), name="overview")
        get("/nodes", self._page("nodes", self._node_list), name="nodes")
        get("/node/{id:[0-9]{1,19}}", self._page("node", self._node), name="node")
        get("/tasks", self._page("tasks", self._task_list), name="tasks")
        get("/task/{id:[0-9]{1,19}}", self._page("task", self._task), name="task")
        get("/rounds", self._page("rounds", self._round_list), name="rounds")
        get("/round/{id:[0-9]{1,19}}", self._page("round", self._round), name="round")
        get("/energy", self._page("energy", self._energy), name="energy")
        get("/events", self._events, name="events")
        app.router.add_static("/static/", STATIC, name="static")
        add_observation_routes(app, self.metrics.registry, self.health)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, _: web.Application) -> None:
        self.closing.set()
        self.feed.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ builders by page
    @staticmethod
    def _node_list(request: web.Request) -> Builder:
        page = _int_query(request, "page", 1)
        return lambda view: nodes.build_list(view, page)

    @staticmethod
    def _node(request: web.Request) -> Builder:
        node_id = _path_id(request)
        return lambda view: nodes.build(view, node_id) if node_id is not None else None

    @staticmethod
    def _task_list(request: web.Request) -> Builder:
        page = _int_query(request, "page", 1)
        return lambda view: tasks.build_list(view, page)

    @staticmethod
    def _task(request: web.Request) -> Builder:
        task_id = _path_id(request)
        return lambda view: tasks.build(view, task_id) if task_id is not None else None

    @staticmethod
    def _round_list(request: web.Request) -> Builder:
        page = _int_query(request, "page", 1)
        return lambda view: rounds.build_list(view, page)

    @staticmethod
    def _round(request: web.Request) -> Builder:
        number = _path_id(request)
        return lambda view: rounds.build(view, number) if number is not None else None

    @staticmethod
    def _energy(request: web.Request) -> Builder:
        window = request.query.get("window", energy.DEFAULT_WINDOW)
        if window not in energy.WINDOWS:
            raise BadParameter(f"window={window!r} is not one of {', '.join(energy.WINDOWS)}")
        return lambda view: energy.build(view, window)

    # ------------------------------------------------------------------ rendering
    def _page(
        self, name: str, builder_for: Callable[[web.Request], Builder]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            fragment = request.headers.get(FRAGMENT_HEADER) == "1"
            try:
                build = builder_for(request)
            except BadParameter as exc:
                html = self._render_error(400, str(exc))
                return _html(html, 400)
            loop = asyncio.get_running_loop()
            status, html, block = await loop.run_in_executor(
                self.pool, self._render, name, build, fragment, request.path_qs
            )
            response = _html(html, status)
            if block is not None:
                response.headers["X-Verai-Block"] = str(block)
            return response

        return handler

    def _render(
        self, name: str, build: Builder, fragment: bool, path: str
    ) -> tuple[int, str, int | None]:
        """(status, html, block shown)."""
        with self.metrics.render_seconds.labels(name).time(), self.reader.view() as view:
            common = {
                "current": name,
                "fragment": fragment,
                "network": self.reader.network,
                "path": path,
            }
            if view is None:
                status = self.reader.status.snapshot()
                template = self.env.get_template("waiting.html")
                return 200, template.render(view=None, status=status, **common), None
            # every browser refreshes at each new block: render each page once per block
            audits = view.conn.execute(
                "SELECT COUNT(*), MAX(audited_at) FROM dashboard_audits"
            ).fetchone()  # a verdict can arrive between blocks
            key = (path, fragment, view.block, view.lag, view.status.get("error"), tuple(audits))
            with self._cache_lock:
                cached = self._cache.get(key)
            if cached is not None:
                return cached
            data = build(view)
            if data is None:
                template = self.env.get_template("not_found.html")
                html = template.render(view=view, status=view.status, **common)
                result = (404, html, view.block)
            else:
                template = self.env.get_template(f"{name}.html")
                html = template.render(view=view, status=view.status, **common, **data)
                result = (200, html, view.block)
            with self._cache_lock:
                self._cache[key] = result
                while len(self._cache) > RENDER_CACHE:
                    self._cache.pop(next(iter(self._cache)))
            return result

    def _render_error(self, status: int, message: str) -> str:
        return self.env.get_template("error.html").render(
            current="error",
            fragment=False,
            network=self.reader.network,
            view=None,
            status=self.reader.status.snapshot(),
            code=status,
            message=message,
            path="/",
        )

    # ------------------------------------------------------------------ live updates
    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: one `block` event per newly ingested block."""
        if self.feed.full:
            return web.Response(status=503, text="too many live clients; reload later\n")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                **SECURITY_HEADERS,
            }
        )
        await response.prepare(request)
        queue = self.feed.subscribe()
        try:
            await response.write(b"retry: 3000\n\n")
            if self.feed.latest is not None:
                await response.write(sse(self.feed.latest))
            while not self.closing.is_set():
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                await response.write(sse(item))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.feed.unsubscribe(queue)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    # ------------------------------------------------------------------ middlewares
    @web.middleware
    async def _read_only(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method not in READ_ONLY_METHODS:
            return web.Response(
                status=405,
                text="the dashboard is read-only: only GET and HEAD are answered\n",
                headers={"Allow": ", ".join(READ_ONLY_METHODS)},
            )
        return await handler(request)

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            response = _html(self._render_error(404, f"nothing at {request.path}"), 404)
        except web.HTTPException as exc:
            response = web.Response(status=exc.status, text=exc.text, headers=exc.headers)
        except Exception:
            log.exception("page failed", extra={"path": request.path})
            response = _html(self._render_error(500, "this page failed; the log says why"), 500)
        route = getattr(request.match_info.route, "name", None)
        if route is None:
            route = request.path if request.path in ("/metrics", "/healthz") else "unknown"
        self.metrics.requests.labels(route, str(response.status)).inc()
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
        return response


def _html(text: str, status: int) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Vary": FRAGMENT_HEADER},
    )


def _int_query(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise BadParameter(f"{name}={raw!r} is not a page number (1, 2, ...)")
    return int(raw)


def _path_id(request: web.Request) -> int | None:
    """The id in the path; None (not found) beyond what SQLite can store."""
    value = int(request.match_info["id"])
    return value if value <= SQLITE_MAX_ID else None
