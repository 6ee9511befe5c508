"""The node list, and one node: its telemetry over time (load, watts, heartbeat gaps), its
energy (credited by the registry, measured or estimated; its declared renewable share), its
assignments and what it earned."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from oracle.chain.mirror import RUNNING
from oracle.dashboard import history
from oracle.dashboard.charts import Series, chart
from oracle.dashboard.events import describe
from oracle.dashboard.pages.common import (
    LIVE,
    accrued,
    gap_cap,
    node_row,
    page_bounds,
    power_now,
)
from oracle.dashboard.view import View
from oracle.energy import kwh

PER_PAGE = 100
TELEMETRY_POINTS = 2_000
TIMELINE = 40


def build_list(view: View, page: int) -> dict[str, Any]:
    nodes = view.mirror.nodes_at(view.block)
    offset, pages, page = page_bounds(page, PER_PAGE, len(nodes))
    return {
        "nodes": [node_row(n, view) for n in nodes[offset : offset + PER_PAGE]],
        "node_count": len(nodes),
        "page": page,
        "pages": pages,
    }


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    task_id: int
    units: int
    price: int
    status: str
    step: int
    start_at: int
    last_checkpoint_at: int
    cid: bytes | None
    resumes_from: int
    earned: int  # paid at close, or accrued so far while running
    settled: bool


@dataclass(frozen=True)
class Suspicion:
    """A first failure report not yet voided by a heartbeat (NodeSuspected, issue 10)."""

    reporter: str
    block: int
    timestamp: int
    failable_at: int


@dataclass(frozen=True)
class Energy:
    """The node's energy as the registry credited it (its heartbeats' energyJ) and its
    declared renewable share (its latest RenewableShareDeclared)."""

    joules: int
    measured_j: int
    counter_j: int  # the counter of its last heartbeat; 0: estimated
    renewable_bps: int | None  # None: never declared
    evidence_uri: str
    declared_at: int | None

    @property
    def kwh(self) -> Fraction:
        return kwh(self.joules)

    @property
    def measured_share(self) -> Fraction | None:
        return Fraction(self.measured_j, self.joules) if self.joules else None

    @property
    def source(self) -> str:
        return "measured" if self.counter_j else "estimated"


def energy_of(view: View, node_id: int) -> Energy | None:
    """None when the registry credits no energy (heartbeats without energyJ)."""
    beats = history.logs(
        view.conn,
        view.block,
        contract="NodeRegistry",
        events=("HeartbeatRecorded",),
        arg=("nodeId", node_id),
    )
    if beats and "energyJ" not in beats[0].args:
        return None
    credits = history.credited([(int(b.args["energyJ"]), int(b.args["counterJ"])) for b in beats])
    declared = history.logs(
        view.conn,
        view.block,
        contract="NodeRegistry",
        events=("RenewableShareDeclared",),
        arg=("nodeId", node_id),
        newest_first=True,
        limit=1,
    )
    last = declared[0] if declared else None
    return Energy(
        joules=credits.joules,
        measured_j=credits.measured,
        counter_j=int(beats[-1].args["counterJ"]) if beats else 0,
        renewable_bps=int(last.args["shareBps"]) if last else None,
        evidence_uri=str(last.args["evidenceURI"]) if last else "",
        declared_at=last.timestamp if last else None,
    )


@dataclass(frozen=True)
class Gaps:
    count: int
    longest: int
    mean: int
    over_timeout: int


def build(view: View, node_id: int) -> dict[str, Any] | None:
    node = view.mirror.node_at(node_id, view.block)
    if node is None:
        return None
    cap = gap_cap(view)
    beats = history.heartbeats(view.conn, view.block, node_id, limit=TELEMETRY_POINTS)
    # the first gap counts from the registration (the registry's first "heartbeat"), unless
    # older heartbeats were left out of the chart or pruned from the history
    registration = _registration(view, node_id)
    kept_from = view.block - view.mirror.heartbeat_retention_blocks  # Mirror.prune's horizon
    complete = (
        len(beats) < TELEMETRY_POINTS and registration is not None and registration[0] >= kept_from
    )
    previous = registration[1] if complete and registration is not None else None
    times, load, watts, gaps = [], [], [], []
    for beat in beats:
        times.append(beat.timestamp)
        load.append(beat.load_bps / 100)
        watts.append(beat.watts)
        if previous is not None:
            gaps.append(beat.timestamp - previous)
        previous = beat.timestamp
    gap_values: list[int | None] = [None] * (len(times) - len(gaps)) + list(gaps)
    telemetry = chart(
        "Load and power",
        times,
        [Series("load %", load, "%", stepped=True), Series("watts", watts, "W", stepped=True)],
    )
    limit = view.mirror.classes_at(view.block).get("0x" + node.resource_class.hex(), {})
    if limit.get("wattLimit"):
        telemetry["thresholds"] = {"W": int(limit["wattLimit"])}
    gap_chart = chart(
        "Seconds since the previous heartbeat",
        times,
        [Series("gap s", gap_values, "s", bars=True)],
        thresholds={"s": cap},
    )
    closed = {
        int(e.args["assignmentId"]): e
        for e in history.logs(
            view.conn,
            view.block,
            contract="TaskMarket",
            events=("AssignmentClosed",),
            arg=("nodeId", node_id),
        )
    }
    assignments = []
    for a in view.mirror.assignments_at(view.block, "node_id = ?", (node_id,)):
        close = closed.get(a.id)
        assignments.append(
            AssignmentRow(
                id=a.id,
                task_id=a.task_id,
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
            )
        )
    paid = sum(int(e.args["earned"]) for e in closed.values())
    accruing = sum(r.earned for r in assignments if not r.settled)
    timeline = history.logs(
        view.conn, view.block, arg=("nodeId", node_id), newest_first=True, limit=TIMELINE
    )
    names = view.network.class_names
    return {
        "node": node_row(node, view),
        "state": node,
        "registered_at": registration[1] if registration else None,
        "power_now": power_now(node, view, cap),
        "suspicion": suspicion(view, node_id, node.status),
        "watt_limit": int(limit["wattLimit"]) if limit.get("wattLimit") else None,
        "telemetry": telemetry,
        "gap_chart": gap_chart,
        "gaps": Gaps(
            count=len(gaps),
            longest=max(gaps, default=0),
            mean=sum(gaps) // len(gaps) if gaps else 0,
            over_timeout=sum(1 for g in gaps if g > cap),
        ),
        "heartbeat_count": len(beats),
        "energy": energy_of(view, node_id),
        "gap_cap": cap,
        "assignments": assignments,
        "earned_paid": paid,
        "earned_accruing": accruing,
        "owner_withdrawable": view.mirror.earnings_at(node.owner, view.block),
        "timeline": [(e, describe(e, names)) for e in timeline],
    }


def suspicion(view: View, node_id: int, status: int) -> Suspicion | None:
    """The node's open suspicion: its latest NodeSuspected with no heartbeat after it, while the
    node is live (a registry without suspicions never has one)."""
    if status not in LIVE:
        return None
    rows = history.logs(
        view.conn,
        view.block,
        contract="NodeRegistry",
        events=("NodeSuspected", "HeartbeatRecorded"),
        arg=("nodeId", node_id),
        newest_first=True,
        limit=1,
    )
    if not rows or rows[0].event != "NodeSuspected":
        return None
    e = rows[0]
    return Suspicion(
        str(e.args["reporter"]), e.block_number, e.timestamp, int(e.args["failableAt"])
    )


def _registration(view: View, node_id: int) -> tuple[int, int] | None:
    """(block, time) of the registration: the first 'heartbeat' the registry counts from."""
    rows = history.logs(
        view.conn,
        view.block,
        contract="NodeRegistry",
        events=("NodeRegistered",),
        arg=("nodeId", node_id),
        limit=1,
    )
    return (rows[0].block_number, rows[0].timestamp) if rows else None
