"""The committee network: an aiohttp server every member runs and a client to the others.

Server routes:
  POST /v1/message       one message (proposal, signatures, attested); 202 accepted, 4xx with
                         {"error", "reason"} when rejected (413 above the size limit, 400
                         malformed, 403 non-member / wrong leader, 409 stale / replayed)
  GET  /v1/round/{n}     the messages this member holds for round n (catch-up)
  GET  /v1/status        who this member is and where it stands
Bodies are read up to the limit + 1 byte, never more; the handler never raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

log = logging.getLogger("oracle.service.peers")

MessageHandler = Callable[[bytes], Awaitable[tuple[int, dict[str, Any]]]]


class PeerServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        limit: int,
        on_message: MessageHandler,
        round_messages: Callable[[int], list[bytes]],
        status: Callable[[], dict[str, Any]],
        on_oversized: Callable[[], None],
    ) -> None:
        self.host = host
        self.port = port
        self.limit = limit
        self._on_message = on_message
        self._round_messages = round_messages
        self._status = status
        self._on_oversized = on_oversized
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=limit + 1024)
        self.app.router.add_post("/v1/message", self._message)
        self.app.router.add_get("/v1/round/{round}", self._round)
        self.app.router.add_get("/v1/status", self._status_route)

    async def start(self) -> int:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server: Any = site._server
        sockets = list(getattr(server, "sockets", None) or [])
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _message(self, request: web.Request) -> web.Response:
        declared = request.content_length
        if declared is not None and declared > self.limit:
            self._on_oversized()
            return web.json_response(
                {"error": f"message of {declared} bytes > {self.limit}", "reason": "oversized"},
                status=413,
            )
        body = await request.content.read(self.limit + 1)
        if len(body) > self.limit:
            self._on_oversized()
            return web.json_response(
                {"error": f"message above {self.limit} bytes", "reason": "oversized"}, status=413
            )
        status, reply = await self._on_message(body)
        return web.json_response(reply, status=status)

    async def _round(self, request: web.Request) -> web.Response:
        text = request.match_info["round"]
        if not text.isdigit() or len(text) > 20:
            return web.json_response({"error": "round must be a number"}, status=400)
        bodies = self._round_messages(int(text))
        return web.json_response({"messages": [json.loads(b) for b in bodies]})

    async def _status_route(self, request: web.Request) -> web.Response:
        return web.json_response(self._status())


class PeerClient:
    def __init__(self, peers: list[str], *, timeout: float = 5.0) -> None:
        self.peers = peers
        self.timeout = ClientTimeout(total=timeout)
        self._session: ClientSession | None = None

    async def session(self) -> ClientSession:
        if self._session is None or self._session.closed:
            self._session = ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(self, peer: str, body: bytes) -> int | None:
        try:
            session = await self.session()
            async with session.post(
                f"{peer}/v1/message", data=body, headers={"Content-Type": "application/json"}
            ) as response:
                await response.read()
                return response.status
        except (TimeoutError, ClientError, OSError) as exc:
            log.debug("peer %s unreachable: %s", peer, exc)
            return None

    async def broadcast(self, body: bytes) -> list[int | None]:
        return list(await asyncio.gather(*(self._post(p, body) for p in self.peers)))

    async def fetch_round(self, round: int) -> list[bytes]:
        """Every message the peers hold for `round` (as JSON bodies), from those that answer."""

        async def one(peer: str) -> list[bytes]:
            try:
                session = await self.session()
                async with session.get(f"{peer}/v1/round/{round}") as response:
                    if response.status != 200:
                        return []
                    payload = await response.json()
                    return [json.dumps(m).encode() for m in payload.get("messages", [])]
            except (TimeoutError, ClientError, OSError, ValueError):
                return []

        results = await asyncio.gather(*(one(p) for p in self.peers))
        return [body for bodies in results for body in bodies]

    async def status(self, peer: str) -> dict[str, Any] | None:
        try:
            session = await self.session()
            async with session.get(f"{peer}/v1/status") as response:
                if response.status != 200:
                    return None
                reply: dict[str, Any] = await response.json()
                return reply
        except (TimeoutError, ClientError, OSError, ValueError):
            return None
