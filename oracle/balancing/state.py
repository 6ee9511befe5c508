"""The balancer's input: nodes, assignments and θ, validated together into a :class:`LoadState`.

The state also keeps a columnar copy (numpy arrays, underscore fields) that the band and balancer
modules of this package read directly; it is built once, at construction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from oracle.balancing.errors import (
    DuplicateLoadId,
    InvalidLoadValue,
    OverCapacity,
    UnknownLoadReference,
)

BPS = 10_000
"""θ and deviations are in basis points of load."""
UINT256_MAX = 2**256 - 1
UNITS_MAX = 2**53 - 1
NODE_STATUSES = ("active", "throttled", "failed", "exiting", "exited")

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def check_int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidLoadValue(field, value, "expected an integer")
    if value < low or value > high:
        raise InvalidLoadValue(field, value, f"out of range: expected {low} <= value <= {high}")
    return value


@dataclass(frozen=True, slots=True)
class LoadNode:
    id: int
    resource_class: str
    capacity: int
    """Total units of the class on this node (at least 1)."""
    status: str = "active"

    def __post_init__(self) -> None:
        check_int("node.id", self.id, 0, UINT256_MAX)
        if not isinstance(self.resource_class, str) or not self.resource_class:
            raise InvalidLoadValue(f"node {self.id}.class", self.resource_class, "expected a name")
        check_int(f"node {self.id}.capacity", self.capacity, 1, UNITS_MAX)
        if self.status not in NODE_STATUSES:
            raise InvalidLoadValue(
                f"node {self.id}.status", self.status, f"expected one of {NODE_STATUSES}"
            )


@dataclass(frozen=True, slots=True)
class Assignment:
    """``units`` of ``task`` running on ``node``; ``id`` is the on-chain assignment id."""

    id: int
    task: int
    node: int
    units: int

    def __post_init__(self) -> None:
        check_int("assignment.id", self.id, 0, UINT256_MAX)
        check_int(f"assignment {self.id}.task", self.task, 0, UINT256_MAX)
        check_int(f"assignment {self.id}.node", self.node, 0, UINT256_MAX)
        check_int(f"assignment {self.id}.units", self.units, 1, UNITS_MAX)


class IdColumn:
    """Ids (uint256) by position: an int64 array when they all fit (fast gathers), else a
    tuple of Python integers."""

    __slots__ = ("_array", "_values")

    def __init__(self, values: list[int]) -> None:
        self._values = tuple(values)
        self._array: IntArray | None = None
        if not values or max(values) < 2**63:
            self._array = np.asarray(values, dtype=np.int64)

    def take(self, positions: IntArray) -> list[int]:
        if self._array is not None:
            taken: list[int] = self._array[positions].tolist()
            return taken
        return [self._values[p] for p in positions.tolist()]


@dataclass(frozen=True)
class LoadState:
    """Nodes, assignments and θ; stored canonically (nodes and assignments sorted by id).

    Construction validates everything and keeps a columnar copy (numpy) for the balancer."""

    nodes: tuple[LoadNode, ...]
    assignments: tuple[Assignment, ...]
    theta_bps: int
    _cap: IntArray = field(init=False, repr=False, compare=False)
    _active: BoolArray = field(init=False, repr=False, compare=False)
    _class_code: IntArray = field(init=False, repr=False, compare=False)
    _class_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _asg_node: IntArray = field(init=False, repr=False, compare=False)
    _asg_units: IntArray = field(init=False, repr=False, compare=False)
    _node_ids: IdColumn = field(init=False, repr=False, compare=False)
    _asg_ids: IdColumn = field(init=False, repr=False, compare=False)
    _asg_tasks: IdColumn = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_int("theta_bps", self.theta_bps, 0, BPS)
        for kind, expected, given in (
            ("nodes", LoadNode, self.nodes),
            ("assignments", Assignment, self.assignments),
        ):
            for item in given:
                if not isinstance(item, expected):
                    raise InvalidLoadValue(kind, item, f"expected a {expected.__name__}")
        nodes = tuple(sorted(self.nodes, key=_item_id))
        assignments = tuple(sorted(self.assignments, key=_item_id))
        ids = ([n.id for n in nodes], [a.id for a in assignments])
        for kind, sorted_ids in zip(("node.id", "assignment.id"), ids, strict=True):
            for previous, current in itertools.pairwise(sorted_ids):
                if previous == current:
                    raise DuplicateLoadId(kind, current, "two items have this id")
        position = {n.id: i for i, n in enumerate(nodes)}
        try:
            asg_node = [position[a.node] for a in assignments]
        except KeyError:
            bad = next(a for a in assignments if a.node not in position)
            raise UnknownLoadReference(
                f"assignment {bad.id}.node", bad.node, "no such node"
            ) from None
        cap = np.fromiter((n.capacity for n in nodes), dtype=np.int64, count=len(nodes))
        units = np.fromiter((a.units for a in assignments), dtype=np.int64, count=len(assignments))
        asg_node_array = np.asarray(asg_node, dtype=np.int64)
        used = used_per_node(asg_node_array, units, len(nodes))
        over = np.flatnonzero(used > cap)
        if over.size:
            i = int(over[0])
            raise OverCapacity(
                f"node {nodes[i].id}.used", int(used[i]), f"above its capacity {nodes[i].capacity}"
            )
        names = tuple(sorted({n.resource_class for n in nodes}))
        code = {name: k for k, name in enumerate(names)}
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "assignments", assignments)
        object.__setattr__(self, "_cap", cap)
        object.__setattr__(
            self, "_active", np.fromiter((n.status == "active" for n in nodes), dtype=bool)
        )
        object.__setattr__(
            self,
            "_class_code",
            np.fromiter((code[n.resource_class] for n in nodes), dtype=np.int64, count=len(nodes)),
        )
        object.__setattr__(self, "_class_names", names)
        object.__setattr__(self, "_asg_node", asg_node_array)
        object.__setattr__(self, "_asg_units", units)
        object.__setattr__(self, "_node_ids", IdColumn(ids[0]))
        object.__setattr__(self, "_asg_ids", IdColumn(ids[1]))
        object.__setattr__(self, "_asg_tasks", IdColumn([a.task for a in assignments]))

    def used(self) -> dict[int, int]:
        """Units in use per node id (every node present)."""
        used = used_per_node(self._asg_node, self._asg_units, len(self.nodes)).tolist()
        return {n.id: u for n, u in zip(self.nodes, used, strict=True)}


def _item_id(item: LoadNode | Assignment) -> int:
    return item.id


def used_per_node(asg_node: IntArray, units: IntArray, n: int) -> IntArray:
    # float64 weights are exact: every per-node sum is at most a capacity < 2**53.
    return np.bincount(asg_node, weights=units, minlength=n).astype(np.int64)
