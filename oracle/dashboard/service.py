"""`verai dashboard` as a process: connect (no key), open the dashboard's own SQLite mirror,
serve the pages at once (they say "catching up" until the first blocks are in), follow the
chain on a background thread, and stop cleanly on SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from oracle.chain.connection import Chain, open_chain
from oracle.chain.contracts import open_contracts
from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.chain.rpc import connect
from oracle.dashboard import audits
from oracle.dashboard.app import Dashboard
from oracle.dashboard.audits import Auditor
from oracle.dashboard.live import BlockFeed, Follower
from oracle.dashboard.metrics import DashboardMetrics
from oracle.dashboard.settings import DashboardSettings
from oracle.dashboard.transactions import ReportTransactions
from oracle.dashboard.view import FollowStatus, Network, Reader
from oracle.errors import OracleError
from oracle.observe.health import Health
from oracle.observe.logs import get_logger
from oracle.store import Database

log = get_logger("oracle.dashboard")
SHUTDOWN_SECONDS = 3.0


class ListenError(OracleError):
    """The web server cannot bind its address."""


def rpc_label(url: str) -> str:
    """scheme://host[:port] of an RPC URL: its path and query may hold an API key."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc.rpartition('@')[2]}"


@dataclass
class Parts:
    chain: Chain
    db: Database
    mirror: Mirror
    ingestor: Ingestor
    follower: Follower
    dashboard: Dashboard
    feed: BlockFeed
    auditor: Auditor | None


def assemble(settings: DashboardSettings) -> Parts:
    """Everything the process runs, connected and checked; raises a one-line OracleError
    (RPC down, no deployment record, wrong chain, database of another deployment)."""
    metrics = DashboardMetrics()
    chain = open_chain(settings, on_error=metrics.rpc_error)
    db = Database(settings.db)
    db.bind(
        chain_id=str(chain.chain_id),
        contracts=",".join(a.lower() for a in chain.contracts.addresses()),
    )
    mirror = Mirror(db)
    ingestor = Ingestor(
        chain.rpc,
        db,
        addresses=chain.contracts.ingest_addresses(),
        contract_of=chain.contracts.names_by_address(),
        sinks=[mirror],
        start_block=chain.record.start_block,
        confirmations=settings.confirmations,
        batch_blocks=settings.batch_blocks,
    )
    transactions = ReportTransactions(chain.rpc, db)
    audits.migrate(db)
    auditor = None
    if settings.audits:
        # its own RPC client: the follower's stays on the follower's thread
        audit_rpc, _ = connect(settings.rpc_url, timeout=settings.rpc_timeout)
        auditor = Auditor(
            db,
            open_contracts(audit_rpc, chain.record, check_code=False),
            store_folder=settings.store_folder,
            ipfs_url=settings.ipfs_url,
            paths=settings.audit_paths,
            interval=max(settings.poll_interval, 1.0),
        )
    status = FollowStatus()
    health = Health(settings.health_timeout)
    network = Network(
        chain.chain_id, chain.record, rpc_label(settings.rpc_url), audits=settings.audits
    )
    feed = BlockFeed(settings.max_live_clients, metrics)
    dashboard = Dashboard(
        Reader(db, mirror, ingestor, network, status), feed=feed, metrics=metrics, health=health
    )
    follower = Follower(
        ingestor,
        mirror,
        transactions,
        status=status,
        health=health,
        metrics=metrics,
        poll_interval=settings.poll_interval,
        on_block=lambda block, timestamp: None,  # wired to the event loop in serve()
    )
    return Parts(chain, db, mirror, ingestor, follower, dashboard, feed, auditor)


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    settings: DashboardSettings, parts: Parts, on_listening: Callable[[str], None]
) -> None:
    """Serves until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    feed = parts.feed

    def on_block(block: int, timestamp: int) -> None:
        loop.call_soon_threadsafe(feed.publish, block, timestamp)

    parts.follower.on_block = on_block
    runner = web.AppRunner(parts.dashboard.application(), access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner, settings.listen_host, settings.listen_port, shutdown_timeout=SHUTDOWN_SECONDS
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(
            f"cannot listen on {url_of(settings.listen_host, settings.listen_port)}: "
            f"{exc.strerror or exc} (choose another --listen HOST:PORT)"
        ) from None
    server: Any = site._server
    sockets = list(getattr(server, "sockets", None) or [])
    port = int(sockets[0].getsockname()[1]) if sockets else settings.listen_port
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parts.follower.start()
    if parts.auditor is not None:
        parts.auditor.start()
    on_listening(url_of(settings.listen_host, port))
    log.info("serving", extra={"url": url_of(settings.listen_host, port)})
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        parts.follower.stop()
        if parts.auditor is not None:
            parts.auditor.stop()
        await runner.cleanup()
        parts.db.close()
