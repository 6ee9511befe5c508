"""A JSON-RPC proxy that injects faults between a process and its node, for the fault tests and
the demo: a share of requests answered with HTTP 500, a share whose connection is dropped
without an answer, and a delay before every request it forwards.

    python tools/faulty_rpc.py --upstream http://127.0.0.1:8545 --error-rate 0.1 --delay-ms 500

Prints `Listening on 127.0.0.1:PORT` once ready (`--port 0`, the default, picks a free port).
`GET /__faults` returns the counters as JSON; `POST /__faults` with {"error_rate": .., "drop_rate":
.., "delay_ms": ..} changes the rates while it runs. Binds to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
from dataclasses import asdict, dataclass

from aiohttp import ClientSession, ClientTimeout, web


@dataclass
class Faults:
    error_rate: float = 0.0
    drop_rate: float = 0.0
    delay_ms: float = 0.0
    forwarded: int = 0
    errors: int = 0
    drops: int = 0
    delayed: int = 0


def make_app(upstream: str, faults: Faults, rng: random.Random) -> web.Application:
    session: ClientSession | None = None

    async def startup(_: web.Application) -> None:
        nonlocal session
        session = ClientSession(timeout=ClientTimeout(total=60))

    async def cleanup(_: web.Application) -> None:
        if session is not None:
            await session.close()

    async def proxy(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        draw = rng.random()
        if draw < faults.drop_rate:
            faults.drops += 1
            assert request.transport is not None
            request.transport.close()  # the client sees its connection reset
            raise web.HTTPInternalServerError()
        if draw < faults.drop_rate + faults.error_rate:
            faults.errors += 1
            return web.Response(status=500, text="injected fault")
        if faults.delay_ms > 0:
            faults.delayed += 1
            await asyncio.sleep(faults.delay_ms / 1000)
        assert session is not None
        async with session.post(
            upstream, data=body, headers={"Content-Type": "application/json"}
        ) as up:
            payload = await up.read()
            faults.forwarded += 1
            return web.Response(body=payload, status=up.status, content_type="application/json")

    async def get_faults(_: web.Request) -> web.Response:
        return web.json_response(asdict(faults))

    async def set_faults(request: web.Request) -> web.Response:
        changes = json.loads(await request.read() or b"{}")
        for name in ("error_rate", "drop_rate", "delay_ms"):
            if name in changes:
                setattr(faults, name, float(changes[name]))
        return web.json_response(asdict(faults))

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    app.router.add_get("/__faults", get_faults)
    app.router.add_post("/__faults", set_faults)
    app.router.add_post("/", proxy)
    return app


async def serve(args: argparse.Namespace) -> None:
    faults = Faults(args.error_rate, args.drop_rate, args.delay_ms)
    app = make_app(args.upstream, faults, random.Random(args.seed))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    server = site._server
    port = server.sockets[0].getsockname()[1] if server is not None else args.port  # type: ignore[attr-defined]
    print(f"Listening on 127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="the node's JSON-RPC URL")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0, help="share answered HTTP 500")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share dropped unanswered")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay before forwarding")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for name in ("error_rate", "drop_rate"):
        if not 0 <= getattr(args, name) <= 1:
            sys.exit(f"faulty_rpc: --{name.replace('_', '-')} must be in [0, 1]")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
