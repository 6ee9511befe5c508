"""The contracts' state rebuilt from their events, at any recent block.

The mirror is a `LogSink` of the ingestor: each event updates versioned rows (see versioned.py)
the way the contract updated its storage, so the nodes, tasks, assignments, telemetry, committee
config and parameters at block B are a few SQL reads instead of one `eth_call` per node and task.
Every committee member that ingested the same chain builds the same rows, so the same snapshot.
A test replays random histories and compares the mirror with the contracts' views at random
blocks.

Amounts (wei, seeds) are stored as decimal TEXT: SQLite integers are 64-bit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oracle.chain.events import ChainEvent
from oracle.chain.ingest import json_value
from oracle.chain.versioned import VersionedTable
from oracle.store import Database

# NodeRegistry.Status / TaskMarket.TaskStatus / TaskMarket.AssignmentStatus, by value
NODE_STATUS = ("None", "Active", "Throttled", "Failed", "Exiting", "Exited")
TASK_STATUS = ("None", "Open", "Completed", "Ended")
ASSIGNMENT_STATUS = ("None", "Running", "Completed", "Moved", "Failed", "Reassigned", "Ended")
ACTIVE, THROTTLED, FAILED, EXITING = 1, 2, 3, 4
RUNNING, COMPLETED, MOVED, ASSIGNMENT_FAILED, REASSIGNED = 1, 2, 3, 4, 5

NODES = VersionedTable(
    "nodes_v",
    "node_id",
    (
        "owner",
        "resource_class",
        "status",
        "capacity",
        "reserved",
        "price",
        "stake",
        "unbonding_ends_at",
        "compensation_held",
        "metadata_uri",
        "registered_at",
        "compensation_per_unit",
    ),
)
TELEMETRY = VersionedTable("telemetry_v", "node_id", ("last_heartbeat_at", "load_bps", "watts"))
TASKS = VersionedTable(
    "tasks_v",
    "task_id",
    (
        "developer",
        "resource_class",
        "max_price",
        "escrow",
        "expires_at",
        "pending",
        "running",
        "units",
        "seed",
        "spec_uri",
        "submitted_at",
        "cancelled",
        "checkpoints_close_at",
    ),
)
ASSIGNMENTS = VersionedTable(
    "assignments_v",
    "assignment_id",
    (
        "task_id",
        "node_id",
        "node_owner",
        "units",
        "price",
        "start_at",
        "last_checkpoint_at",
        "step",
        "codec",
        "resumes_from",
        "status",
        "cid",
        "draws",
    ),
)
VALUES = VersionedTable("values_v", "name", ("value",), key_type="TEXT")
# Two-step failures (a suspicion, then the failure after a grace) and compensation fixed per
# reserved unit at the failure; draws of reassignments; the completion window after a cancel.
# A node's energy as NodeRegistry.energyOf shows it (joules as decimal TEXT: up to 2^64), plus
# the part credited from its own counter (measured_j), from which the class totals follow.
ENERGY = VersionedTable(
    "energy_v",
    "node_id",
    ("energy_j", "counter_j", "measured_j", "renewable_bps", "evidence_uri"),
)
SUSPICIONS = VersionedTable("suspicions_v", "node_id", ("reporter", "suspected_at", "failable_at"))

_INTEGER = "INTEGER NOT NULL"
SCHEMA = [
    ";".join(
        [
            NODES.schema(
                {
                    "status": _INTEGER,
                    "capacity": _INTEGER,
                    "reserved": _INTEGER,
                    "unbonding_ends_at": _INTEGER,
                    "registered_at": _INTEGER,
                    "resource_class": "BLOB NOT NULL",
                }
            ),
            TELEMETRY.schema({c: _INTEGER for c in TELEMETRY.columns}),
            TASKS.schema(
                {
                    "expires_at": _INTEGER,
                    "pending": _INTEGER,
                    "running": _INTEGER,
                    "units": _INTEGER,
                    "submitted_at": _INTEGER,
                    "cancelled": _INTEGER,
                    "checkpoints_close_at": _INTEGER,
                    "resource_class": "BLOB NOT NULL",
                }
            ),
            ASSIGNMENTS.schema(
                {
                    c: _INTEGER
                    for c in (
                        "task_id",
                        "node_id",
                        "units",
                        "start_at",
                        "last_checkpoint_at",
                        "step",
                        "codec",
                        "resumes_from",
                        "status",
                        "draws",
                    )
                }
                | {"cid": "BLOB"}
            ),
            VALUES.schema({}),
            SUSPICIONS.schema({"suspected_at": _INTEGER, "failable_at": _INTEGER}),
            "CREATE INDEX assignments_by_node ON assignments_v(node_id, status)",
            "CREATE INDEX assignments_by_task ON assignments_v(task_id)",
            "CREATE TABLE heartbeats (node_id INTEGER NOT NULL, block_number INTEGER NOT NULL, "
            "log_index INTEGER NOT NULL, timestamp INTEGER NOT NULL, load_bps INTEGER NOT NULL, "
            "watts INTEGER NOT NULL, PRIMARY KEY (node_id, block_number, log_index))",
            "CREATE INDEX heartbeats_by_block ON heartbeats(block_number)",
        ]
    ),
    # 2: energy (issue 13): each heartbeat's credited total and counter, declarations
    ";".join(
        [
            ENERGY.schema({"renewable_bps": _INTEGER}),
            "ALTER TABLE heartbeats ADD COLUMN energy_j TEXT NOT NULL DEFAULT '0'",
            "ALTER TABLE heartbeats ADD COLUMN counter_j TEXT NOT NULL DEFAULT '0'",
        ]
    ),
]
VERSIONED = (NODES, TELEMETRY, TASKS, ASSIGNMENTS, VALUES, SUSPICIONS, ENERGY)


# ------------------------------------------------------------------------------- read models
_MAX_JOULES = 2**64 - 1
_NO_ENERGY = {
    "energy_j": "0",
    "counter_j": "0",
    "measured_j": "0",
    "renewable_bps": 0,
    "evidence_uri": "",
}


@dataclass(frozen=True, slots=True)
class NodeEnergy:
    """A node's energy as `NodeRegistry.energyOf` shows it, with the measured part of it."""

    node_id: int
    resource_class: bytes
    energy_j: int  # joules the registry credited from the node's heartbeats
    counter_j: int  # the node's own counter at its last heartbeat; 0: estimated power
    measured_j: int  # the part of energy_j credited from counters
    renewable_bps: int  # declared, not measured
    evidence_uri: str

    @property
    def measured(self) -> bool:
        return self.counter_j != 0


@dataclass(frozen=True, slots=True)
class EnergyTotals:
    """`NodeRegistry.energyTotals()`: the network's and each class's joules, measured part."""

    energy_j: int
    measured_j: int
    classes: dict[bytes, tuple[int, int]]  # class -> (energy_j, measured_j)


@dataclass(frozen=True, slots=True)
class NodeState:
    """A node as `NodeRegistry.getNode` shows it, plus what the registry keeps beside it."""

    id: int
    owner: str
    resource_class: bytes
    status: int
    capacity: int
    reserved: int
    price: int
    stake: int
    last_heartbeat_at: int
    load_bps: int
    watts: int
    unbonding_ends_at: int
    compensation_held: int
    metadata_uri: str
    compensation_per_unit: int = 0
    suspected_by: str = ""  # suspicionOf: reporter, suspectedAt, failableAt (zeros: none)
    suspected_at: int = 0
    failable_at: int = 0

    @property
    def free_units(self) -> int:
        return self.capacity - self.reserved

    @property
    def status_name(self) -> str:
        return NODE_STATUS[self.status]


@dataclass(frozen=True, slots=True)
class TaskState:
    """A task as `TaskMarket.getTask` shows it at one block (status needs that block's time)."""

    id: int
    developer: str
    resource_class: bytes
    max_price: int
    escrow: int
    expires_at: int
    pending: int
    running: int
    seed: int
    status: int
    units: int
    spec_uri: str
    submitted_at: int
    cancelled: bool
    checkpoints_close_at: int = 0  # TaskMarket.checkpointDeadline

    @property
    def status_name(self) -> str:
        return TASK_STATUS[self.status]


@dataclass(frozen=True, slots=True)
class AssignmentState:
    """An assignment as `TaskMarket.getAssignment` shows it, with its latest checkpoint CID."""

    id: int
    task_id: int
    node_id: int
    node_owner: str
    units: int
    price: int
    start_at: int
    last_checkpoint_at: int
    step: int
    codec: int
    resumes_from: int
    status: int
    cid: bytes | None
    draws: int = 0  # TaskMarket.drawsOf

    @property
    def status_name(self) -> str:
        return ASSIGNMENT_STATUS[self.status]


def task_status(pending: int, running: int, expires_at: int, timestamp: int) -> int:
    """TaskMarket._status at a block with `timestamp`."""
    if pending == 0 and running == 0:
        return 2  # Completed
    if timestamp >= expires_at:
        return 3  # Ended
    return 1  # Open


def _suspicion(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None or not row["reporter"]:
        return {}
    return {
        "suspected_by": row["reporter"],
        "suspected_at": row["suspected_at"],
        "failable_at": row["failable_at"],
    }


# ------------------------------------------------------------------------------------ mirror
class NotIngested(Exception):
    """A read at a block the mirror has not ingested yet."""


class Mirror:
    """Event-sourced state of NodeRegistry, TaskMarket, CheckpointRegistry and ReportVerifier."""

    def __init__(
        self,
        db: Database,
        *,
        retention_blocks: int = 20_000,
        heartbeat_retention_blocks: int = 302_400,
    ) -> None:
        self.db = db
        # Versions closed more than `retention_blocks` ago are never asked for (a snapshot is
        # proposed a few blocks behind the head, a reorg deeper than the ingestor's window is
        # refused); the heartbeat history (telemetry over time, for people) is kept longer:
        # 302,400 blocks is 7 days of 2-second BASE blocks.
        self.retention_blocks = retention_blocks
        self.heartbeat_retention_blocks = heartbeat_retention_blocks
        db.migrate("mirror", SCHEMA)
        self._handlers: dict[
            tuple[str, str], Callable[[sqlite3.Connection, ChainEvent, int], None]
        ] = {
            ("NodeRegistry", "NodeRegistered"): self._node_registered,
            ("NodeRegistry", "HeartbeatRecorded"): self._heartbeat,
            ("NodeRegistry", "RenewableShareDeclared"): self._renewable_declared,
            ("NodeRegistry", "NodeStatusChanged"): self._node_status,
            ("NodeRegistry", "PriceUpdated"): self._node_field("price", "newPrice", str),
            ("NodeRegistry", "CapacityUpdated"): self._node_field("capacity", "newCapacity", int),
            ("NodeRegistry", "StakeAdded"): self._node_field("stake", "newStake", str),
            ("NodeRegistry", "ExitRequested"): self._node_field(
                "unbonding_ends_at", "unbondingEndsAt", int
            ),
            ("NodeRegistry", "StakeWithdrawn"): self._stake_withdrawn,
            ("NodeRegistry", "NodeFailed"): self._node_failed,
            ("NodeRegistry", "CompensationClaimed"): self._compensation_claimed,
            ("NodeRegistry", "CapacityReserved"): self._node_field("reserved", "reserved", int),
            ("NodeRegistry", "CapacityReleased"): self._node_field("reserved", "reserved", int),
            ("NodeRegistry", "ClassConfigured"): self._class_configured,
            ("NodeRegistry", "ParametersSet"): self._parameters_set,
            ("NodeRegistry", "NodeSuspected"): self._node_suspected,
            ("NodeRegistry", "Paused"): self._paused(True),
            ("NodeRegistry", "Unpaused"): self._paused(False),
            ("TaskMarket", "TaskSubmitted"): self._task_submitted,
            ("TaskMarket", "TaskToppedUp"): self._task_topped_up,
            ("TaskMarket", "TaskCancelled"): self._task_cancelled,
            ("TaskMarket", "TaskRefunded"): self._task_refunded,
            ("TaskMarket", "AssignmentCreated"): self._assignment_created,
            ("TaskMarket", "AssignmentClosed"): self._assignment_closed,
            ("TaskMarket", "AssignmentReassigned"): self._assignment_reassigned,
            ("TaskMarket", "ReassignmentDrawn"): self._reassignment_drawn,
            ("TaskMarket", "CompensationCredited"): self._compensation_credited,
            ("TaskMarket", "NodeFailureSettled"): self._failure_settled,
            ("TaskMarket", "EarningsWithdrawn"): self._earnings_withdrawn,
            ("TaskMarket", "CompensationWithdrawn"): self._compensation_withdrawn,
            ("CheckpointRegistry", "CheckpointCommitted"): self._checkpoint,
            ("ReportVerifier", "ConfigSet"): self._config_set,
            ("ReportVerifier", "ReportAccepted"): self._report_accepted,
            ("ReportVerifier", "EnergyWeightSet"): self._energy_weight_set,
        }

    # ------------------------------------------------------------------ LogSink
    def apply(self, conn: sqlite3.Connection, event: ChainEvent, timestamp: int) -> None:
        handler = self._handlers.get((event.contract, event.name))
        if handler is not None:
            handler(conn, event, timestamp)

    def rewind(self, conn: sqlite3.Connection, to_block: int) -> None:
        for table in VERSIONED:
            table.rewind(conn, to_block)
        conn.execute("DELETE FROM heartbeats WHERE block_number > ?", (to_block,))

    def prune(self, head_block: int) -> int:
        """Drops versions no snapshot can ask for any more (closed before head - retention) and
        heartbeats older than the telemetry retention; returns how many rows went."""
        horizon = head_block - self.retention_blocks
        with self.db.transaction() as conn:
            removed = sum(table.prune(conn, horizon) for table in VERSIONED)
            removed += conn.execute(
                "DELETE FROM heartbeats WHERE block_number < ?",
                (head_block - self.heartbeat_retention_blocks,),
            ).rowcount
        return removed

    # ------------------------------------------------------------------ NodeRegistry
    def _node_registered(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        a = e.args
        NODES.put(
            conn,
            a["nodeId"],
            e.block_number,
            {
                "owner": a["owner"],
                "resource_class": a["resourceClass"],
                "status": ACTIVE,
                "capacity": a["capacity"],
                "reserved": 0,
                "price": str(a["pricePerUnitHour"]),
                "stake": str(a["stake"]),
                "unbonding_ends_at": 0,
                "compensation_held": "0",
                "metadata_uri": a["metadataURI"],
                "registered_at": ts,
                "compensation_per_unit": "0",
            },
        )
        TELEMETRY.put(
            conn, a["nodeId"], e.block_number, {"last_heartbeat_at": ts, "load_bps": 0, "watts": 0}
        )

    def _heartbeat(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        node, load, watts = e.args["nodeId"], e.args["loadBps"], e.args["watts"]
        energy, counter = int(e.args["energyJ"]), int(e.args["counterJ"])
        TELEMETRY.put(
            conn, node, e.block_number, {"last_heartbeat_at": ts, "load_bps": load, "watts": watts}
        )
        conn.execute(
            "INSERT OR IGNORE INTO heartbeats (node_id, block_number, log_index, timestamp, "
            "load_bps, watts, energy_j, counter_j) VALUES (?,?,?,?,?,?,?,?)",
            (node, e.block_number, e.log_index, ts, load, watts, str(energy), str(counter)),
        )
        # The registry credits the class with the node's increase, as measured when the beat
        # carried a counter: the class totals are the sums of measured_j / energy_j.
        before = self._energy(conn, node)
        measured = int(before["measured_j"]) + (energy - int(before["energy_j"]) if counter else 0)
        ENERGY.put(
            conn,
            node,
            e.block_number,
            {
                **before,
                "energy_j": str(energy),
                "counter_j": str(counter),
                "measured_j": str(measured),
            },
        )
        self._void_suspicion(conn, node, e.block_number)

    def _renewable_declared(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        node = e.args["nodeId"]
        ENERGY.put(
            conn,
            node,
            e.block_number,
            {
                **self._energy(conn, node),
                "renewable_bps": int(e.args["shareBps"]),
                "evidence_uri": e.args["evidenceURI"],
            },
        )

    @staticmethod
    def _energy(conn: sqlite3.Connection, node: int) -> dict[str, Any]:
        row = ENERGY.current(conn, node)
        if row is None:
            return dict(_NO_ENERGY)
        return {c: row[c] for c in ENERGY.columns}

    def _node_status(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        NODES.update(conn, e.args["nodeId"], e.block_number, status=e.args["to"])

    @staticmethod
    def _node_field(
        column: str, arg: str, kind: Callable[[Any], Any]
    ) -> Callable[[sqlite3.Connection, ChainEvent, int], None]:
        def handler(conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
            NODES.update(conn, e.args["nodeId"], e.block_number, **{column: kind(e.args[arg])})

        return handler

    def _stake_withdrawn(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        NODES.update(conn, e.args["nodeId"], e.block_number, stake="0")

    def _node_failed(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        node = NODES.current(conn, e.args["nodeId"])
        assert node is not None, f"NodeFailed for unknown node {e.args['nodeId']}"
        params = self._value(conn, "registry.parameters") or {}
        NODES.update(
            conn,
            e.args["nodeId"],
            e.block_number,
            stake=str(int(node["stake"]) - e.args["slashed"]),
            compensation_held=str(int(node["compensation_held"]) + e.args["compensationHeld"]),
            compensation_per_unit=str(e.args.get("compensationPerUnit", 0)),
            unbonding_ends_at=ts + int(params.get("unbondingPeriod", 0)),
        )
        self._void_suspicion(conn, e.args["nodeId"], e.block_number)

    def _node_suspected(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        SUSPICIONS.put(
            conn,
            e.args["nodeId"],
            e.block_number,
            {
                "reporter": e.args["reporter"],
                "suspected_at": ts,
                "failable_at": e.args["failableAt"],
            },
        )

    def _void_suspicion(self, conn: sqlite3.Connection, node_id: int, block: int) -> None:
        """A heartbeat (or the failure itself) ends a suspicion: suspicionOf reads zeros."""
        current = SUSPICIONS.current(conn, node_id)
        if current is not None and current["reporter"]:
            SUSPICIONS.put(
                conn, node_id, block, {"reporter": "", "suspected_at": 0, "failable_at": 0}
            )

    def _paused(self, value: bool) -> Callable[[sqlite3.Connection, ChainEvent, int], None]:
        def handler(conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
            self._set_value(conn, "registry.paused", e.block_number, value)

        return handler

    def _compensation_claimed(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        # compensation is claimed in pages (the units of the settled assignments)
        node = NODES.current(conn, e.args["nodeId"])
        assert node is not None
        held = int(node["compensation_held"]) - e.args["amount"]
        NODES.update(conn, e.args["nodeId"], e.block_number, compensation_held=str(held))

    def _class_configured(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        classes = self._value(conn, "registry.classes") or {}
        key = "0x" + e.args["resourceClass"].hex()
        classes[key] = {"minStake": str(e.args["minStake"]), "wattLimit": e.args["wattLimit"]}
        self._set_value(conn, "registry.classes", e.block_number, classes)

    def _parameters_set(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._set_value(conn, "registry.parameters", e.block_number, dict(e.args))

    # ------------------------------------------------------------------ TaskMarket
    def _task_submitted(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        a = e.args
        TASKS.put(
            conn,
            a["taskId"],
            e.block_number,
            {
                "developer": a["developer"],
                "resource_class": a["resourceClass"],
                "max_price": str(a["maxPricePerUnitHour"]),
                "escrow": str(a["escrow"]),
                "expires_at": a["expiresAt"],
                "pending": a["units"],
                "running": 0,
                "units": a["units"],
                "seed": str(a["seed"]),
                "spec_uri": a["specURI"],
                "submitted_at": ts,
                "cancelled": 0,
                "checkpoints_close_at": a["expiresAt"],
            },
        )
        self._add_total(conn, e.block_number, "escrow", a["escrow"])

    def _task_topped_up(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        a = e.args
        TASKS.update(
            conn,
            a["taskId"],
            e.block_number,
            escrow=str(a["escrow"]),
            expires_at=a["expiresAt"],
            checkpoints_close_at=a["expiresAt"],
        )
        self._add_total(conn, e.block_number, "escrow", a["amount"])

    def _task_cancelled(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        # the task ends now; checkpoints stay open through the completion window
        TASKS.update(
            conn,
            e.args["taskId"],
            e.block_number,
            expires_at=ts,
            cancelled=1,
            checkpoints_close_at=e.args.get("checkpointsCloseAt", ts),
        )

    def _task_refunded(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        TASKS.update(conn, e.args["taskId"], e.block_number, escrow="0")
        self._add_total(conn, e.block_number, "escrow", -e.args["amount"])

    def _assignment_created(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        a = e.args
        node = NODES.current(conn, a["nodeId"])
        assert node is not None, f"AssignmentCreated on unknown node {a['nodeId']}"
        source = ASSIGNMENTS.current(conn, a["resumesFrom"]) if a["resumesFrom"] else None
        if source is None or source["status"] == ASSIGNMENT_FAILED:
            # assign, or reassign of a Failed assignment: the units leave `pending`
            task = TASKS.current(conn, a["taskId"])
            assert task is not None, f"AssignmentCreated for unknown task {a['taskId']}"
            TASKS.update(
                conn,
                a["taskId"],
                e.block_number,
                pending=task["pending"] - a["units"],
                running=task["running"] + a["units"],
            )
            if source is not None:
                ASSIGNMENTS.update(conn, a["resumesFrom"], e.block_number, status=REASSIGNED)
        # a move (source Moved in this transaction) keeps the units running
        ASSIGNMENTS.put(
            conn,
            a["assignmentId"],
            e.block_number,
            {
                "task_id": a["taskId"],
                "node_id": a["nodeId"],
                "node_owner": node["owner"],
                "units": a["units"],
                "price": str(a["pricePerUnitHour"]),
                "start_at": ts,
                "last_checkpoint_at": ts,
                "step": 0,
                "codec": 0,
                "resumes_from": a["resumesFrom"],
                "status": RUNNING,
                "cid": None,
                "draws": 0,
            },
        )

    def _assignment_closed(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        a = e.args
        status = a["status"]
        changes: dict[str, Any] = {"status": status}
        if status == COMPLETED:
            changes["last_checkpoint_at"] = ts  # the final checkpoint is recorded now
        assignment = ASSIGNMENTS.update(conn, a["assignmentId"], e.block_number, **changes)
        task = TASKS.current(conn, a["taskId"])
        assert task is not None
        units = assignment["units"]
        running, pending = task["running"], task["pending"]
        if status != MOVED:
            running -= units
            if status != COMPLETED:
                pending += units
        TASKS.update(
            conn,
            a["taskId"],
            e.block_number,
            running=running,
            pending=pending,
            escrow=str(int(task["escrow"]) - a["earned"]),
        )
        if a["earned"]:
            self._add_total(conn, e.block_number, "escrow", -a["earned"])
            self._add_total(conn, e.block_number, "earnings", a["earned"])
            self._add_account(
                conn, e.block_number, "earnings", assignment["node_owner"], a["earned"]
            )

    def _assignment_reassigned(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        # AssignmentCreated of the same transaction already moved the units; this says it
        ASSIGNMENTS.update(conn, e.args["failedAssignmentId"], e.block_number, status=REASSIGNED)

    def _reassignment_drawn(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        ASSIGNMENTS.update(conn, e.args["assignmentId"], e.block_number, draws=e.args["draw"] + 1)

    def _compensation_credited(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._add_account(
            conn, e.block_number, "compensation", e.args["developer"], e.args["amount"]
        )

    def _failure_settled(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._add_total(conn, e.block_number, "compensation", e.args["compensation"])

    def _earnings_withdrawn(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._add_account(conn, e.block_number, "earnings", e.args["account"], -e.args["amount"])
        self._add_total(conn, e.block_number, "earnings", -e.args["amount"])

    def _compensation_withdrawn(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._add_account(
            conn, e.block_number, "compensation", e.args["account"], -e.args["amount"]
        )
        self._add_total(conn, e.block_number, "compensation", -e.args["amount"])

    # ------------------------------------------------------------------ CheckpointRegistry
    def _checkpoint(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        cid: bytes = e.args["cid"]
        ASSIGNMENTS.update(
            conn,
            e.args["assignmentId"],
            e.block_number,
            step=e.args["step"],
            codec=cid[1] if len(cid) > 1 else 0,
            last_checkpoint_at=ts,
            cid=cid,
        )

    # ------------------------------------------------------------------ ReportVerifier
    def _config_set(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._set_value(conn, "verifier.config", e.block_number, json_value(dict(e.args)))

    def _energy_weight_set(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._set_value(conn, "verifier.energy_weight", e.block_number, str(e.args["weiPerKWh"]))

    def _report_accepted(self, conn: sqlite3.Connection, e: ChainEvent, ts: int) -> None:
        self._set_value(
            conn,
            "verifier.latest",
            e.block_number,
            {
                "round": e.args["round"],
                "snapshotBlock": e.args["snapshotBlock"],
            },
        )

    # ------------------------------------------------------------------ values
    def _value(self, conn: sqlite3.Connection, name: str) -> Any:
        row = VALUES.current(conn, name)
        return None if row is None else json.loads(row["value"])

    def _set_value(self, conn: sqlite3.Connection, name: str, block: int, value: Any) -> None:
        VALUES.put(conn, name, block, {"value": json.dumps(value, sort_keys=True)})

    def _add_total(self, conn: sqlite3.Connection, block: int, field: str, delta: int) -> None:
        totals = self._value(conn, "market.totals") or {
            "escrow": "0",
            "earnings": "0",
            "compensation": "0",
        }
        totals[field] = str(int(totals[field]) + delta)
        self._set_value(conn, "market.totals", block, totals)

    def _add_account(
        self, conn: sqlite3.Connection, block: int, kind: str, account: str, delta: int
    ) -> None:
        name = f"{kind}.{account.lower()}"
        current = int(self._value(conn, name) or 0)
        self._set_value(conn, name, block, str(current + delta))

    # ------------------------------------------------------------------ reads at a block
    def nodes_at(
        self, block: int, where: str = "", params: tuple[Any, ...] = ()
    ) -> list[NodeState]:
        conn = self.db.connection
        telemetry = {row["node_id"]: row for row in TELEMETRY.at(conn, block)}
        suspicions = {row["node_id"]: row for row in SUSPICIONS.at(conn, block)}
        nodes = []
        for row in NODES.at(conn, block, where, params):
            t = telemetry.get(
                row["node_id"],
                {"last_heartbeat_at": row["registered_at"], "load_bps": 0, "watts": 0},
            )
            nodes.append(
                NodeState(
                    id=row["node_id"],
                    owner=row["owner"],
                    resource_class=bytes(row["resource_class"]),
                    status=row["status"],
                    capacity=row["capacity"],
                    reserved=row["reserved"],
                    price=int(row["price"]),
                    stake=int(row["stake"]),
                    last_heartbeat_at=t["last_heartbeat_at"],
                    load_bps=t["load_bps"],
                    watts=t["watts"],
                    unbonding_ends_at=row["unbonding_ends_at"],
                    compensation_held=int(row["compensation_held"]),
                    metadata_uri=row["metadata_uri"],
                    compensation_per_unit=int(row["compensation_per_unit"]),
                    **_suspicion(suspicions.get(row["node_id"])),
                )
            )
        return nodes

    def energy_at(self, block: int) -> dict[int, NodeEnergy]:
        """Every registered node's energy at `block` (zeros before its first heartbeat)."""
        conn = self.db.connection
        energy = {row["node_id"]: row for row in ENERGY.at(conn, block)}
        result = {}
        for node in NODES.at(conn, block):
            row = energy.get(node["node_id"], _NO_ENERGY)
            result[node["node_id"]] = NodeEnergy(
                node_id=node["node_id"],
                resource_class=bytes(node["resource_class"]),
                energy_j=int(row["energy_j"]),
                counter_j=int(row["counter_j"]),
                measured_j=int(row["measured_j"]),
                renewable_bps=int(row["renewable_bps"]),
                evidence_uri=str(row["evidence_uri"]),
            )
        return result

    def energy_totals_at(self, block: int) -> EnergyTotals:
        """The class and network totals at `block`: the sums over the nodes (so the registry
        keeps them), every configured class listed, zeros included."""
        classes: dict[bytes, tuple[int, int]] = {
            bytes.fromhex(name.removeprefix("0x")): (0, 0) for name in self.classes_at(block)
        }
        for node in self.energy_at(block).values():
            energy, measured = classes.get(node.resource_class, (0, 0))
            classes[node.resource_class] = (energy + node.energy_j, measured + node.measured_j)
        # the registry's class totals saturate at 2^64 - 1 J rather than stop heartbeats
        classes = {c: (min(e, _MAX_JOULES), min(m, _MAX_JOULES)) for c, (e, m) in classes.items()}
        return EnergyTotals(
            energy_j=sum(e for e, _ in classes.values()),
            measured_j=sum(m for _, m in classes.values()),
            classes=classes,
        )

    def node_at(self, node_id: int, block: int) -> NodeState | None:
        nodes = self.nodes_at(block, "node_id = ?", (node_id,))
        return nodes[0] if nodes else None

    def tasks_at(
        self, block: int, timestamp: int, where: str = "", params: tuple[Any, ...] = ()
    ) -> list[TaskState]:
        """Tasks at `block` whose header has `timestamp` (statuses depend on it)."""
        tasks = []
        for row in TASKS.at(self.db.connection, block, where, params):
            tasks.append(
                TaskState(
                    id=row["task_id"],
                    developer=row["developer"],
                    resource_class=bytes(row["resource_class"]),
                    max_price=int(row["max_price"]),
                    escrow=int(row["escrow"]),
                    expires_at=row["expires_at"],
                    pending=row["pending"],
                    running=row["running"],
                    seed=int(row["seed"]),
                    status=task_status(
                        row["pending"], row["running"], row["expires_at"], timestamp
                    ),
                    units=row["units"],
                    spec_uri=row["spec_uri"],
                    submitted_at=row["submitted_at"],
                    cancelled=bool(row["cancelled"]),
                    checkpoints_close_at=row["checkpoints_close_at"],
                )
            )
        return tasks

    def pending_tasks_at(self, block: int, timestamp: int) -> list[TaskState]:
        """Open tasks with units waiting for an assignment, by id."""
        return self.tasks_at(block, timestamp, "pending > 0 AND expires_at > ?", (timestamp,))

    def task_at(self, task_id: int, block: int, timestamp: int) -> TaskState | None:
        tasks = self.tasks_at(block, timestamp, "task_id = ?", (task_id,))
        return tasks[0] if tasks else None

    def assignments_at(
        self, block: int, where: str = "", params: tuple[Any, ...] = ()
    ) -> list[AssignmentState]:
        return [
            AssignmentState(
                id=row["assignment_id"],
                task_id=row["task_id"],
                node_id=row["node_id"],
                node_owner=row["node_owner"],
                units=row["units"],
                price=int(row["price"]),
                start_at=row["start_at"],
                last_checkpoint_at=row["last_checkpoint_at"],
                step=row["step"],
                codec=row["codec"],
                resumes_from=row["resumes_from"],
                status=row["status"],
                cid=None if row["cid"] is None else bytes(row["cid"]),
                draws=row["draws"],
            )
            for row in ASSIGNMENTS.at(self.db.connection, block, where, params)
        ]

    def running_assignments_at(self, block: int) -> list[AssignmentState]:
        return self.assignments_at(block, "status = ?", (RUNNING,))

    def assignment_at(self, assignment_id: int, block: int) -> AssignmentState | None:
        rows = self.assignments_at(block, "assignment_id = ?", (assignment_id,))
        return rows[0] if rows else None

    def value_at(self, name: str, block: int) -> Any:
        row = VALUES.one_at(self.db.connection, name, block)
        return None if row is None else json.loads(row["value"])

    def totals_at(self, block: int) -> tuple[int, int, int]:
        """(escrow, earnings, compensation): TaskMarket.totals()."""
        totals = self.value_at("market.totals", block) or {}
        return tuple(int(totals.get(k, 0)) for k in ("escrow", "earnings", "compensation"))  # type: ignore[return-value]

    def earnings_at(self, account: str, block: int) -> int:
        return int(self.value_at(f"earnings.{account.lower()}", block) or 0)

    def compensation_at(self, account: str, block: int) -> int:
        return int(self.value_at(f"compensation.{account.lower()}", block) or 0)

    def latest_round_at(self, block: int) -> tuple[int, int]:
        """(round, snapshot block) of the latest accepted report: ReportVerifier.latestRound()."""
        latest = self.value_at("verifier.latest", block) or {}
        return int(latest.get("round", 0)), int(latest.get("snapshotBlock", 0))

    def config_at(self, block: int) -> dict[str, Any] | None:
        """The committee config (ConfigSet args, bytes as 0x-hex) in force at `block`."""
        value: dict[str, Any] | None = self.value_at("verifier.config", block)
        return value

    def energy_weight_at(self, block: int) -> int:
        """ReportVerifier.energyWeight() at `block`: VER wei per kWh of the oracle's
        energy-aware mode, 0 (off) until the first EnergyWeightSet."""
        return int(self.value_at("verifier.energy_weight", block) or 0)

    def parameters_at(self, block: int) -> dict[str, Any]:
        return dict(self.value_at("registry.parameters", block) or {})

    def classes_at(self, block: int) -> dict[str, dict[str, Any]]:
        return dict(self.value_at("registry.classes", block) or {})

    def paused_at(self, block: int) -> bool:
        """NodeRegistry.paused(): registrations, tasks and allocations stopped."""
        return bool(self.value_at("registry.paused", block))

    def block_timestamp(self, number: int) -> int | None:
        row = self.db.execute("SELECT timestamp FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else int(row[0])
