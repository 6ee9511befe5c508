"""The auditor's first step: check a published result against its snapshot (not optimality,
which is checked by re-solving)."""

from __future__ import annotations

from oracle.allocation.errors import DuplicateId, InvalidValue, UnknownClass, UnknownReference
from oracle.allocation.result import Allocation
from oracle.allocation.snapshot import Snapshot


def validate_allocation(snapshot: Snapshot, result: Allocation) -> None:
    """Check a result against its snapshot (an auditor's first step); raise on any violation.

    Checks: canonical order, one entry per pair, known ids, node active and of the task's class,
    price equal to the node's price and within the task's cap, node free units and task units
    respected, unmet units consistent. (Optimality is checked by re-solving.)
    """
    nodes = {n.id: n for n in snapshot.nodes}
    tasks = {t.id: t for t in snapshot.tasks}
    if list(result.entries) != sorted(result.entries):
        raise InvalidValue("entries", "...", "not sorted by (task, node)")
    used: dict[int, int] = {}
    served: dict[int, int] = {}
    seen: set[tuple[int, int]] = set()
    for e in result.entries:
        where = f"entry ({e.task}, {e.node})"
        if (e.task, e.node) in seen:
            raise DuplicateId(where, (e.task, e.node), "two entries for this pair")
        seen.add((e.task, e.node))
        task = tasks.get(e.task)
        node = nodes.get(e.node)
        if task is None:
            raise UnknownReference(f"{where}.task", e.task, "no task has this id")
        if node is None:
            raise UnknownReference(f"{where}.node", e.node, "no node has this id")
        if e.units <= 0:
            raise InvalidValue(f"{where}.units", e.units, "expected at least one unit")
        if node.status != "active":
            raise InvalidValue(f"{where}.node", node.status, "node is not active")
        if node.resource_class != task.resource_class:
            raise UnknownClass(f"{where}.class", node.resource_class, "differs from the task's")
        if e.price != node.price:
            raise InvalidValue(f"{where}.price", e.price, f"node price is {node.price}")
        if e.price > task.max_price:
            raise InvalidValue(f"{where}.price", e.price, f"above the cap {task.max_price}")
        used[e.node] = used.get(e.node, 0) + e.units
        served[e.task] = served.get(e.task, 0) + e.units
    for node_id, units in used.items():
        if units > nodes[node_id].free_units:
            raise InvalidValue(
                f"node {node_id}.units", units, f"above free units {nodes[node_id].free_units}"
            )
    unmet = {u.task: u.units for u in result.unmet}
    for task_id, task in tasks.items():
        got = served.get(task_id, 0)
        if got > task.units:
            raise InvalidValue(f"task {task_id}.served", got, f"above its units {task.units}")
        if unmet.get(task_id, 0) != task.units - got:
            raise InvalidValue(
                f"task {task_id}.unmet", unmet.get(task_id, 0), f"expected {task.units - got}"
            )
    for task_id in unmet:
        if task_id not in tasks:
            raise UnknownReference("unmet.task", task_id, "no task has this id")
