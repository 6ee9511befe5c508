"""Where a task is and what it cost: its units, each assignment with its node, price, last
checkpoint and earnings, the escrow paid out, accrued and left, at one block.

The assignments of the task are found in the event cache; their values are read from the
contracts' views at the cache's block; the payments (AssignmentClosed.earned, deposits, the
refund) come from the cached logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oracle.cid import cid_from_bytes
from oracle.commands._cache import CachedState
from oracle.commands._output import (
    amount,
    fail,
    fields,
    show_age,
    show_price,
    show_time,
    show_ver,
    table,
)
from oracle.commands._session import Session
from oracle.commands._views import has_function
from oracle.explain import ASSIGNMENT_STATUS, TASK_STATUS

OPEN, COMPLETED_TASK, ENDED = 1, 2, 3
RUNNING = 1


@dataclass(frozen=True)
class AssignmentLine:
    id: int
    node_id: int
    node_owner: str
    units: int
    price: int
    status: int
    start_at: int
    last_checkpoint_at: int
    step: int
    cid: str | None
    resumes_from: int
    earned: int  # paid at its close, or accrued up to its last checkpoint while it runs

    @property
    def status_name(self) -> str:
        return ASSIGNMENT_STATUS[self.status]


@dataclass(frozen=True)
class TaskReport:
    id: int
    developer: str
    resource_class: bytes
    class_name: str
    units: int
    pending: int
    running: int
    max_price: int
    escrow: int  # still held by the market for the task
    deposited: int
    paid: int  # to nodes, at the close of their assignments
    accrued: int  # owed to running assignments up to their last checkpoint
    refunded: int
    expires_at: int
    checkpoint_deadline: int
    status: int
    cancelled: bool
    spec_uri: str
    block: int
    timestamp: int
    assignments: tuple[AssignmentLine, ...]

    @property
    def completed(self) -> int:
        return self.units - self.pending - self.running

    @property
    def spent(self) -> int:
        return self.paid + self.accrued

    @property
    def escrow_left(self) -> int:
        return self.escrow - self.accrued

    @property
    def status_name(self) -> str:
        return TASK_STATUS[self.status]

    @property
    def finished(self) -> bool:
        """Nothing more will happen to it but the refund."""
        return self.status in (COMPLETED_TASK, ENDED) and self.running == 0


def require_task(session: Session, task_id: int) -> None:
    """An unknown task id is one line naming the ids that exist."""
    count = int(session.view(session.contracts.market.functions.taskCount()))
    if not 1 <= task_id <= count:
        known = f"tasks 1 to {count}" if count else "no tasks yet"
        fail(
            f"unknown task {task_id}: this deployment has {known} (chain {session.chain.chain_id})"
        )


def build(session: Session, state: CachedState, task_id: int) -> TaskReport:
    require_task(session, task_id)
    market = session.contracts.market.functions
    checkpoints = session.contracts.checkpoints.functions
    task = session.view(market.getTask(task_id))
    mirrored = state.mirror.task_at(task_id, state.block, state.timestamp)
    ids = [a.id for a in state.mirror.assignments_at(state.block, "task_id = ?", (task_id,))]
    calls: list[Any] = []
    for assignment_id in ids:
        calls += [market.getAssignment(assignment_id), checkpoints.latestCheckpoint(assignment_id)]
    if has_function(session.contracts.market, "checkpointDeadline"):
        calls.append(market.checkpointDeadline(task_id))
    results = session.views(calls)
    deadline = int(results[-1]) if len(results) > 2 * len(ids) else int(task["expiresAt"])
    closed = _closed_earnings(state, task_id)
    deposited, refunded = _deposits(state, task_id)
    lines = []
    accrued = 0
    for index, assignment_id in enumerate(ids):
        a, latest = results[2 * index], results[2 * index + 1]
        status = int(a["status"])
        if status == RUNNING:
            paid_until = min(int(a["lastCheckpointAt"]), int(task["expiresAt"]))
            span = max(0, paid_until - int(a["startAt"]))
            earned = int(a["units"]) * int(a["pricePerUnitHour"]) * span // 3600
            accrued += earned
        else:
            earned = closed.get(assignment_id, 0)
        raw_cid = bytes(latest["cid"])
        lines.append(
            AssignmentLine(
                id=assignment_id,
                node_id=int(a["nodeId"]),
                node_owner=str(a["nodeOwner"]),
                units=int(a["units"]),
                price=int(a["pricePerUnitHour"]),
                status=status,
                start_at=int(a["startAt"]),
                last_checkpoint_at=int(a["lastCheckpointAt"]),
                step=int(a["checkpointStep"]),
                cid=cid_from_bytes(raw_cid) if raw_cid else None,
                resumes_from=int(a["resumesFrom"]),
                earned=earned,
            )
        )
    return TaskReport(
        id=task_id,
        developer=str(task["developer"]),
        resource_class=bytes(task["resourceClass"]),
        class_name=session.class_label(bytes(task["resourceClass"])),
        units=mirrored.units if mirrored is not None else 0,
        pending=int(task["pendingUnits"]),
        running=int(task["runningUnits"]),
        max_price=int(task["maxPricePerUnitHour"]),
        escrow=int(task["escrow"]),
        deposited=deposited,
        paid=sum(closed.values()),
        accrued=accrued,
        refunded=refunded,
        expires_at=int(task["expiresAt"]),
        checkpoint_deadline=deadline,
        status=int(task["status"]),
        cancelled=bool(mirrored.cancelled) if mirrored is not None else False,
        spec_uri=mirrored.spec_uri if mirrored is not None else "",
        block=state.block,
        timestamp=state.timestamp,
        assignments=tuple(lines),
    )


def _closed_earnings(state: CachedState, task_id: int) -> dict[int, int]:
    earned: dict[int, int] = {}
    for _, args in state.logs("TaskMarket", ("AssignmentClosed",)):
        if int(args["taskId"]) == task_id:
            earned[int(args["assignmentId"])] = int(args["earned"])
    return earned


def _deposits(state: CachedState, task_id: int) -> tuple[int, int]:
    deposited = refunded = 0
    events = ("TaskSubmitted", "TaskToppedUp", "TaskRefunded")
    for event, args in state.logs("TaskMarket", events):
        if int(args["taskId"]) != task_id:
            continue
        if event == "TaskSubmitted":
            deposited += int(args["escrow"])
        elif event == "TaskToppedUp":
            deposited += int(args["amount"])
        else:
            refunded += int(args["amount"])
    return deposited, refunded


# ------------------------------------------------------------------------------------ output
def to_json(report: TaskReport) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "verai.task.status/1",
        "block": report.block,
        "timestamp": report.timestamp,
        "task_id": report.id,
        "developer": report.developer,
        "class": report.class_name,
        "class_key": "0x" + report.resource_class.hex(),
        "status": report.status_name,
        "cancelled": report.cancelled,
        "spec_uri": report.spec_uri,
        "units": report.units,
        "pending_units": report.pending,
        "running_units": report.running,
        "completed_units": report.completed,
        "expires_at": report.expires_at,
        "checkpoint_deadline": report.checkpoint_deadline,
    }
    amount(doc, "max_price", report.max_price)
    for name in ("deposited", "paid", "accrued", "spent", "escrow", "escrow_left", "refunded"):
        amount(doc, name, getattr(report, name))
    doc["assignments"] = []
    for a in report.assignments:
        entry: dict[str, Any] = {
            "assignment_id": a.id,
            "node_id": a.node_id,
            "node_owner": a.node_owner,
            "units": a.units,
            "status": a.status_name,
            "start_at": a.start_at,
            "last_checkpoint_at": a.last_checkpoint_at,
            "checkpoint_step": a.step,
            "checkpoint_cid": a.cid,
            "resumes_from": a.resumes_from,
        }
        amount(entry, "price", a.price)
        amount(entry, "earned", a.earned)
        doc["assignments"].append(entry)
    return doc


def render(report: TaskReport) -> str:
    now = report.timestamp
    ends = show_time(report.expires_at, now)
    if report.cancelled:
        ends += " (cancelled)"
    head = (
        f"task {report.id}  {report.class_name}  {report.status_name}  "
        f"(block {report.block:,}, {show_time(now, None)})"
    )
    body = fields(
        [
            ("developer", report.developer),
            ("spec", report.spec_uri or "-"),
            (
                "units",
                f"{report.units}: {report.pending} pending, {report.running} running, "
                f"{report.completed} completed",
            ),
            ("max price", show_price(report.max_price)),
            ("ends", ends),
            ("escrow", f"{show_ver(report.deposited)} deposited, {show_ver(report.escrow)} held"),
            (
                "spent",
                f"{show_ver(report.spent)} so far ({show_ver(report.paid)} paid, "
                f"{show_ver(report.accrued)} accrued to the last checkpoints)",
            ),
            ("escrow left", _left(report)),
        ]
    )
    out = [head, body]
    if report.assignments:
        rows = [
            (
                a.id,
                a.node_id,
                a.units,
                show_price(a.price),
                a.status_name,
                a.step or "-",
                show_age(a.last_checkpoint_at, now) if a.step else "-",
                a.cid or "-",
                show_ver(a.earned),
            )
            for a in report.assignments
        ]
        headers = (
            "assignment",
            "node",
            "units",
            "price",
            "status",
            "step",
            "checkpoint",
            "CID",
            "earned",
        )
        out += ["", table(headers, rows, right="units,earned")]
    else:
        out += ["", "  no assignment yet: waiting for the committee to allocate it"]
    return "\n".join(out)


def _left(report: TaskReport) -> str:
    left = show_ver(report.escrow_left)
    if report.refunded:
        return f"{left} ({show_ver(report.refunded)} refunded)"
    if report.finished and report.escrow:
        return f"{left}, refundable now: verai task refund {report.id}"
    return left
