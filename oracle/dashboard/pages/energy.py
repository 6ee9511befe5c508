"""Energy: power per class over time, kWh per class and node over a window, and the declared
renewable share toward the network's 80 % goal.

Two figures per class and node: the energy the registry credited (HeartbeatRecorded.energyJ,
the chain's own accounting: each heartbeat credits its interval back to the previous one, capped
at the heartbeat timeout, from the node's energy counter when it sent one: measured, else watts
x time: estimated), and the dashboard's recomputation from the watts readings (each reading held
until the next one, capped; oracle/energy.py), which the power chart draws. The renewable share
is always the nodes' declaration (RenewableShareDeclared), never a measurement."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from oracle.chain.abi import load_abi
from oracle.dashboard import history
from oracle.dashboard.charts import Series, align_steps, chart
from oracle.dashboard.pages.common import LIVE, gap_cap
from oracle.dashboard.view import View
from oracle.energy import BPS, RENEWABLE_GOAL, energy_joules, kwh, power_steps, renewable_share

WINDOWS = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "all": None}
DEFAULT_WINDOW = "24h"
NODES_SHOWN = 50


@dataclass(frozen=True)
class ClassEnergy:
    name: str
    nodes: int
    joules: int
    power_now: int
    mean_watts: int
    credited_j: int | None = None  # the registry's figure (None: it credits no energy)
    measured_j: int = 0

    @property
    def kwh(self) -> Fraction:
        return kwh(self.joules)

    @property
    def credited_kwh(self) -> Fraction | None:
        return None if self.credited_j is None else kwh(self.credited_j)

    @property
    def measured_share(self) -> Fraction | None:
        return Fraction(self.measured_j, self.credited_j) if self.credited_j else None


@dataclass(frozen=True)
class NodeEnergy:
    id: int
    resource_class: str
    status: str
    joules: int
    power_now: int
    renewable_bps: int | None
    credited: history.Credited | None = None

    @property
    def kwh(self) -> Fraction:
        return kwh(self.joules)

    @property
    def credited_kwh(self) -> Fraction | None:
        return None if self.credited is None else kwh(self.credited.joules)

    @property
    def source(self) -> str:
        return "-" if self.credited is None else self.credited.source


@functools.cache
def renewable_events() -> tuple[tuple[str, str], ...]:
    """(event, argument) pairs of NodeRegistry events that carry a node's declared renewable
    share (issue 13: RenewableShareDeclared.shareBps); empty while the committed ABI has none."""
    found = []
    for entry in load_abi("NodeRegistry"):
        if entry.get("type") != "event":
            continue
        names = [p["name"] for p in entry.get("inputs", [])]
        renewable = "renewable" in str(entry["name"]).lower()
        share = [
            n for n in names if "renewable" in n.lower() or (renewable and "share" in n.lower())
        ]
        if "nodeId" in names and share:
            found.append((str(entry["name"]), share[0]))
    return tuple(found)


def declared_shares(view: View) -> dict[int, int] | None:
    """Each node's latest declared renewable share (bps); None when the contracts do not emit
    one at all (the page then says "not declared")."""
    kinds = renewable_events()
    if not kinds:
        return None
    shares: dict[int, int] = {}
    for event, arg in kinds:
        for row in history.logs(view.conn, view.block, contract="NodeRegistry", events=(event,)):
            shares[int(row.args["nodeId"])] = int(row.args[arg])
    return shares


def build(view: View, window: str) -> dict[str, Any]:
    seconds = WINDOWS[window]
    end = view.timestamp
    first = history.first_block_time(view.conn) or end
    start = first if seconds is None else max(first, end - seconds)
    cap = gap_cap(view)
    nodes = {n.id: n for n in view.mirror.nodes_at(view.block)}
    readings = history.power_readings(view.conn, view.block, start=start, end=end)
    shares = declared_shares(view)
    credits = history.energy_credits(view.conn, view.block, start=start, end=end)
    by_class: dict[str, dict[int, Any]] = {}
    node_rows = []
    for node_id, series in sorted(readings.items()):
        node = nodes.get(node_id)
        if node is None:
            continue
        name = view.class_name(node.resource_class)
        by_class.setdefault(name, {})[node_id] = series
        joules = energy_joules(series, start=start, end=end, gap_cap=cap)
        steps = power_steps({node_id: series}, gap_cap=cap, start=start, end=end)
        node_rows.append(
            NodeEnergy(
                id=node_id,
                resource_class=name,
                status=node.status_name,
                joules=joules,
                power_now=steps[-1][1],
                renewable_bps=None if shares is None else shares.get(node_id),
                credited=(
                    None if credits is None else credits.get(node_id, history.Credited(0, 0, 0))
                ),
            )
        )
    classes = []
    class_steps: dict[str, list[tuple[int, int]]] = {}
    for name, series_by_node in sorted(by_class.items()):
        steps = power_steps(series_by_node, gap_cap=cap, start=start, end=end)
        class_steps[name] = steps
        joules = sum(
            energy_joules(s, start=start, end=end, gap_cap=cap) for s in series_by_node.values()
        )
        mine = [n.credited for n in node_rows if n.id in series_by_node and n.credited]
        classes.append(
            ClassEnergy(
                name=name,
                nodes=len(series_by_node),
                joules=joules,
                power_now=steps[-1][1],
                mean_watts=joules // (end - start) if end > start else 0,
                credited_j=None if credits is None else sum(c.joules for c in mine),
                measured_j=sum(c.measured for c in mine),
            )
        )
    xs, aligned = align_steps(class_steps)
    power_chart = chart(
        "Power per class (W)",
        xs,
        [Series(name, values, "W", stepped=True) for name, values in aligned.items()],
    )
    total = sum(c.joules for c in classes)
    credited = None if credits is None else sum(c.credited_j or 0 for c in classes)
    measured = sum(c.measured_j for c in classes)
    # weighted by the registry's credited energy when it keeps one, else the recomputation
    weights = {n.id: (n.credited.joules if n.credited is not None else n.joules) for n in node_rows}
    share = None if shares is None else renewable_share(weights, shares)
    live = [n for n in nodes.values() if n.status in LIVE]
    by_count = (
        Fraction(sum(shares.get(n.id, 0) for n in live), BPS * len(live))
        if shares is not None and live
        else None
    )
    declaring = 0 if shares is None else sum(1 for n in live if shares.get(n.id, 0) > 0)
    node_rows.sort(key=lambda n: (-n.joules, n.id))
    return {
        "window": window,
        "windows": list(WINDOWS),
        "start": start,
        "end": end,
        "gap_cap": cap,
        "classes": classes,
        "nodes": node_rows[:NODES_SHOWN],
        "node_count": len(node_rows),
        "total_joules": total,
        "total_kwh": kwh(total),
        "power_chart": power_chart,
        "credited_joules": credited,
        "credited_kwh": None if credited is None else kwh(credited),
        "measured_kwh": kwh(measured),
        "measured_share": Fraction(measured, credited) if credited else None,
        "declared": shares is not None,
        "renewable_share": share,
        "renewable_by_count": by_count,
        "live_nodes": len(live),
        "declaring_nodes": declaring,
        "goal": RENEWABLE_GOAL,
    }
