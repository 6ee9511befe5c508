"""Event ingestion: the chain's logs of our contracts into SQLite, exactly once, across restarts
and reorgs.

Each `poll()`:
1. reads the head and checks the stored hash of the cursor block against the chain; a mismatch is
   a reorg: walk back over the stored block hashes to the newest one still on the chain (the
   common ancestor), let every sink undo what later blocks produced, drop their logs and blocks,
   move the cursor there, and carry on from it;
2. fetches logs from the cursor to head - confirmations in bounded batches (`eth_getLogs` over
   all the contracts at once), plus the headers of the blocks that have logs and of the batch's
   last block (one JSON-RPC batch). A log whose block hash differs from the header fetched after
   it means the chain moved underneath: the batch is dropped and read again next time;
3. in ONE SQLite transaction: records the blocks, inserts each log keyed by (block hash, log
   index) and feeds the sinks only the logs that were new, then moves the cursor. A crash or an
   exception in a sink rolls the whole batch back; it is redone from the same cursor, so nothing
   is applied twice or lost.

Never reads "latest" state: sinks only see logs and block timestamps, and the cursor never passes
head - confirmations.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from oracle.chain.errors import ReorgTooDeep
from oracle.chain.events import ChainEvent, decode_logs
from oracle.chain.rpc import Rpc
from oracle.store import Database

SCHEMA = [
    """
    CREATE TABLE ingest_cursor (name TEXT PRIMARY KEY, block INTEGER NOT NULL, hash TEXT);
    CREATE TABLE blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, parent TEXT NOT NULL,
                         timestamp INTEGER NOT NULL);
    CREATE TABLE logs (block_hash TEXT NOT NULL, log_index INTEGER NOT NULL,
                       block_number INTEGER NOT NULL, tx_hash TEXT NOT NULL,
                       contract TEXT NOT NULL, event TEXT NOT NULL, args TEXT NOT NULL,
                       PRIMARY KEY (block_hash, log_index));
    CREATE INDEX logs_by_block ON logs(block_number, log_index);
    CREATE INDEX logs_by_event ON logs(event, block_number)
    """,
]


class LogSink(Protocol):
    """What ingestion feeds. Both calls run inside the batch's transaction."""

    def apply(self, conn: sqlite3.Connection, event: ChainEvent, timestamp: int) -> None:
        """Applies one new event (never the same (block hash, log index) twice)."""
        ...

    def rewind(self, conn: sqlite3.Connection, to_block: int) -> None:
        """Undoes everything that blocks above `to_block` produced."""
        ...


def json_value(value: Any) -> Any:
    """Event args as JSON: bytes as 0x-hex, everything else as is (ints stay exact)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def args_json(args: dict[str, Any]) -> str:
    return json.dumps({k: json_value(v) for k, v in args.items()}, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Header:
    number: int
    hash: str
    parent: str
    timestamp: int

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> Header:
        return cls(
            int(raw["number"], 16),
            str(raw["hash"]).lower(),
            str(raw["parentHash"]).lower(),
            int(raw["timestamp"], 16),
        )


@dataclass
class PollResult:
    """What one poll did (for logs and metrics)."""

    head: int = 0
    cursor: int = 0
    events: int = 0
    batches: int = 0
    reorg_depth: int = 0  # blocks rewound (0: no reorg)
    inconsistent: bool = False  # the chain moved during a batch: read again next poll
    seconds: float = 0.0
    names: list[str] = field(default_factory=list)

    @property
    def lag(self) -> int:
        return max(0, self.head - self.cursor)


class Ingestor:
    """Ingests the logs of `addresses` into `db` for `sinks`, from `start_block`."""

    def __init__(
        self,
        rpc: Rpc,
        db: Database,
        *,
        addresses: Sequence[str],
        contract_of: dict[str, str],
        sinks: Sequence[LogSink],
        start_block: int,
        name: str = "main",
        confirmations: int = 0,
        batch_blocks: int = 2_000,
        max_batches_per_poll: int = 10,
        reorg_window: int = 1_024,
        topics: Sequence[object] | None = None,
    ) -> None:
        if confirmations < 0 or batch_blocks < 1 or max_batches_per_poll < 1:
            raise ValueError("confirmations >= 0, batch_blocks >= 1, max_batches_per_poll >= 1")
        self.rpc = rpc
        self.db = db
        self.addresses = list(addresses)
        self.contract_of = {a.lower(): n for a, n in contract_of.items()}
        self.sinks = list(sinks)
        self.start_block = start_block
        self.name = name
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.max_batches = max_batches_per_poll
        self.reorg_window = reorg_window
        # an eth_getLogs topic filter (e.g. [None, node id] for events of one node): a process
        # that follows only its own part of the network stores only that
        self.topics = list(topics) if topics is not None else None
        db.migrate("ingest", SCHEMA)

    # ------------------------------------------------------------------ cursor
    def cursor(self) -> tuple[int, str | None]:
        """(last ingested block, its hash); (start_block - 1, None) before the first batch."""
        row = self.db.execute(
            "SELECT block, hash FROM ingest_cursor WHERE name = ?", (self.name,)
        ).fetchone()
        if row is None:
            return self.start_block - 1, None
        return int(row[0]), row[1]

    def target(self, head: int) -> int:
        return head - self.confirmations

    # ------------------------------------------------------------------ poll
    def poll(self) -> PollResult:
        """One round of catching up (at most `max_batches_per_poll` batches)."""
        started = time.monotonic()
        result = PollResult()
        head = self.rpc.block_number()
        result.head = head
        block, stored_hash = self.cursor()
        if stored_hash is not None:
            chain = self._header(block)
            if chain is None or chain.hash != stored_hash:
                result.reorg_depth = self._handle_reorg(block)
                block, stored_hash = self.cursor()
        target = self.target(head)
        while block < target and result.batches < self.max_batches:
            end = min(block + self.batch_blocks, target)
            applied = self._ingest_batch(block + 1, end)
            if applied is None:
                result.inconsistent = True
                break
            result.events += len(applied)
            result.names.extend(e.name for e in applied)
            result.batches += 1
            block = end
        result.cursor = block
        result.seconds = time.monotonic() - started
        return result

    def catch_up(
        self,
        *,
        timeout: float = 120.0,
        on_progress: Callable[[PollResult], None] | None = None,
    ) -> PollResult:
        """Polls until the cursor reaches head - confirmations (or `timeout` passes), calling
        `on_progress` after each poll (progress output on a long catch-up)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.poll()
            if on_progress is not None:
                on_progress(result)
            if result.cursor >= self.target(result.head) or time.monotonic() > deadline:
                return result

    # ------------------------------------------------------------------ internals
    def _header(self, number: int) -> Header | None:
        raw = self.rpc.request("eth_getBlockByNumber", [hex(number), False])
        return None if raw is None else Header.from_rpc(raw)

    def _ingest_batch(self, first: int, last: int) -> list[ChainEvent] | None:
        query: dict[str, object] = {
            "fromBlock": hex(first),
            "toBlock": hex(last),
            "address": self.addresses,
        }
        if self.topics is not None:
            query["topics"] = self.topics
        raw_logs = self.rpc.request("eth_getLogs", [query])
        events = decode_logs(raw_logs, self.contract_of)
        numbers = sorted({e.block_number for e in events} | {last})
        raws = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        if any(raw is None for raw in raws):
            return None
        headers = {h.number: h for h in (Header.from_rpc(raw) for raw in raws)}
        if any(headers[e.block_number].hash != e.block_hash for e in events):
            return None  # a reorg happened between the two reads: read the batch again
        applied: list[ChainEvent] = []
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO blocks(number, hash, parent, timestamp) VALUES (?,?,?,?)",
                [(h.number, h.hash, h.parent, h.timestamp) for h in headers.values()],
            )
            for event in events:
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO logs(block_hash, log_index, block_number, tx_hash, "
                    "contract, event, args) VALUES (?,?,?,?,?,?,?)",
                    (
                        event.block_hash,
                        event.log_index,
                        event.block_number,
                        event.tx_hash,
                        event.contract,
                        event.name,
                        args_json(event.args),
                    ),
                ).rowcount
                if not inserted:
                    continue  # seen before (a retried batch, a duplicated log)
                timestamp = headers[event.block_number].timestamp
                for sink in self.sinks:
                    sink.apply(conn, event, timestamp)
                applied.append(event)
            conn.execute(
                "INSERT INTO ingest_cursor(name, block, hash) VALUES (?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET block = excluded.block, hash = excluded.hash",
                (self.name, last, headers[last].hash),
            )
        return applied

    def _handle_reorg(self, cursor_block: int) -> int:
        """Rewinds to the newest stored block still on the chain; returns how many blocks the
        cursor moved back."""
        ancestor = self._common_ancestor(cursor_block)
        with self.db.transaction() as conn:
            for sink in self.sinks:
                sink.rewind(conn, ancestor.number if ancestor else self.start_block - 1)
            floor = ancestor.number if ancestor else self.start_block - 1
            conn.execute("DELETE FROM logs WHERE block_number > ?", (floor,))
            conn.execute("DELETE FROM blocks WHERE number > ?", (floor,))
            if ancestor is None:
                conn.execute("DELETE FROM ingest_cursor WHERE name = ?", (self.name,))
            else:
                conn.execute(
                    "UPDATE ingest_cursor SET block = ?, hash = ? WHERE name = ?",
                    (ancestor.number, ancestor.hash, self.name),
                )
        return cursor_block - (ancestor.number if ancestor else self.start_block - 1)

    def _common_ancestor(self, cursor_block: int) -> Header | None:
        """The newest stored block whose hash the chain still has; None when the reorg reaches
        below the first ingested block (start over from start_block)."""
        rows = self.db.execute(
            "SELECT number, hash, parent, timestamp FROM blocks WHERE number <= ? "
            "ORDER BY number DESC LIMIT ?",
            (cursor_block, self.reorg_window),
        ).fetchall()
        stored = [Header(int(n), str(h), str(p), int(t)) for n, h, p, t in rows]
        for chunk in _chunks(stored, 64):
            raws = self.rpc.batch([("eth_getBlockByNumber", [hex(h.number), False]) for h in chunk])
            for mine, raw in zip(chunk, raws, strict=True):
                if raw is not None and str(raw["hash"]).lower() == mine.hash:
                    return mine
        oldest = stored[-1].number if stored else self.start_block
        if len(stored) >= self.reorg_window and oldest > self.start_block:
            raise ReorgTooDeep(
                f"a reorg replaced all of the last {self.reorg_window} stored blocks (down to "
                f"{oldest}); delete {self.db.path} to rebuild the state from block "
                f"{self.start_block}"
            )
        return None


def _chunks(items: Sequence[Header], size: int) -> Iterable[Sequence[Header]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
