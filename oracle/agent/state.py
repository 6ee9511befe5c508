"""What the agent keeps in its own SQLite file besides the chain layer's tables (transactions,
ingest cursor): which assignments it works on and how far each checkpoint got.

This is never trusted over the chain. At start-up it only says what was in flight (a checkpoint
stored but whose commit did not land, an assignment refused for a bad resume point), so the
agent reports it and does not retry a refusal in a loop. The work itself always resumes from the
chain's `resumePoint`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from oracle.store import Database

SCHEMA = [
    """
    CREATE TABLE agent_work (
        assignment_id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
        state TEXT NOT NULL, total_steps INTEGER NOT NULL DEFAULT 0,
        committed_step INTEGER NOT NULL DEFAULT 0, committed_cid TEXT,
        detail TEXT NOT NULL DEFAULT '', updated_at REAL NOT NULL);
    CREATE TABLE agent_checkpoints (
        assignment_id INTEGER NOT NULL, step INTEGER NOT NULL, cid TEXT NOT NULL,
        state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, stored_at REAL NOT NULL,
        tx_key TEXT, PRIMARY KEY (assignment_id, step))
    """,
]

# agent_work.state
RUNNING, COMPLETED, CLOSED, REFUSED = "running", "completed", "closed", "refused"
# agent_checkpoints.state
STORED, COMMITTED, FAILED = "stored", "committed", "failed"


@dataclass(frozen=True)
class WorkRow:
    assignment_id: int
    task_id: int
    state: str
    total_steps: int
    committed_step: int
    committed_cid: str | None
    detail: str


@dataclass(frozen=True)
class CheckpointRow:
    assignment_id: int
    step: int
    cid: str
    state: str
    attempts: int
    tx_key: str | None


class AgentState:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("agent.state", SCHEMA)

    # ------------------------------------------------------------------ work
    def work(self, assignment_id: int) -> WorkRow | None:
        row = self.db.execute(
            "SELECT assignment_id, task_id, state, total_steps, committed_step, committed_cid, "
            "detail FROM agent_work WHERE assignment_id = ?",
            (assignment_id,),
        ).fetchone()
        return None if row is None else WorkRow(*row)

    def works(self, state: str | None = None) -> list[WorkRow]:
        sql = (
            "SELECT assignment_id, task_id, state, total_steps, committed_step, committed_cid, "
            "detail FROM agent_work"
        )
        params: tuple[object, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        return [WorkRow(*row) for row in self.db.execute(sql + " ORDER BY 1", params)]

    def set_work(
        self,
        assignment_id: int,
        *,
        node_id: int,
        task_id: int,
        state: str,
        total_steps: int = 0,
        committed_step: int = 0,
        committed_cid: str | None = None,
        detail: str = "",
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO agent_work VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(assignment_id) DO "
                "UPDATE SET state=excluded.state, total_steps=excluded.total_steps, "
                "committed_step=excluded.committed_step, committed_cid=excluded.committed_cid, "
                "detail=excluded.detail, updated_at=excluded.updated_at",
                (
                    assignment_id,
                    node_id,
                    task_id,
                    state,
                    total_steps,
                    committed_step,
                    committed_cid,
                    detail,
                    time.time(),
                ),
            )

    def update_work(self, assignment_id: int, **changes: object) -> None:
        if not changes:
            return
        columns = ", ".join(f"{name} = ?" for name in changes)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE agent_work SET {columns}, updated_at = ? WHERE assignment_id = ?",
                (*changes.values(), time.time(), assignment_id),
            )

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self, assignment_id: int, step: int) -> CheckpointRow | None:
        row = self.db.execute(
            "SELECT assignment_id, step, cid, state, attempts, tx_key FROM agent_checkpoints "
            "WHERE assignment_id = ? AND step = ?",
            (assignment_id, step),
        ).fetchone()
        return None if row is None else CheckpointRow(*row)

    def checkpoints(self, assignment_id: int) -> list[CheckpointRow]:
        rows = self.db.execute(
            "SELECT assignment_id, step, cid, state, attempts, tx_key FROM agent_checkpoints "
            "WHERE assignment_id = ? ORDER BY step",
            (assignment_id,),
        )
        return [CheckpointRow(*row) for row in rows]

    def stored(self, assignment_id: int, step: int, cid: str) -> CheckpointRow:
        """Records that checkpoint `step` is in the store (before its commit is sent)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO agent_checkpoints(assignment_id, step, cid, state, stored_at) "
                "VALUES (?,?,?,?,?) ON CONFLICT(assignment_id, step) DO NOTHING",
                (assignment_id, step, cid, STORED, time.time()),
            )
        row = self.checkpoint(assignment_id, step)
        assert row is not None
        return row

    def sending(self, assignment_id: int, step: int, tx_key: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE agent_checkpoints SET tx_key = ?, attempts = attempts + 1 "
                "WHERE assignment_id = ? AND step = ?",
                (tx_key, assignment_id, step),
            )

    def mark(self, assignment_id: int, step: int, state: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE agent_checkpoints SET state = ? WHERE assignment_id = ? AND step = ?",
                (state, assignment_id, step),
            )

    def uncommitted(self) -> list[CheckpointRow]:
        rows = self.db.execute(
            "SELECT assignment_id, step, cid, state, attempts, tx_key FROM agent_checkpoints "
            "WHERE state = ? ORDER BY assignment_id, step",
            (STORED,),
        )
        return [CheckpointRow(*row) for row in rows]

    # ------------------------------------------------------------------ housekeeping
    def prune_heartbeats(self, older_than: float) -> int:
        """Drops the finished heartbeat rows of the transaction table created before
        `older_than` (a timestamp): one a minute would grow the file for ever, and a heartbeat
        that landed (or was given up) matters to nothing after it. Pending ones always stay."""
        with self.db.transaction() as conn:
            return int(
                conn.execute(
                    "DELETE FROM transactions WHERE purpose = 'heartbeat' AND state != 'pending' "
                    "AND created_at < ?",
                    (older_than,),
                ).rowcount
            )

    # ------------------------------------------------------------------ energy counter
    def energy_base(self) -> float:
        value = self.db.get_meta("agent.energy_j")
        return 0.0 if value is None else float(value)

    def save_energy(self, joules: float) -> None:
        """Persists the energy counter; called before each heartbeat is sent, so the counter on
        chain is never above the one a restart starts from."""
        with self.db.transaction():
            self.db.set_meta("agent.energy_j", repr(float(joules)))

    # ------------------------------------------------------------------ renewable share
    def declared_evidence(self) -> str | None:
        """The evidence URI of this agent's last renewable-share declaration (None: none yet;
        the registry emits the URI but does not store it)."""
        return self.db.get_meta("agent.renewable_evidence_uri")

    def save_declared_evidence(self, uri: str) -> None:
        with self.db.transaction():
            self.db.set_meta("agent.renewable_evidence_uri", uri)
