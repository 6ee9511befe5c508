"""The allocation snapshot read from the contracts at one fixed block.

Every committee member reads the same block, so every member builds the same snapshot: nodes in
id order with their free units and price, and the Open tasks that still have pending units. The
contract handles are duck-typed (ape ``ContractInstance`` or anything with the same views), so
this module imports no chain library. `snapshot_from_mirror` builds the same snapshot from the
event mirror.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from oracle.allocation import Node, Snapshot, Task

if TYPE_CHECKING:
    from oracle.chain.mirror import Mirror

# NodeRegistry.Status, by value
NODE_STATUS = ("none", "active", "throttled", "failed", "exiting", "exited")
TASK_OPEN = 1


def class_label(resource_class: bytes) -> str:
    """The snapshot's name of a resource class: its bytes32 key as 0x-hex."""
    return "0x" + bytes(resource_class).hex()


def read_snapshot(
    registry: Any, market: Any, block: int, task_ids: Iterable[int] | None = None
) -> Snapshot:
    """Nodes and pending tasks as they stood at `block` (only `task_ids` when given)."""
    at = {"block_identifier": block}
    nodes = []
    classes = set()
    for node_id in range(1, int(registry.nodeCount(**at)) + 1):
        node = registry.getNode(node_id, **at)
        label = class_label(node.resourceClass)
        classes.add(label)
        nodes.append(
            Node(
                id=node_id,
                resource_class=label,
                free_units=int(node.capacity) - int(node.reserved),
                price=int(node.pricePerUnitHour),
                status=NODE_STATUS[int(node.status)],
            )
        )
    tasks = []
    wanted = range(1, int(market.taskCount(**at)) + 1) if task_ids is None else task_ids
    for task_id in wanted:
        task = market.getTask(task_id, **at)
        if int(task.status) != TASK_OPEN or int(task.pendingUnits) == 0:
            continue
        label = class_label(task.resourceClass)
        classes.add(label)
        tasks.append(
            Task(
                id=task_id,
                resource_class=label,
                units=int(task.pendingUnits),
                max_price=int(task.maxPricePerUnitHour),
            )
        )
    return Snapshot(classes=tuple(sorted(classes)), nodes=tuple(nodes), tasks=tuple(tasks))


def snapshot_from_mirror(mirror: Mirror, block: int, timestamp: int) -> Snapshot:
    """The same snapshot as `read_snapshot` at `block` (whose header has `timestamp`), built
    from the event mirror in a few SQL reads instead of one call per node and per task."""
    nodes = []
    classes = set()
    for node in mirror.nodes_at(block):
        label = class_label(node.resource_class)
        classes.add(label)
        nodes.append(
            Node(
                id=node.id,
                resource_class=label,
                free_units=node.free_units,
                price=node.price,
                status=NODE_STATUS[node.status],
            )
        )
    tasks = []
    for task in mirror.pending_tasks_at(block, timestamp):
        label = class_label(task.resource_class)
        classes.add(label)
        tasks.append(
            Task(id=task.id, resource_class=label, units=task.pending, max_price=task.max_price)
        )
    return Snapshot(classes=tuple(sorted(classes)), nodes=tuple(nodes), tasks=tuple(tasks))
