"""The wallet's event cache: the deployment's logs ingested into a SQLite file per chain and
deployment (`~/.verai/cache/<chain-id>-<registry>.sqlite`), rebuilt into the mirror's state.

Commands that need every node or task (`network status`, `task list`, `node status` without an
id, the assignments of a task) catch it up first; the first run reads the history in bounded
batches with progress lines on stderr, later runs read only the new blocks. The file is bound to
its chain, deployment and genesis block: a local chain that was reset (same addresses, another
history) gets a fresh cache instead of another chain's state.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oracle.chain.connection import Chain
from oracle.chain.errors import ReorgTooDeep
from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.commands._output import note
from oracle.store import Database, StoreError

BATCH_BLOCKS = 2_000
PROGRESS_AFTER = 1.0  # seconds of catching up before progress lines are shown


@dataclass
class CachedState:
    """The mirror caught up to `block` (whose time is `timestamp`)."""

    mirror: Mirror
    db: Database
    block: int
    timestamp: int

    def logs(self, contract: str, events: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
        """(event, args) of the ingested logs of `contract` named `events`, up to `block`, in
        chain order (the history the mirror's rows do not keep, e.g. each payment)."""
        marks = ",".join("?" * len(events))
        rows = self.db.execute(
            f"SELECT event, args FROM logs WHERE contract = ? AND event IN ({marks}) "
            "AND block_number <= ? ORDER BY block_number, log_index",
            (contract, *events, self.block),
        ).fetchall()
        return [(str(event), json.loads(args)) for event, args in rows]

    def since(self, name: str) -> int | None:
        """The block from which the mirror's value `name` holds (e.g. the latest report's)."""
        row = self.db.execute(
            "SELECT since FROM values_v WHERE name = ? AND since <= ? "
            "AND (until IS NULL OR until > ?)",
            (name, self.block, self.block),
        ).fetchone()
        return None if row is None else int(row[0])


def cache_path(folder: Path, chain: Chain) -> Path:
    registry = chain.record.contracts["NodeRegistry"].lower()
    return folder / f"{chain.chain_id}-{registry}.sqlite"


def _open(path: Path, chain: Chain, genesis: str) -> Database:
    db = Database(path)
    db.bind(
        chain_id=str(chain.chain_id),
        registry=chain.record.contracts["NodeRegistry"].lower(),
        market=chain.record.contracts["TaskMarket"].lower(),
        start_block=str(chain.record.start_block),
        genesis=genesis,
    )
    return db


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class EventCache:
    """The cache file of one chain and deployment; `catch_up()` brings it to the head."""

    def __init__(self, folder: Path, chain: Chain) -> None:
        self.chain = chain
        self.path = cache_path(folder, chain)
        head = chain.rpc.request("eth_getBlockByNumber", ["0x0", False])
        self.genesis = str(head["hash"]).lower()
        try:
            self.db = _open(self.path, chain, self.genesis)
        except StoreError:
            note(
                f"the cache {self.path} holds another chain's history (a reset local chain?): "
                "rebuilding it"
            )
            _remove(self.path)
            self.db = _open(self.path, chain, self.genesis)
        self.mirror = Mirror(self.db)
        self.ingestor = self._ingestor()

    def _ingestor(self) -> Ingestor:
        return Ingestor(
            self.chain.rpc,
            self.db,
            addresses=self.chain.contracts.ingest_addresses(),
            contract_of=self.chain.contracts.names_by_address(),
            sinks=[self.mirror],
            start_block=self.chain.record.start_block,
            batch_blocks=BATCH_BLOCKS,
            max_batches_per_poll=5,
        )

    def catch_up(self, *, quiet: bool = False) -> CachedState:
        try:
            return self._catch_up(quiet)
        except ReorgTooDeep:
            note(f"a reorg deeper than the cache's window: rebuilding {self.path}")
            self.db.close()
            _remove(self.path)
            self.db = _open(self.path, self.chain, self.genesis)
            self.mirror = Mirror(self.db)
            self.ingestor = self._ingestor()
            return self._catch_up(quiet)

    def _catch_up(self, quiet: bool) -> CachedState:
        started = time.monotonic()
        first = self.ingestor.cursor()[0]
        events = 0
        while True:
            result = self.ingestor.poll()
            events += result.events
            if result.cursor >= self.ingestor.target(result.head):
                break
            if not quiet and time.monotonic() - started > PROGRESS_AFTER:
                done, total = result.cursor - first, result.head - first
                note(
                    f"catching up the event cache: block {result.cursor:,} of {result.head:,} "
                    f"({100 * done // max(total, 1)} %, {events:,} events)"
                )
        block = result.cursor
        stamp = self.mirror.block_timestamp(block)
        if stamp is None:  # nothing ingested yet (a cache made at the deployment's first block)
            header = self.chain.rpc.request("eth_getBlockByNumber", [hex(block), False])
            stamp = int(header["timestamp"], 16)
        return CachedState(self.mirror, self.db, block, stamp)
