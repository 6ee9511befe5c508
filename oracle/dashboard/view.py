"""What every page reads from: the dashboard's SQLite mirror pinned to one ingested block.

A page opens a `View` at the ingestion cursor inside one SQLite read transaction (a deferred
BEGIN: under WAL it sees one consistent snapshot while the ingestor keeps writing), so every
number on a page is of the same block, and the page says which.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from oracle.chain.deployment import DeploymentRecord
from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.dashboard.format import class_label
from oracle.store import Database


@dataclass(frozen=True)
class Network:
    """The deployment the dashboard shows."""

    chain_id: int
    record: DeploymentRecord
    rpc_label: str  # scheme://host[:port] of the RPC, never its path (it may hold an API key)
    audits: bool = False  # rounds are audited (a round-document store is configured)

    @property
    def class_names(self) -> dict[bytes, str]:
        return self.record.class_names()


@dataclass
class FollowStatus:
    """How the ingestion loop is doing (written by it, read by the pages)."""

    head: int | None = None
    cursor: int | None = None
    last_success: float | None = None  # wall clock of the last successful poll
    error: str | None = None  # the last poll's error, None once a poll succeeds again
    error_since: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self, head: int, cursor: int) -> None:
        with self._lock:
            self.head, self.cursor = head, cursor
            self.last_success = time.time()
            self.error = self.error_since = None

    def failed(self, error: str) -> None:
        with self._lock:
            if self.error is None:
                self.error_since = time.time()
            self.error = error

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "head": self.head,
                "cursor": self.cursor,
                "last_success": self.last_success,
                "error": self.error,
                "error_since": self.error_since,
            }


@dataclass(frozen=True)
class View:
    """Reads pinned to `block` (with its header `timestamp`)."""

    conn: sqlite3.Connection
    mirror: Mirror
    network: Network
    block: int
    timestamp: int
    status: dict[str, Any]

    def class_name(self, key: bytes) -> str:
        return class_label(key, self.network.class_names)

    @functools.cached_property
    def paused_since(self) -> tuple[int, int] | None:
        """(block, time) the registry was paused at, when it is paused at this block (its
        Paused / Unpaused events; a registry without a pause never is)."""
        row = self.conn.execute(
            "SELECT l.event, l.block_number, b.timestamp FROM logs l JOIN blocks b ON b.number "
            "= l.block_number WHERE l.contract = 'NodeRegistry' AND l.event IN ('Paused', "
            "'Unpaused') AND l.block_number <= ? ORDER BY l.block_number DESC, l.log_index "
            "DESC LIMIT 1",
            (self.block,),
        ).fetchone()
        if row is None or row[0] != "Paused":
            return None
        return int(row[1]), int(row[2])

    @property
    def lag(self) -> int | None:
        head = self.status.get("head")
        return None if head is None else max(0, int(head) - self.block)


class Reader:
    """Opens views for the pages (one per request, on the request's thread)."""

    def __init__(
        self,
        db: Database,
        mirror: Mirror,
        ingestor: Ingestor,
        network: Network,
        status: FollowStatus,
    ) -> None:
        self.db = db
        self.mirror = mirror
        self.ingestor = ingestor
        self.network = network
        self.status = status

    @contextlib.contextmanager
    def view(self) -> Iterator[View | None]:
        """A view at the ingestion cursor; None while nothing has been ingested yet."""
        conn = self.db.connection
        conn.execute("BEGIN")  # deferred and read-only: one snapshot for the whole page
        try:
            block, block_hash = self.ingestor.cursor()
            timestamp = self.mirror.block_timestamp(block) if block_hash is not None else None
            if timestamp is None:
                yield None
            else:
                yield View(
                    conn, self.mirror, self.network, block, timestamp, self.status.snapshot()
                )
        finally:
            conn.execute("COMMIT")
