"""Keeping the mirror current and telling browsers: the follower thread polls the chain (the
shared `Ingestor` into the dashboard's own SQLite mirror) and, each time the ingested block
moves, the feed sends one `block` event to every browser on /events. A browser refreshes when
it hears of a block newer than the one its page shows, so it refreshes at most once per block.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable

from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.dashboard.metrics import DashboardMetrics
from oracle.dashboard.transactions import ReportTransactions
from oracle.dashboard.view import FollowStatus
from oracle.errors import OracleError
from oracle.observe.health import Health
from oracle.observe.logs import get_logger, log_context

log = get_logger("oracle.dashboard.live")

PRUNE_EVERY = 1_000  # polls between prunes of old mirror versions
PROGRESS_EVERY = 5.0  # seconds between "catching up" log lines


class BlockFeed:
    """The newest ingested block, pushed to each subscriber's one-slot queue (a slow browser
    only ever gets the latest block, never a backlog). Used from the event loop's thread."""

    def __init__(self, max_clients: int, metrics: DashboardMetrics) -> None:
        self.max_clients = max_clients
        self.metrics = metrics
        self.latest: dict[str, int] | None = None
        self._queues: set[asyncio.Queue[dict[str, int] | None]] = set()

    @property
    def full(self) -> bool:
        return len(self._queues) >= self.max_clients

    def subscribe(self) -> asyncio.Queue[dict[str, int] | None]:
        queue: asyncio.Queue[dict[str, int] | None] = asyncio.Queue(maxsize=1)
        self._queues.add(queue)
        self.metrics.live_clients.set(len(self._queues))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, int] | None]) -> None:
        self._queues.discard(queue)
        self.metrics.live_clients.set(len(self._queues))

    def publish(self, block: int, timestamp: int) -> None:
        if self.latest is not None and block == self.latest["block"]:
            return
        self.latest = {"block": block, "timestamp": timestamp}
        for queue in list(self._queues):
            self._offer(queue, self.latest)
            self.metrics.live_events.inc()

    def close(self) -> None:
        for queue in list(self._queues):
            self._offer(queue, None)

    @staticmethod
    def _offer(queue: asyncio.Queue[dict[str, int] | None], item: dict[str, int] | None) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(item)


def sse(item: dict[str, int]) -> bytes:
    return f"event: block\ndata: {json.dumps(item, separators=(',', ':'))}\n\n".encode()


class Follower:
    """The ingestion loop on a daemon thread of its own (the RPC client and its SQLite
    connection stay on that thread)."""

    def __init__(
        self,
        ingestor: Ingestor,
        mirror: Mirror,
        transactions: ReportTransactions,
        *,
        status: FollowStatus,
        health: Health,
        metrics: DashboardMetrics,
        poll_interval: float,
        on_block: Callable[[int, int], None],
    ) -> None:
        self.ingestor = ingestor
        self.mirror = mirror
        self.transactions = transactions
        self.status = status
        self.health = health
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.on_block = on_block
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-follower", daemon=True)
        self._polls = 0
        self._last_progress = 0.0
        self._published: int | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Asks the loop to end after its current poll (a poll stuck on the RPC is abandoned:
        its uncommitted batch is simply redone at the next start)."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            caught_up = self.poll_once()
            self._stop.wait(self.poll_interval if caught_up else 0.0)

    def poll_once(self) -> bool:
        """One poll; True when the mirror has caught up with the chain (or the poll failed, so
        the loop waits before trying again)."""
        started = time.monotonic()
        try:
            result = self.ingestor.poll()
            self.transactions.fetch_missing()
            self._polls += 1
            if self._polls % PRUNE_EVERY == 0:
                self.mirror.prune(result.cursor)
            timestamp = self.mirror.block_timestamp(result.cursor)
        except OracleError as exc:
            self._failed(str(exc))
            return True
        except Exception as exc:  # a bug must not end the loop silently: log and retry
            log.exception("poll failed")
            self._failed(f"{type(exc).__name__}: {exc}")
            return True
        self.metrics.polls.labels("ok").inc()
        self.metrics.poll_seconds.observe(time.monotonic() - started)
        self.metrics.ingested_block.set(result.cursor)
        self.metrics.head_block.set(result.head)
        self.metrics.lag_blocks.set(result.lag)
        self.metrics.events.inc(result.events)
        if result.reorg_depth:
            self.metrics.reorgs.inc()
            log.warning("reorg rewound", extra={"depth": result.reorg_depth})
        self.status.succeeded(result.head, result.cursor)
        self.health.pulse(cursor=result.cursor, head=result.head, lag=result.lag)
        if timestamp is not None and result.cursor != self._published:
            self._published = result.cursor
            self.on_block(result.cursor, timestamp)
        caught_up = result.cursor >= self.ingestor.target(result.head) and not result.inconsistent
        if not caught_up and time.monotonic() - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = time.monotonic()
            with log_context(block=result.cursor):
                log.info("catching up", extra={"head": result.head, "lag": result.lag})
        return caught_up

    def _failed(self, error: str) -> None:
        self.metrics.polls.labels("error").inc()
        self.status.failed(error)
        log.warning("poll failed", extra={"error": error})
