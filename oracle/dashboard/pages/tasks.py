"""The task list, and one task: units pending / running / done, its assignments with their
checkpoint steps and CIDs, what it spent and what is left in escrow, and its reassignments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oracle.chain.mirror import MOVED, REASSIGNED, RUNNING
from oracle.dashboard import history
from oracle.dashboard.charts import Series, align_points, chart
from oracle.dashboard.events import describe
from oracle.dashboard.pages.common import accrued, page_bounds
from oracle.dashboard.pages.overview import task_row
from oracle.dashboard.view import View

PER_PAGE = 100
CHECKPOINTS_SHOWN = 50
TIMELINE = 40


def build_list(view: View, page: int) -> dict[str, Any]:
    tasks = view.mirror.tasks_at(view.block, view.timestamp)
    tasks.reverse()  # newest first
    offset, pages, page = page_bounds(page, PER_PAGE, len(tasks))
    return {
        "tasks": [task_row(t, view) for t in tasks[offset : offset + PER_PAGE]],
        "task_count": len(tasks),
        "page": page,
        "pages": pages,
    }


@dataclass(frozen=True)
class Checkpoint:
    step: int
    cid: str  # 0x-hex of the CID bytes, as the event carried them
    block: int
    timestamp: int
    final: bool


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    node_id: int
    units: int
    price: int
    status: str
    step: int
    start_at: int
    last_checkpoint_at: int
    cid: bytes | None
    resumes_from: int
    earned: int
    settled: bool
    checkpoints: list[Checkpoint]
    checkpoint_count: int


@dataclass(frozen=True)
class Handover:
    """Units that left one assignment for another: a VRF reassignment or a move."""

    kind: str  # "reassignment" | "move"
    from_assignment: int
    from_node: int
    to_assignment: int
    to_node: int
    units: int
    resumed_step: int
    resumed_cid: bytes | None
    block: int
    timestamp: int


def build(view: View, task_id: int) -> dict[str, Any] | None:
    task = view.mirror.task_at(task_id, view.block, view.timestamp)
    if task is None:
        return None
    mine = view.mirror.assignments_at(view.block, "task_id = ?", (task_id,))
    by_id = {a.id: a for a in mine}
    ids = sorted(by_id)
    closed = {
        int(e.args["assignmentId"]): e
        for e in history.logs(
            view.conn,
            view.block,
            contract="TaskMarket",
            events=("AssignmentClosed",),
            arg=("taskId", task_id),
        )
    }
    commits: dict[int, list[Checkpoint]] = {}
    for e in history.logs(
        view.conn,
        view.block,
        contract="CheckpointRegistry",
        events=("CheckpointCommitted",),
        arg_in=("assignmentId", ids),
    ):
        commits.setdefault(int(e.args["assignmentId"]), []).append(
            Checkpoint(
                int(e.args["step"]),
                str(e.args["cid"]),
                e.block_number,
                e.timestamp,
                bool(e.args.get("isFinal", False)),
            )
        )
    rows = []
    for a in mine:
        close = closed.get(a.id)
        history_of = commits.get(a.id, [])
        rows.append(
            AssignmentRow(
                id=a.id,
                node_id=a.node_id,
                units=a.units,
                price=a.price,
                status=a.status_name,
                step=a.step,
                start_at=a.start_at,
                last_checkpoint_at=a.last_checkpoint_at,
                cid=a.cid,
                resumes_from=a.resumes_from,
                earned=int(close.args["earned"]) if close else accrued(a),
                settled=close is not None or a.status != RUNNING,
                checkpoints=history_of[-CHECKPOINTS_SHOWN:],
                checkpoint_count=len(history_of),
            )
        )
    created = {
        int(e.args["assignmentId"]): e
        for e in history.logs(
            view.conn,
            view.block,
            contract="TaskMarket",
            events=("AssignmentCreated",),
            arg=("taskId", task_id),
        )
    }
    handovers = []
    for a in mine:
        source = by_id.get(a.resumes_from) if a.resumes_from else None
        if source is None or source.status not in (REASSIGNED, MOVED):
            continue
        made = created.get(a.id)
        handovers.append(
            Handover(
                kind="reassignment" if source.status == REASSIGNED else "move",
                from_assignment=source.id,
                from_node=source.node_id,
                to_assignment=a.id,
                to_node=a.node_id,
                units=a.units,
                resumed_step=source.step,
                resumed_cid=source.cid,
                block=made.block_number if made else 0,
                timestamp=made.timestamp if made else a.start_at,
            )
        )
    money = history.logs(
        view.conn,
        view.block,
        contract="TaskMarket",
        events=("TaskSubmitted", "TaskToppedUp", "TaskRefunded"),
        arg=("taskId", task_id),
    )
    deposited = sum(
        int(e.args["escrow"]) if e.event == "TaskSubmitted" else int(e.args["amount"])
        for e in money
        if e.event != "TaskRefunded"
    )
    refunded = sum(int(e.args["amount"]) for e in money if e.event == "TaskRefunded")
    spent = sum(int(e.args["earned"]) for e in closed.values())
    steps = {
        f"assignment {a}": [(c.timestamp, c.step) for c in cps]
        for a, cps in sorted(commits.items())
    }
    xs, aligned = align_points(steps)
    progress = chart(
        "Checkpoint steps",
        xs,
        [Series(label, values, "step") for label, values in aligned.items()],
    )
    timeline = history.logs(
        view.conn,
        view.block,
        contract="TaskMarket",
        arg=("taskId", task_id),
        newest_first=True,
        limit=TIMELINE,
    )
    names = view.network.class_names
    return {
        "task": task_row(task, view),
        "state": task,
        "assignments": rows,
        "handovers": handovers,
        "deposited": deposited,
        "spent": spent,
        "refunded": refunded,
        "escrow_left": task.escrow,
        "accruing": sum(r.earned for r in rows if not r.settled),
        "progress": progress,
        "timeline": [(e, describe(e, names)) for e in timeline],
    }
