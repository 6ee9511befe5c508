"""Energy: power per class over time, kWh per class and node over a window, and the declared
renewable share toward the network's 80 % goal. The arithmetic (gap cap included) is
oracle/energy.py's; this module only gathers the heartbeat series."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from oracle.chain.abi import load_abi
from oracle.dashboard import history
from oracle.dashboard.charts import Series, align_steps, chart
from oracle.dashboard.pages.common import gap_cap
from oracle.dashboard.view import View
from oracle.energy import RENEWABLE_GOAL, energy_joules, kwh, power_steps, renewable_share

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

    @property
    def kwh(self) -> Fraction:
        return kwh(self.joules)


@dataclass(frozen=True)
class NodeEnergy:
    id: int
    resource_class: str
    status: str
    joules: int
    power_now: int
    renewable_bps: int | None

    @property
    def kwh(self) -> Fraction:
        return kwh(self.joules)


@functools.cache
def renewable_events() -> tuple[tuple[str, str], ...]:
    """(event, argument) pairs of NodeRegistry events that carry a node's declared renewable
    share (issue 13); empty while the committed ABI has none."""
    found = []
    for entry in load_abi("NodeRegistry"):
        if entry.get("type") != "event":
            continue
        names = [p["name"] for p in entry.get("inputs", [])]
        share = [n for n in names if "renewable" in n.lower()]
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
        classes.append(
            ClassEnergy(
                name=name,
                nodes=len(series_by_node),
                joules=joules,
                power_now=steps[-1][1],
                mean_watts=joules // (end - start) if end > start else 0,
            )
        )
    xs, aligned = align_steps(class_steps)
    power_chart = chart(
        "Power per class (W)",
        xs,
        [Series(name, values, "W", stepped=True) for name, values in aligned.items()],
    )
    total = sum(c.joules for c in classes)
    share = None if shares is None else renewable_share({n.id: n.joules for n in node_rows}, shares)
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
        "declared": shares is not None,
        "renewable_share": share,
        "goal": RENEWABLE_GOAL,
    }
