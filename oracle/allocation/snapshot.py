"""The allocation input: nodes, tasks, surcharges and the snapshot that validates them together.

JSON schema, snapshot (``verai.allocation.snapshot/1``)::

    {
      "schema": "verai.allocation.snapshot/1",
      "classes": ["GPU-A100-80G", ...],        # resource classes configured by governance
      "nodes": [{"id": "1", "class": "GPU-A100-80G", "free_units": 4,
                 "price": "1000000000000000", "status": "active"}, ...],
      "tasks": [{"id": "7", "class": "GPU-A100-80G", "units": 3,
                 "max_price": "2000000000000000"}, ...],
      "surcharges": [{"task": "7", "node": "1", "wei": "5000"}, ...]   # optional, default []
    }

    ``id``, ``price``, ``max_price``, ``wei`` (task and node ids, wei amounts) are uint256; they
    are written as decimal strings (JSON numbers above 2**53 lose precision in most parsers) and
    read from decimal strings or JSON integers. ``free_units`` and ``units`` are JSON integers in
    [0, 2**53). ``status`` is one of ``active``, ``throttled``, ``failed``, ``exiting``,
    ``exited`` (only ``active`` nodes are eligible). ``class`` is a non-empty printable-ASCII label
    of at most 66 characters (a name, or the ``0x`` hex of the on-chain bytes32) and must be listed
    in ``classes``. Node ids are unique, task ids are unique, surcharge pairs are unique and name a
    known task and node (a surcharge on a pair that is not eligible has no effect). Unknown keys
    are rejected.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from oracle.allocation.errors import (
    AllocationError,
    DuplicateId,
    InvalidValue,
    MalformedSnapshot,
    UnknownClass,
    UnknownReference,
)
from oracle.allocation.fields import check_class, check_uint256, check_units
from oracle.allocation.json_format import (
    at_path,
    canonical_json,
    expect_list,
    expect_object,
    json_uint256,
    json_units,
    load_json,
)

SNAPSHOT_SCHEMA = "verai.allocation.snapshot/1"
NODE_STATUSES = ("active", "throttled", "failed", "exiting", "exited")


@dataclass(frozen=True, slots=True)
class Node:
    """A compute node as seen at the snapshot block (units of its one resource class)."""

    id: int
    resource_class: str
    free_units: int
    price: int
    """VER wei per unit-hour."""
    status: str = "active"

    def __post_init__(self) -> None:
        check_uint256("node.id", self.id)
        where = f"node {self.id}"
        check_class(f"{where}.class", self.resource_class)
        check_units(f"{where}.free_units", self.free_units)
        check_uint256(f"{where}.price", self.price)
        if self.status not in NODE_STATUSES:
            raise InvalidValue(f"{where}.status", self.status, f"expected one of {NODE_STATUSES}")


@dataclass(frozen=True, slots=True)
class Task:
    """A pending task: ``units`` wanted of ``resource_class`` at no more than ``max_price``."""

    id: int
    resource_class: str
    units: int
    max_price: int
    """VER wei per unit-hour."""

    def __post_init__(self) -> None:
        check_uint256("task.id", self.id)
        where = f"task {self.id}"
        check_class(f"{where}.class", self.resource_class)
        check_units(f"{where}.units", self.units)
        check_uint256(f"{where}.max_price", self.max_price)


@dataclass(frozen=True, slots=True)
class Surcharge:
    """An extra per-unit-hour cost of serving ``task`` on ``node`` (objective only, not paid)."""

    task: int
    node: int
    wei: int

    def __post_init__(self) -> None:
        check_uint256("surcharge.task", self.task)
        check_uint256("surcharge.node", self.node)
        check_uint256(f"surcharge ({self.task}, {self.node}).wei", self.wei)


@dataclass(frozen=True)
class Snapshot:
    """The allocation input. Stored canonically: classes sorted, nodes and tasks by id,
    surcharges by (task, node); so two snapshots with the same content compare (and serialise)
    equal whatever order they were built in."""

    classes: tuple[str, ...]
    nodes: tuple[Node, ...]
    tasks: tuple[Task, ...]
    surcharges: tuple[Surcharge, ...] = ()

    def __post_init__(self) -> None:
        classes = tuple(self.classes)
        for index, name in enumerate(classes):
            check_class(f"classes[{index}]", name)
        known = set(classes)
        if len(known) != len(classes):
            duplicate = next(c for c in classes if classes.count(c) > 1)
            raise DuplicateId("classes", duplicate, "class listed twice")
        for kind, expected, given in (
            ("nodes", Node, self.nodes),
            ("tasks", Task, self.tasks),
            ("surcharges", Surcharge, self.surcharges),
        ):
            for item in given:
                if not isinstance(item, expected):
                    raise InvalidValue(kind, item, f"expected a {expected.__name__}")
        nodes = tuple(sorted(self.nodes, key=_by_id))
        tasks = tuple(sorted(self.tasks, key=_by_id))
        surcharges = tuple(sorted(self.surcharges, key=lambda s: (s.task, s.node)))
        items: tuple[Node, ...] | tuple[Task, ...]
        for kind, items in (("node", nodes), ("task", tasks)):
            ids = [item.id for item in items]
            for previous, current in itertools.pairwise(ids):
                if previous == current:
                    raise DuplicateId(f"{kind}.id", current, f"two {kind}s have this id")
            for item in items:
                if item.resource_class not in known:
                    raise UnknownClass(
                        f"{kind} {item.id}.class", item.resource_class, "not listed in classes"
                    )
        node_ids = {n.id for n in nodes}
        task_ids = {t.id for t in tasks}
        for previous_s, current_s in itertools.pairwise(surcharges):
            if (previous_s.task, previous_s.node) == (current_s.task, current_s.node):
                raise DuplicateId(
                    "surcharge", (current_s.task, current_s.node), "two surcharges for this pair"
                )
        for s in surcharges:
            if s.task not in task_ids:
                raise UnknownReference("surcharge.task", s.task, "no task has this id")
            if s.node not in node_ids:
                raise UnknownReference("surcharge.node", s.node, "no node has this id")
        object.__setattr__(self, "classes", tuple(sorted(classes)))
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "surcharges", surcharges)

    # ---------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The schema document (this module's docstring)."""
        return {
            "schema": SNAPSHOT_SCHEMA,
            "classes": list(self.classes),
            "nodes": [
                {
                    "id": str(n.id),
                    "class": n.resource_class,
                    "free_units": n.free_units,
                    "price": str(n.price),
                    "status": n.status,
                }
                for n in self.nodes
            ],
            "tasks": [
                {
                    "id": str(t.id),
                    "class": t.resource_class,
                    "units": t.units,
                    "max_price": str(t.max_price),
                }
                for t in self.tasks
            ],
            "surcharges": [
                {"task": str(s.task), "node": str(s.node), "wei": str(s.wei)}
                for s in self.surcharges
            ],
        }

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace; equal snapshots give equal bytes."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, document: object) -> Snapshot:
        """Parse and validate a schema document; errors name the JSON path and the value."""
        doc = expect_object(
            "snapshot", document, ("schema", "classes", "nodes", "tasks"), ("surcharges",)
        )
        if doc["schema"] != SNAPSHOT_SCHEMA:
            raise MalformedSnapshot("schema", doc["schema"], f"expected {SNAPSHOT_SCHEMA!r}")
        classes = expect_list("classes", doc["classes"])
        node_docs = expect_list("nodes", doc["nodes"])
        task_docs = expect_list("tasks", doc["tasks"])
        surcharge_docs = expect_list("surcharges", doc.get("surcharges", []))
        nodes = [_node_from_json(f"nodes[{i}]", raw) for i, raw in enumerate(node_docs)]
        tasks = [_task_from_json(f"tasks[{i}]", raw) for i, raw in enumerate(task_docs)]
        surcharges = []
        for index, raw in enumerate(surcharge_docs):
            where = f"surcharges[{index}]"
            item = expect_object(where, raw, ("task", "node", "wei"))
            surcharges.append(
                Surcharge(
                    task=json_uint256(f"{where}.task", item["task"]),
                    node=json_uint256(f"{where}.node", item["node"]),
                    wei=json_uint256(f"{where}.wei", item["wei"]),
                )
            )
        return cls(
            classes=tuple(check_class(f"classes[{i}]", c) for i, c in enumerate(classes)),
            nodes=tuple(nodes),
            tasks=tuple(tasks),
            surcharges=tuple(surcharges),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Snapshot:
        return cls.from_dict(load_json("snapshot", text))


def _by_id(item: Node | Task) -> int:
    return item.id


def _node_from_json(where: str, raw: object) -> Node:
    item = expect_object(where, raw, ("id", "class", "free_units", "price", "status"))
    try:
        return Node(
            id=json_uint256(f"{where}.id", item["id"]),
            resource_class=item["class"],
            free_units=json_units(f"{where}.free_units", item["free_units"]),
            price=json_uint256(f"{where}.price", item["price"]),
            status=item["status"],
        )
    except AllocationError as exc:
        raise at_path(where, exc) from exc


def _task_from_json(where: str, raw: object) -> Task:
    item = expect_object(where, raw, ("id", "class", "units", "max_price"))
    try:
        return Task(
            id=json_uint256(f"{where}.id", item["id"]),
            resource_class=item["class"],
            units=json_units(f"{where}.units", item["units"]),
            max_price=json_uint256(f"{where}.max_price", item["max_price"]),
        )
    except AllocationError as exc:
        raise at_path(where, exc) from exc
