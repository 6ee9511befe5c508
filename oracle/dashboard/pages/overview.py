"""The network at a glance: nodes by class and status, utilisation and asks per class, open
tasks, the market's escrow, and the last committee round with its age."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from oracle.chain.mirror import ACTIVE, TaskState
from oracle.dashboard import history
from oracle.dashboard.pages.common import (
    LIVE,
    STATUS_ORDER,
    NodeRow,
    gap_cap,
    node_row,
    power_now,
)
from oracle.dashboard.view import View

NODES_SHOWN = 50
TASKS_SHOWN = 20


@dataclass
class ClassRow:
    """One resource class (or the network's total)."""

    name: str
    key: str
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_ORDER, 0))
    capacity: int = 0  # units of live nodes
    reserved: int = 0
    load_sum: int = 0
    live: int = 0
    power: int = 0  # watts now
    asks: list[int] = field(default_factory=list)  # prices of Active nodes
    watt_limit: int | None = None
    min_stake: int | None = None

    @property
    def nodes(self) -> int:
        return sum(self.by_status.values())

    @property
    def utilisation(self) -> Fraction | None:
        return Fraction(self.reserved, self.capacity) if self.capacity else None

    @property
    def mean_load_bps(self) -> int | None:
        return self.load_sum // self.live if self.live else None

    @property
    def price_min(self) -> int | None:
        return min(self.asks) if self.asks else None

    @property
    def price_max(self) -> int | None:
        return max(self.asks) if self.asks else None

    def add(self, status: str, live: bool, capacity: int, reserved: int, load: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if live:
            self.live += 1
            self.capacity += capacity
            self.reserved += reserved
            self.load_sum += load


@dataclass(frozen=True)
class TaskRow:
    id: int
    developer: str
    resource_class: str
    status: str
    units: int
    pending: int
    running: int
    done: int
    max_price: int
    escrow: int
    expires_in: int


@dataclass(frozen=True)
class RoundSummary:
    round: int
    snapshot_block: int
    block: int
    timestamp: int
    age: int
    blocks_ago: int
    applied: int
    skipped: int


def task_row(task: TaskState, view: View) -> TaskRow:
    return TaskRow(
        id=task.id,
        developer=task.developer,
        resource_class=view.class_name(task.resource_class),
        status="Cancelled" if task.cancelled and task.status != 2 else task.status_name,
        units=task.units,
        pending=task.pending,
        running=task.running,
        done=task.units - task.pending - task.running,
        max_price=task.max_price,
        escrow=task.escrow,
        expires_in=task.expires_at - view.timestamp,
    )


def last_round(view: View) -> RoundSummary | None:
    number, snapshot_block = view.mirror.latest_round_at(view.block)
    if number == 0:
        return None
    event = history.block_of_round(view.conn, view.block, number)
    if event is None:  # accepted before the ingested history (never with start_block = deploy)
        return None
    return RoundSummary(
        round=number,
        snapshot_block=snapshot_block,
        block=event.block_number,
        timestamp=event.timestamp,
        age=view.timestamp - event.timestamp,
        blocks_ago=view.block - event.block_number,
        applied=int(event.args["applied"]),
        skipped=int(event.args["skipped"]),
    )


def build(view: View) -> dict[str, Any]:
    cap = gap_cap(view)
    classes: dict[bytes, ClassRow] = {}
    for key, config in sorted(view.mirror.classes_at(view.block).items()):
        raw = bytes.fromhex(key.removeprefix("0x"))
        classes[raw] = ClassRow(
            view.class_name(raw),
            key,
            watt_limit=int(config["wattLimit"]),
            min_stake=int(config["minStake"]),
        )
    total = ClassRow("all classes", "")
    nodes = view.mirror.nodes_at(view.block)
    shown: list[NodeRow] = []
    for node in nodes:
        row = classes.setdefault(
            node.resource_class,
            ClassRow(view.class_name(node.resource_class), "0x" + node.resource_class.hex()),
        )
        live = node.status in LIVE
        for target in (row, total):
            target.add(node.status_name, live, node.capacity, node.reserved, node.load_bps)
            target.power += power_now(node, view, cap)
            if node.status == ACTIVE:
                target.asks.append(node.price)
        if len(shown) < NODES_SHOWN:
            shown.append(node_row(node, view))
    open_tasks = view.mirror.tasks_at(
        view.block,
        view.timestamp,
        "expires_at > ? AND (pending > 0 OR running > 0)",
        (view.timestamp,),
    )
    escrow, earnings, compensation = view.mirror.totals_at(view.block)
    return {
        "classes": sorted(classes.values(), key=lambda c: c.name),
        "total": total,
        "statuses": STATUS_ORDER,
        "nodes": shown,
        "node_count": len(nodes),
        "open_tasks": [task_row(t, view) for t in open_tasks[:TASKS_SHOWN]],
        "open_task_count": len(open_tasks),
        "pending_units": sum(t.pending for t in open_tasks),
        "running_units": sum(t.running for t in open_tasks),
        "market": {"escrow": escrow, "earnings": earnings, "compensation": compensation},
        "last_round": last_round(view),
        "gap_cap": cap,
    }
