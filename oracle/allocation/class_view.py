"""One resource class in the canonical order of the tie-break rule (package docstring): eligible
nodes by ``(price, id)``, tasks by ``(number of eligible nodes, id)``. The structured greedy walks
these lists; the mcf and lp paths build their network from them, so no path depends on input
order."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from oracle.allocation.snapshot import Node, Snapshot, Task


@dataclass(frozen=True)
class ClassView:
    """One class in canonical order: eligible nodes by (price, id), tasks by (k, id)."""

    node_ids: list[int]
    node_free: list[int]
    node_prices: list[int]
    task_ids: list[int]
    task_units: list[int]
    task_k: list[int]
    """Number of eligible nodes of each task (a prefix of the node list), non-decreasing."""


def class_views(snapshot: Snapshot) -> list[ClassView]:
    """The classes with at least one task and one eligible node, by class name."""
    nodes_by_class: dict[str, list[Node]] = {}
    for n in snapshot.nodes:
        if n.status == "active" and n.free_units > 0:
            nodes_by_class.setdefault(n.resource_class, []).append(n)
    tasks_by_class: dict[str, list[Task]] = {}
    for t in snapshot.tasks:
        if t.units > 0:
            tasks_by_class.setdefault(t.resource_class, []).append(t)
    views = []
    for name in sorted(tasks_by_class):
        nodes = nodes_by_class.get(name, [])
        if not nodes:
            continue
        nodes.sort(key=lambda n: (n.price, n.id))
        prices = [n.price for n in nodes]
        tasks = tasks_by_class[name]
        ks = [bisect.bisect_right(prices, t.max_price) for t in tasks]
        order = sorted(range(len(tasks)), key=lambda j: (ks[j], tasks[j].id))
        views.append(
            ClassView(
                node_ids=[n.id for n in nodes],
                node_free=[n.free_units for n in nodes],
                node_prices=prices,
                task_ids=[tasks[j].id for j in order],
                task_units=[tasks[j].units for j in order],
                task_k=[ks[j] for j in order],
            )
        )
    return views
