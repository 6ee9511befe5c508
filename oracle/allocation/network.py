"""The task -> node network the ``mcf`` and ``lp`` paths solve, with exactly rescaled costs.

Built from the canonical class views, so both paths see the same arcs in the same order whatever
the input order. Every served unit crosses exactly one task -> node arc and the number of served
units is the maximum flow F whatever the costs, so subtracting a common base b from every arc cost
and dividing by the gcd g of what remains changes the objective to (cost - b * F) / g and keeps
the same optimal flows; the solvers then check the largest rescaled cost against their number
type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oracle.allocation.class_view import class_views
from oracle.allocation.fields import INT64_MAX, IntArray
from oracle.allocation.result import Allocation, allocation_from_rows
from oracle.allocation.snapshot import Snapshot


@dataclass(frozen=True)
class Network:
    """Eligible task -> node pairs of the whole snapshot, canonically ordered, costs rescaled."""

    task_ids: list[int]
    task_units: list[int]
    node_ids: list[int]
    node_free: list[int]
    node_prices: list[int]
    arc_task: IntArray
    arc_node: IntArray
    arc_cost: IntArray | None
    """Rescaled cost per arc, (price + surcharge - base) // gcd; None when beyond int64."""
    max_cost: int
    """The largest rescaled arc cost (exact)."""

    @property
    def num_arcs(self) -> int:
        return int(self.arc_task.size)


def build_network(snapshot: Snapshot) -> Network:
    """The arcs of every class in canonical order (class views), costs rescaled exactly."""
    views = class_views(snapshot)
    task_ids: list[int] = []
    task_units: list[int] = []
    task_k: list[int] = []
    task_node_offset: list[int] = []
    node_ids: list[int] = []
    node_free: list[int] = []
    node_prices: list[int] = []
    node_position: dict[int, int] = {}
    used_prices: list[int] = []
    for view in views:
        offset = len(node_ids)
        for position, node_id in enumerate(view.node_ids):
            node_position[node_id] = offset + position
        node_ids.extend(view.node_ids)
        node_free.extend(view.node_free)
        node_prices.extend(view.node_prices)
        task_ids.extend(view.task_ids)
        task_units.extend(view.task_units)
        task_k.extend(view.task_k)
        task_node_offset.extend([offset] * len(view.task_ids))
        used_prices.extend(view.node_prices[: max(view.task_k, default=0)])
    k = np.asarray(task_k, dtype=np.int64)
    total = int(k.sum()) if k.size else 0
    arc_task = np.repeat(np.arange(k.size, dtype=np.int64), k)
    arc_start = np.zeros(k.size, dtype=np.int64)
    if k.size:
        np.cumsum(k[:-1], out=arc_start[1:])
    arc_node = (
        np.arange(total, dtype=np.int64)
        - np.repeat(arc_start, k)
        + np.repeat(np.asarray(task_node_offset, dtype=np.int64), k)
    )
    # Surcharges of eligible pairs, by arc index.
    task_position = {task_id: j for j, task_id in enumerate(task_ids)}
    extra: dict[int, int] = {}
    for s in snapshot.surcharges:
        j = task_position.get(s.task)
        i = node_position.get(s.node)
        if j is None or i is None or s.wei == 0:
            continue
        rank = i - task_node_offset[j]
        if 0 <= rank < task_k[j]:
            extra[int(arc_start[j]) + rank] = s.wei
    # Exact rescaling: every served unit crosses one arc and the flow value is the maximum flow
    # whatever the costs, so a common base and a common divisor can be taken out of all costs.
    base_price = min(used_prices, default=0)
    base_extra = min(extra.values(), default=0) if len(extra) == total else 0
    divisor = 0
    for price in set(used_prices):
        divisor = math.gcd(divisor, price - base_price)
    for wei in extra.values():
        divisor = math.gcd(divisor, wei - base_extra)
    divisor = max(divisor, 1)
    scaled_price = [(p - base_price) // divisor for p in node_prices]
    scaled_extra = {arc: (wei - base_extra) // divisor for arc, wei in extra.items()}
    arc_node_list: list[int] | None = None
    max_cost = max((scaled_price[i] for i in _heads(task_k, task_node_offset)), default=0)
    if scaled_extra:
        arc_node_list = arc_node.tolist()
        max_cost = max(
            max_cost, *(scaled_price[arc_node_list[a]] + w for a, w in scaled_extra.items())
        )
    arc_cost: IntArray | None = None
    if max_cost <= INT64_MAX:
        # Nodes heading no arc (priced above every cap of their class) may have scaled prices
        # beyond int64; they are never indexed by arc_node, so clipping them is harmless.
        clipped = [min(price, INT64_MAX) for price in scaled_price]
        arc_cost = np.asarray(clipped, dtype=np.int64)[arc_node]
        if scaled_extra:
            where = np.fromiter(scaled_extra.keys(), dtype=np.int64, count=len(scaled_extra))
            add = np.fromiter(scaled_extra.values(), dtype=np.int64, count=len(scaled_extra))
            arc_cost[where] += add
    return Network(
        task_ids=task_ids,
        task_units=task_units,
        node_ids=node_ids,
        node_free=node_free,
        node_prices=node_prices,
        arc_task=arc_task,
        arc_node=arc_node,
        arc_cost=arc_cost,
        max_cost=max_cost,
    )


def _heads(task_k: Sequence[int], task_node_offset: Sequence[int]) -> list[int]:
    """Positions of the nodes heading at least one arc (the longest prefix of each class)."""
    longest: dict[int, int] = {}
    for k, offset in zip(task_k, task_node_offset, strict=True):
        longest[offset] = max(longest.get(offset, 0), k)
    return [offset + r for offset, k in longest.items() for r in range(k)]


def allocation_from_flows(
    snapshot: Snapshot, net: Network, flows: npt.NDArray[np.int64]
) -> Allocation:
    """The allocation an integral flow (one value per arc) stands for."""
    used = np.flatnonzero(flows > 0)
    tasks = net.arc_task[used].tolist()
    nodes = net.arc_node[used].tolist()
    rows = [
        (net.task_ids[t], net.node_ids[i], f, net.node_prices[i])
        for t, i, f in zip(tasks, nodes, flows[used].tolist(), strict=True)
    ]
    return allocation_from_rows(snapshot, rows)
