"""The node's own assignments, from the chain's events, exactly once across restarts and reorgs.

An `Ingestor` of the chain layer (cursor, block hashes, reorg rewind, one transaction per batch)
feeds `AssignmentBook`, a LogSink that keeps only what this node needs: the assignments made to
it (AssignmentCreated / AssignmentClosed whose indexed nodeId is this node's) and the spec URIs of
the tasks of its class (TaskSubmitted, indexed by class). The RPC asks for exactly those logs
with an `eth_getLogs` topic filter, so the agent never downloads, let alone stores, the
heartbeats and checkpoints of the rest of a 10,000-node network.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oracle.chain.abi import event_by_name
from oracle.chain.events import ChainEvent
from oracle.chain.ingest import Ingestor, PollResult
from oracle.chain.rpc import ErrorCallback, Rpc
from oracle.store import Database

SCHEMA = [
    """
    CREATE TABLE agent_assignments (
        node_id INTEGER NOT NULL, assignment_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
        units INTEGER NOT NULL, price TEXT NOT NULL, resumes_from INTEGER NOT NULL,
        created_block INTEGER NOT NULL, closed_block INTEGER, closed_status INTEGER,
        earned TEXT, PRIMARY KEY (node_id, assignment_id));
    CREATE TABLE agent_tasks (
        task_id INTEGER PRIMARY KEY, resource_class BLOB NOT NULL, spec_uri TEXT NOT NULL,
        block INTEGER NOT NULL)
    """,
]


@dataclass(frozen=True)
class BookedAssignment:
    id: int
    task_id: int
    units: int
    price: int
    resumes_from: int
    created_block: int
    closed_status: int | None
    earned: int | None


def _topic(value: int | bytes) -> str:
    raw = value.to_bytes(32, "big") if isinstance(value, int) else value
    return "0x" + raw.rjust(32, b"\0").hex()


def node_topics(node_id: int, resource_class: bytes) -> list[Any]:
    """eth_getLogs topics: (AssignmentCreated | AssignmentClosed) with topic 3 = the node, or
    TaskSubmitted with topic 3 = the class (node ids are small, class keys are hashes: never
    equal)."""
    names = ("AssignmentCreated", "AssignmentClosed", "TaskSubmitted")
    topic0 = ["0x" + event_by_name("TaskMarket", name).topic0.hex() for name in names]
    return [topic0, None, None, [_topic(node_id), _topic(resource_class)]]


class FilteredRpc(Rpc):
    """An `Rpc` whose `eth_getLogs` requests carry a fixed topic filter (the Ingestor asks by
    address and block range only)."""

    def __init__(self, url: str, topics: list[Any], **options: Any) -> None:
        super().__init__(url, **options)
        self.topics = topics

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        if method == "eth_getLogs" and params:
            params = [{**params[0], "topics": self.topics}, *params[1:]]
        return super().request(method, params)


class AssignmentBook:
    """LogSink: this node's assignments and its class's task specs."""

    def __init__(self, db: Database, node_id: int, resource_class: bytes) -> None:
        self.db = db
        self.node_id = node_id
        self.resource_class = resource_class
        db.migrate("agent.book", SCHEMA)

    # ------------------------------------------------------------------ LogSink
    def apply(self, conn: sqlite3.Connection, event: ChainEvent, timestamp: int) -> None:
        a = event.args
        if event.contract != "TaskMarket":
            return
        if event.name == "TaskSubmitted" and bytes(a["resourceClass"]) == self.resource_class:
            conn.execute(
                "INSERT OR REPLACE INTO agent_tasks VALUES (?,?,?,?)",
                (a["taskId"], bytes(a["resourceClass"]), a["specURI"], event.block_number),
            )
        elif event.name == "AssignmentCreated" and a["nodeId"] == self.node_id:
            conn.execute(
                "INSERT OR REPLACE INTO agent_assignments(node_id, assignment_id, task_id, units,"
                " price, resumes_from, created_block) VALUES (?,?,?,?,?,?,?)",
                (
                    self.node_id,
                    a["assignmentId"],
                    a["taskId"],
                    a["units"],
                    str(a["pricePerUnitHour"]),
                    a["resumesFrom"],
                    event.block_number,
                ),
            )
        elif event.name == "AssignmentClosed" and a["nodeId"] == self.node_id:
            conn.execute(
                "UPDATE agent_assignments SET closed_block = ?, closed_status = ?, earned = ? "
                "WHERE node_id = ? AND assignment_id = ?",
                (
                    event.block_number,
                    a["status"],
                    str(a["earned"]),
                    self.node_id,
                    a["assignmentId"],
                ),
            )

    def rewind(self, conn: sqlite3.Connection, to_block: int) -> None:
        conn.execute("DELETE FROM agent_assignments WHERE created_block > ?", (to_block,))
        conn.execute(
            "UPDATE agent_assignments SET closed_block = NULL, closed_status = NULL, earned = NULL"
            " WHERE closed_block > ?",
            (to_block,),
        )
        conn.execute("DELETE FROM agent_tasks WHERE block > ?", (to_block,))

    # ------------------------------------------------------------------ reads
    def assignments(self, *, open_only: bool = False) -> list[BookedAssignment]:
        sql = (
            "SELECT assignment_id, task_id, units, price, resumes_from, created_block, "
            "closed_status, earned FROM agent_assignments WHERE node_id = ?"
        )
        if open_only:
            sql += " AND closed_block IS NULL"
        rows = self.db.execute(sql + " ORDER BY assignment_id", (self.node_id,)).fetchall()
        return [
            BookedAssignment(
                int(r[0]),
                int(r[1]),
                int(r[2]),
                int(r[3]),
                int(r[4]),
                int(r[5]),
                None if r[6] is None else int(r[6]),
                None if r[7] is None else int(r[7]),
            )
            for r in rows
        ]

    def assignment(self, assignment_id: int) -> BookedAssignment | None:
        return next((a for a in self.assignments() if a.id == assignment_id), None)

    def spec_uri(self, task_id: int) -> str | None:
        row = self.db.execute(
            "SELECT spec_uri FROM agent_tasks WHERE task_id = ?", (task_id,)
        ).fetchone()
        return None if row is None else str(row[0])


class AssignmentWatcher:
    """The Ingestor over the market's logs of one node, from the deployment's first block."""

    def __init__(
        self,
        *,
        url: str,
        timeout: float,
        db: Database,
        market: str,
        node_id: int,
        resource_class: bytes,
        start_block: int,
        confirmations: int = 0,
        batch_blocks: int = 2_000,
        on_error: ErrorCallback | None = None,
    ) -> None:
        self.book = AssignmentBook(db, node_id, resource_class)
        self.rpc = FilteredRpc(
            url, node_topics(node_id, resource_class), timeout=timeout, on_error=on_error
        )
        self.ingestor = Ingestor(
            self.rpc,
            db,
            addresses=[market],
            contract_of={market.lower(): "TaskMarket"},
            sinks=[self.book],
            start_block=start_block,
            name=f"agent-node-{node_id}",
            confirmations=confirmations,
            batch_blocks=batch_blocks,
        )

    def poll(self) -> PollResult:
        return self.ingestor.poll()

    def catch_up(self, timeout: float = 300.0) -> PollResult:
        return self.ingestor.catch_up(timeout=timeout)

    def close(self) -> None:
        self.rpc.close()
