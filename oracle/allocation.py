"""Allocation of pending tasks to compute nodes: exact, deterministic, integer-only.

The oracle committee turns a snapshot of the network (nodes with free capacity and a price, tasks
with a number of units and a price cap) into a list of entries ``(task, node, units, price)``. Every
committee member must compute the same bytes, and anyone must be able to re-solve a published
round, so the answer is a pure function of the snapshot.

Problem
    minimise  sum c_ij * x_ij
    s.t.      sum_i x_ij <= units_j        (task j is served at most what it asked for)
              sum_j x_ij <= free_units_i   (node i gives at most its free capacity)
              x_ij >= 0, integer, and x_ij > 0 only for eligible pairs

    A pair (task j, node i) is eligible when the node's status is ``active``, both have the same
    resource class and the node's price is within the task's cap (``price_i <= max_price_j``). The
    cost is ``c_ij = price_i`` (plus ``surcharge_ij`` on the general path, see below). Among all
    solutions the allocator first serves the **maximum number of units** and then, among those,
    reaches the **minimum cost**; whatever cannot be served is reported as unmet units per task
    (never an exception). The seed's one-demand LP is the special case of one task with no cap.

Three paths, one contract (same served units, same optimal cost)
    ``structured`` (default)
        With cost = node price, the eligible node set of a task is a prefix of the node list sorted
        by price, and prefixes are nested. Serving tasks from the smallest eligible set to the
        largest, each from the cheapest free units, is optimal; every task is fully served exactly
        when Hall's prefix condition holds (for every task in that order, the demand of it and of
        the tasks before it fits in the free units of its prefix). O((n + m) log n) per class,
        vectorised with numpy (a cumulative-minimum recurrence and two ``searchsorted`` calls),
        with a pure-Python twin that takes over when sums do not fit int64. Exact in Python
        integers for prices up to 2**256 - 1.
    ``mcf``
        OR-tools ``SimpleMinCostFlow.solve_max_flow_with_min_cost`` (integer cost scaling) on the
        bipartite network task -> node. Needed when costs depend on the pair: the snapshot's
        ``surcharges`` add a per-pair, per-unit-hour term (latency, energy weight ...) to the
        objective; the price paid stays the node's price. Costs are rescaled exactly first: every
        served unit crosses exactly one task -> node arc and the number of served units is the
        maximum flow F whatever the costs, so subtracting a common base b from every arc cost and
        dividing by the gcd g of what remains changes the objective to (cost - b * F) / g and keeps
        the same optimal flows. What still does not fit OR-tools' int64 range (it multiplies costs
        by the number of graph nodes + 1) is refused with :class:`CostOverflow`.
    ``lp``
        The seed's LP generalised to the transportation problem, on
        ``scipy.optimize.linprog(method="highs-ipm")`` (interior point followed by HiGHS'
        crossover, so the answer is a vertex) with ``scipy.sparse`` matrices. A first LP demands
        full service; if that is infeasible, a max-flow LP finds F and a second LP minimises cost
        with the served units fixed to F. The constraint matrix is a network matrix, so vertices
        are integral: the solution is rounded and checked (fractional values raise
        :class:`SolverFailed`). The audit reference, not the hot path. Works in float64, so the
        rescaled costs must stay below 2**53 (else :class:`CostOverflow`).

Canonical tie-break (the ``structured`` path's output is defined by this rule)
    Classes are independent. Within a class, eligible nodes (``active``, ``free_units > 0``) are
    ordered by ``(price, node id)`` ascending; tasks are served one after the other in ascending
    order of ``(number of eligible nodes, task id)`` (eligible sets are nested prefixes, so a task
    with fewer eligible nodes has a subset of the others'; equal sets are served by lower, i.e.
    earlier, task id first); each task takes units from the front of that node list, skipping
    units already taken, until it has what it asked for or its prefix is exhausted. The ``mcf``
    and ``lp`` paths reach the same served units and cost; when several optima exist they may pick
    another one, but always the same one for the same snapshot: both build their network from the
    canonically ordered snapshot, so their output too does not depend on input order (for a
    pinned solver version).

Output order
    Entries are sorted by ``(task id, node id)``, with at most one entry per pair; unmet lists the
    tasks with unmet units > 0 sorted by task id. ``Allocation.to_json()`` is canonical (sorted
    keys, no spaces), so equal results have equal bytes.

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

JSON schema, result (``verai.allocation.result/1``)::

    {
      "schema": "verai.allocation.result/1",
      "entries": [{"task": "7", "node": "1", "units": 3, "price": "1000000000000000"}, ...],
      "unmet": [{"task": "9", "units": 2}, ...],
      "cost": "3000000000000000"          # sum of units * price over the entries, in wei per hour
    }
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from oracle.errors import OracleError

__all__ = [
    "NODE_STATUSES",
    "PATHS",
    "RESULT_SCHEMA",
    "SNAPSHOT_SCHEMA",
    "Allocation",
    "AllocationError",
    "CostOverflow",
    "DuplicateId",
    "Entry",
    "InvalidValue",
    "LpRelaxation",
    "MalformedSnapshot",
    "Node",
    "Path",
    "PathNotApplicable",
    "Snapshot",
    "SolverFailed",
    "Surcharge",
    "Task",
    "UnitsOverflow",
    "UnknownClass",
    "UnknownReference",
    "Unmet",
    "allocate",
    "serve_single_demand",
    "solve_lp_relaxation",
    "validate_allocation",
]

SNAPSHOT_SCHEMA = "verai.allocation.snapshot/1"
RESULT_SCHEMA = "verai.allocation.result/1"
NODE_STATUSES = ("active", "throttled", "failed", "exiting", "exited")
Path = Literal["structured", "mcf", "lp"]
PATHS: tuple[Path, ...] = ("structured", "mcf", "lp")

UINT256_MAX = 2**256 - 1
UNITS_MAX = 2**53 - 1
_INT64_MAX = 2**63 - 1
# Sums of units stay below this bound on the numpy path (cumulative sums are int64).
_NUMPY_SUM_LIMIT = 2**62
_FLOAT_EXACT = 2**53
_CLASS_MAX_LEN = 66

IntArray = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------- errors
class AllocationError(OracleError):
    """Malformed allocation input, or a problem a solver path cannot take; names field and value."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class InvalidValue(AllocationError):
    """A field has the wrong type or is out of range (negative units, price beyond uint256 ...)."""


class DuplicateId(AllocationError):
    """Two nodes, two tasks or two surcharges share an id (or a task/node pair)."""


class UnknownClass(AllocationError):
    """A node or task names a resource class that is not in the snapshot's ``classes``."""


class UnknownReference(AllocationError):
    """A surcharge (or a result entry) names a task or node that is not in the snapshot."""


class MalformedSnapshot(AllocationError):
    """The JSON document does not follow the schema (not JSON, missing or unknown key ...)."""


class PathNotApplicable(AllocationError):
    """The requested solver path cannot solve this snapshot (structured path with surcharges)."""


class CostOverflow(AllocationError):
    """Costs, even after exact rescaling, exceed what the solver's number type holds."""


class UnitsOverflow(AllocationError):
    """Sums of units exceed what the solver's number type holds."""


class SolverFailed(AllocationError):
    """A solver returned no optimal integral answer (time limit, numerical trouble)."""


# ------------------------------------------------------------------------------------ validation
def _check_int(field: str, value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, value, f"expected an integer ({what})")
    if value < low or value > high:
        raise InvalidValue(field, value, f"out of range: expected {what}")
    return value


def _check_uint256(field: str, value: object) -> int:
    return _check_int(field, value, 0, UINT256_MAX, "0 <= value < 2**256")


def _check_units(field: str, value: object) -> int:
    return _check_int(field, value, 0, UNITS_MAX, "0 <= units < 2**53")


def _check_class(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, value, "expected a string")
    if not value or len(value) > _CLASS_MAX_LEN or not value.isascii() or not value.isprintable():
        raise InvalidValue(
            field, value, f"expected 1 to {_CLASS_MAX_LEN} printable ASCII characters"
        )
    return value


# ------------------------------------------------------------------------------------ input data
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
        _check_uint256("node.id", self.id)
        where = f"node {self.id}"
        _check_class(f"{where}.class", self.resource_class)
        _check_units(f"{where}.free_units", self.free_units)
        _check_uint256(f"{where}.price", self.price)
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
        _check_uint256("task.id", self.id)
        where = f"task {self.id}"
        _check_class(f"{where}.class", self.resource_class)
        _check_units(f"{where}.units", self.units)
        _check_uint256(f"{where}.max_price", self.max_price)


@dataclass(frozen=True, slots=True)
class Surcharge:
    """An extra per-unit-hour cost of serving ``task`` on ``node`` (objective only, not paid)."""

    task: int
    node: int
    wei: int

    def __post_init__(self) -> None:
        _check_uint256("surcharge.task", self.task)
        _check_uint256("surcharge.node", self.node)
        _check_uint256(f"surcharge ({self.task}, {self.node}).wei", self.wei)


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
            _check_class(f"classes[{index}]", name)
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
        """The schema document (see the module docstring)."""
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
        return _canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, document: object) -> Snapshot:
        """Parse and validate a schema document; errors name the JSON path and the value."""
        doc = _expect_object(
            "snapshot", document, ("schema", "classes", "nodes", "tasks"), ("surcharges",)
        )
        if doc["schema"] != SNAPSHOT_SCHEMA:
            raise MalformedSnapshot("schema", doc["schema"], f"expected {SNAPSHOT_SCHEMA!r}")
        classes = _expect_list("classes", doc["classes"])
        node_docs = _expect_list("nodes", doc["nodes"])
        task_docs = _expect_list("tasks", doc["tasks"])
        surcharge_docs = _expect_list("surcharges", doc.get("surcharges", []))
        nodes = [_node_from_json(f"nodes[{i}]", raw) for i, raw in enumerate(node_docs)]
        tasks = [_task_from_json(f"tasks[{i}]", raw) for i, raw in enumerate(task_docs)]
        surcharges = []
        for index, raw in enumerate(surcharge_docs):
            where = f"surcharges[{index}]"
            item = _expect_object(where, raw, ("task", "node", "wei"))
            surcharges.append(
                Surcharge(
                    task=_json_uint256(f"{where}.task", item["task"]),
                    node=_json_uint256(f"{where}.node", item["node"]),
                    wei=_json_uint256(f"{where}.wei", item["wei"]),
                )
            )
        return cls(
            classes=tuple(_check_class(f"classes[{i}]", c) for i, c in enumerate(classes)),
            nodes=tuple(nodes),
            tasks=tuple(tasks),
            surcharges=tuple(surcharges),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Snapshot:
        return cls.from_dict(_load_json("snapshot", text))


def _by_id(item: Node | Task) -> int:
    return item.id


# ------------------------------------------------------------------------------------ output data
@dataclass(frozen=True, slots=True, order=True)
class Entry:
    """``units`` of ``task`` run on ``node`` at the node's ``price`` (wei per unit-hour)."""

    task: int
    node: int
    units: int
    price: int


@dataclass(frozen=True, slots=True, order=True)
class Unmet:
    task: int
    units: int


@dataclass(frozen=True)
class Allocation:
    """The result: entries sorted by (task, node), unmet units of the tasks not fully served."""

    entries: tuple[Entry, ...]
    unmet: tuple[Unmet, ...] = field(default=())

    @property
    def cost(self) -> int:
        """Total price of the allocation, wei per hour (sum of units * price)."""
        return sum(e.units * e.price for e in self.entries)

    @property
    def served_units(self) -> int:
        return sum(e.units for e in self.entries)

    def served(self) -> dict[int, int]:
        """Units served per task id (tasks with no entry are absent)."""
        out: dict[int, int] = {}
        for e in self.entries:
            out[e.task] = out.get(e.task, 0) + e.units
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "entries": [
                {"task": str(e.task), "node": str(e.node), "units": e.units, "price": str(e.price)}
                for e in self.entries
            ],
            "unmet": [{"task": str(u.task), "units": u.units} for u in self.unmet],
            "cost": str(self.cost),
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace): the bytes the committee agrees on."""
        return _canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, document: object) -> Allocation:
        doc = _expect_object("result", document, ("schema", "entries", "unmet", "cost"))
        if doc["schema"] != RESULT_SCHEMA:
            raise MalformedSnapshot("schema", doc["schema"], f"expected {RESULT_SCHEMA!r}")
        entries = []
        for index, raw in enumerate(_expect_list("entries", doc["entries"])):
            where = f"entries[{index}]"
            item = _expect_object(where, raw, ("task", "node", "units", "price"))
            entries.append(
                Entry(
                    task=_json_uint256(f"{where}.task", item["task"]),
                    node=_json_uint256(f"{where}.node", item["node"]),
                    units=_json_units(f"{where}.units", item["units"]),
                    price=_json_uint256(f"{where}.price", item["price"]),
                )
            )
        unmet = []
        for index, raw in enumerate(_expect_list("unmet", doc["unmet"])):
            where = f"unmet[{index}]"
            item = _expect_object(where, raw, ("task", "units"))
            unmet.append(
                Unmet(
                    task=_json_uint256(f"{where}.task", item["task"]),
                    units=_json_units(f"{where}.units", item["units"]),
                )
            )
        result = cls(entries=tuple(entries), unmet=tuple(unmet))
        if result.entries != tuple(sorted(result.entries)):
            raise MalformedSnapshot("entries", "...", "not sorted by (task, node)")
        if result.unmet != tuple(sorted(result.unmet)):
            raise MalformedSnapshot("unmet", "...", "not sorted by task")
        cost = _json_uint256("cost", doc["cost"])
        if cost != result.cost:
            raise MalformedSnapshot("cost", cost, f"entries add up to {result.cost}")
        return result

    @classmethod
    def from_json(cls, text: str | bytes) -> Allocation:
        return cls.from_dict(_load_json("result", text))


# ------------------------------------------------------------------------------------ JSON helpers
def _canonical_json(document: object) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _load_json(what: str, text: str | bytes) -> object:
    try:
        return cast(object, json.loads(text))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedSnapshot(what, _short(text), f"not valid JSON ({exc})") from exc


def _short(text: str | bytes) -> str:
    shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _expect_object(
    where: str, value: object, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedSnapshot(where, value, "expected a JSON object")
    for key in required:
        if key not in value:
            raise MalformedSnapshot(f"{where}.{key}", None, "missing")
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            raise MalformedSnapshot(f"{where}.{key}", value[key], "unknown key")
    return cast(dict[str, Any], value)


def _expect_list(where: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedSnapshot(where, value, "expected a JSON array")
    return value


def _json_uint256(where: str, value: object) -> int:
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
            raise InvalidValue(
                where, value, "expected a decimal integer string (no sign, no 0 pad)"
            )
        if len(value) > 78 or int(value) > UINT256_MAX:
            raise InvalidValue(where, value, "out of range: expected 0 <= value < 2**256")
        return int(value)
    return _check_uint256(where, value)


def _json_units(where: str, value: object) -> int:
    return _check_units(where, value)


def _node_from_json(where: str, raw: object) -> Node:
    item = _expect_object(where, raw, ("id", "class", "free_units", "price", "status"))
    try:
        return Node(
            id=_json_uint256(f"{where}.id", item["id"]),
            resource_class=item["class"],
            free_units=_json_units(f"{where}.free_units", item["free_units"]),
            price=_json_uint256(f"{where}.price", item["price"]),
            status=item["status"],
        )
    except AllocationError as exc:
        raise _at(where, exc) from exc


def _task_from_json(where: str, raw: object) -> Task:
    item = _expect_object(where, raw, ("id", "class", "units", "max_price"))
    try:
        return Task(
            id=_json_uint256(f"{where}.id", item["id"]),
            resource_class=item["class"],
            units=_json_units(f"{where}.units", item["units"]),
            max_price=_json_uint256(f"{where}.max_price", item["max_price"]),
        )
    except AllocationError as exc:
        raise _at(where, exc) from exc


def _at(where: str, exc: AllocationError) -> AllocationError:
    """The same error with its field re-rooted at a JSON path (``nodes[3].free_units``)."""
    name = exc.field.rsplit(".", 1)[-1]
    return type(exc)(f"{where}.{name}", exc.value, exc.problem)


# ------------------------------------------------------------------------------------ entry point
def allocate(
    snapshot: Snapshot, path: Path | None = None, *, lp_time_limit: float | None = None
) -> Allocation:
    """Allocate the snapshot's tasks (see the module docstring for the problem and the rule).

    ``path`` defaults to ``structured``, or ``mcf`` when the snapshot has surcharges.
    ``lp_time_limit`` (seconds) bounds the HiGHS run of the ``lp`` path (audit use only).
    """
    if path is None:
        path = "mcf" if snapshot.surcharges else "structured"
    if path == "structured":
        if snapshot.surcharges:
            raise PathNotApplicable(
                "path",
                path,
                "the snapshot has pair surcharges; costs are not the node price alone "
                "(use path 'mcf' or 'lp')",
            )
        return _allocate_structured(snapshot)
    if path == "mcf":
        return _allocate_mcf(snapshot)
    if path == "lp":
        return _allocate_lp(snapshot, lp_time_limit)
    raise InvalidValue("path", path, f"expected one of {PATHS}")


def _finish(snapshot: Snapshot, served: Iterable[tuple[int, int, int, int]]) -> Allocation:
    """Entries from (task id, node id, units, price) rows; merges nothing, sorts canonically."""
    entries = tuple(sorted(Entry(t, n, u, p) for t, n, u, p in served if u > 0))
    got: dict[int, int] = {}
    for e in entries:
        got[e.task] = got.get(e.task, 0) + e.units
    unmet = tuple(
        Unmet(t.id, t.units - got.get(t.id, 0))
        for t in snapshot.tasks
        if t.units > got.get(t.id, 0)
    )
    return Allocation(entries=entries, unmet=unmet)


# ------------------------------------------------------------------------------------ structured
@dataclass(frozen=True)
class _ClassView:
    """One class in canonical order: eligible nodes by (price, id), tasks by (k, id)."""

    node_ids: list[int]
    node_free: list[int]
    node_prices: list[int]
    task_ids: list[int]
    task_units: list[int]
    task_k: list[int]
    """Number of eligible nodes of each task (a prefix of the node list), non-decreasing."""


def _class_views(snapshot: Snapshot) -> list[_ClassView]:
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
            _ClassView(
                node_ids=[n.id for n in nodes],
                node_free=[n.free_units for n in nodes],
                node_prices=prices,
                task_ids=[tasks[j].id for j in order],
                task_units=[tasks[j].units for j in order],
                task_k=[ks[j] for j in order],
            )
        )
    return views


def _allocate_structured(snapshot: Snapshot, *, use_numpy: bool | None = None) -> Allocation:
    rows: list[tuple[int, int, int, int]] = []
    for view in _class_views(snapshot):
        fits = sum(view.node_free) < _NUMPY_SUM_LIMIT and sum(view.task_units) < _NUMPY_SUM_LIMIT
        numpy_ok = fits if use_numpy is None else (use_numpy and fits)
        if numpy_ok:
            t_idx, n_idx, units = _serve_numpy(
                np.asarray(view.node_free, dtype=np.int64),
                np.asarray(view.task_k, dtype=np.int64),
                np.asarray(view.task_units, dtype=np.int64),
            )
            triples: Iterable[tuple[int, int, int]] = zip(
                t_idx.tolist(), n_idx.tolist(), units.tolist(), strict=True
            )
        else:
            triples = _serve_python(view.node_free, view.task_k, view.task_units)
        rows.extend(
            (view.task_ids[j], view.node_ids[i], u, view.node_prices[i]) for j, i, u in triples
        )
    return _finish(snapshot, rows)


def _serve_numpy(
    free: IntArray, k: IntArray, demand: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """The canonical greedy on arrays (nodes and tasks already in canonical order).

    Used units always form a prefix of the unit sequence (nodes in order, each node's units in a
    row): task j ends at U_j = min(U_{j-1} + d_j, C[k_j]) with C the cumulative free units. With
    D the cumulative demand, U_j - D_j = min(0, min_{i<=j} (C[k_i] - D_i)): a cumulative minimum.
    The unit line is then cut at every node and task boundary and each piece is labelled with its
    node and task by ``searchsorted``. Returns (task index, node index, units) per entry.
    """
    empty = np.zeros(0, dtype=np.int64)
    if demand.size == 0 or free.size == 0:
        return empty, empty, empty
    cum_free = np.zeros(free.size + 1, dtype=np.int64)
    np.cumsum(free, out=cum_free[1:])
    cum_demand = np.cumsum(demand)
    slack = np.minimum.accumulate(cum_free[k] - cum_demand)
    ends = cum_demand + np.minimum(slack, 0)
    total = int(ends[-1])
    if total == 0:
        return empty, empty, empty
    bounds = np.zeros(ends.size + 1, dtype=np.int64)
    bounds[1:] = ends
    cuts = np.concatenate((bounds[:-1], cum_free[1:-1]))
    cuts = np.unique(cuts[cuts < total])
    lengths = np.diff(np.append(cuts, total))
    node_index = np.searchsorted(cum_free, cuts, side="right") - 1
    task_index = np.searchsorted(bounds, cuts, side="right") - 1
    return task_index.astype(np.int64), node_index.astype(np.int64), lengths.astype(np.int64)


def _serve_python(
    free: Sequence[int], k: Sequence[int], demand: Sequence[int]
) -> list[tuple[int, int, int]]:
    """The canonical greedy in Python integers (the rule, spelled out; any magnitude)."""
    out: list[tuple[int, int, int]] = []
    node = 0
    left = free[0] if free else 0
    for j, want in enumerate(demand):
        while want > 0 and node < k[j]:
            take = min(want, left)
            out.append((j, node, take))
            want -= take
            left -= take
            if left == 0:
                node += 1
                left = free[node] if node < len(free) else 0
    return out


def serve_single_demand(prices: npt.ArrayLike, free_units: npt.ArrayLike, demand: int) -> IntArray:
    """The seed's problem (one demand, no cap) on arrays: units per node, in input order.

    Nodes are taken by (price, index) ascending, each to its capacity, until ``demand`` is
    covered; int64 arrays (prices and units must fit int64). The special case of the structured
    path with one task, computed by selection instead of a sort (O(n) expected): every node
    cheaper than the threshold price is taken whole, nodes at the threshold share the rest in
    index order. The oracle calls :func:`allocate`; the benchmark calls this to compare against
    the seed's ``linprog`` formulation on the same arrays.
    """
    price_array = np.asarray(prices, dtype=np.int64)
    free = np.asarray(free_units, dtype=np.int64)
    if price_array.shape != free.shape or price_array.ndim != 1:
        raise InvalidValue("free_units", free.shape, f"expected shape {price_array.shape}")
    if demand < 0:
        raise InvalidValue("demand", demand, "expected a non-negative integer")
    if free.size and int(free.min()) < 0:
        raise InvalidValue("free_units", int(free.min()), "expected non-negative units")
    served = np.zeros_like(free)
    if demand == 0 or free.size == 0:
        return served
    threshold, left = _weighted_threshold(price_array, free, demand)
    np.copyto(served, free, where=price_array < threshold)
    # Nodes at the threshold price share what is left, in index order.
    at = np.flatnonzero(price_array == threshold)
    at_free = free[at]
    before = np.cumsum(at_free) - at_free
    served[at] = np.clip(left - before, 0, at_free)
    return served


def _weighted_threshold(prices: IntArray, free: IntArray, demand: int) -> tuple[int, int]:
    """The price p* at which the cheapest units cover ``demand``, and the units still wanted
    from nodes priced exactly p* after taking every cheaper node whole (quickselect on a
    shrinking candidate set: O(n) expected, no full sort)."""
    total = int(free.sum())
    if demand >= total:
        return int(prices.max()), demand - int(free[prices < prices.max()].sum())
    if prices.size > 4096:
        bracketed = _bracket_threshold(prices, free, demand, total)
        if bracketed is not None:
            return bracketed
    candidate_prices, candidate_free = prices, free
    left = demand
    first = True
    while True:
        if candidate_prices.size <= 64:
            order = np.argsort(candidate_prices, kind="stable")
            sorted_prices = candidate_prices[order]
            reach = np.cumsum(candidate_free[order])
            k = int(np.searchsorted(reach, left, side="left"))
            threshold = int(sorted_prices[k])
            cheaper = int(candidate_free[candidate_prices < threshold].sum())
            return threshold, left - cheaper
        # First pivot at the quantile the demand suggests (it usually lands next to the answer),
        # then medians, which halve the candidates: linear in the worst case.
        k = candidate_prices.size // 2
        if first:
            share = left / max(1, int(candidate_free.sum()))
            k = min(candidate_prices.size - 1, int(share * candidate_prices.size))
            first = False
        pivot = int(np.partition(candidate_prices, k)[k])
        below = candidate_prices < pivot
        below_free = int(candidate_free[below].sum())
        if below_free >= left:
            candidate_prices, candidate_free = candidate_prices[below], candidate_free[below]
            continue
        at_free = int(candidate_free[candidate_prices == pivot].sum())
        if below_free + at_free >= left:
            return pivot, left - below_free
        left -= below_free + at_free
        above = candidate_prices > pivot
        candidate_prices, candidate_free = candidate_prices[above], candidate_free[above]


def _bracket_threshold(
    prices: IntArray, free: IntArray, demand: int, total: int
) -> tuple[int, int] | None:
    """Fast path of :func:`_weighted_threshold`: a strided sample of about 1024 nodes suggests
    two prices around the answer; if the cheaper one leaves demand uncovered and the dearer one
    covers it, only the nodes priced between them are sorted. None when the guess misses."""
    step = prices.size // 1024
    sample = np.sort(prices[::step])
    position = int(demand / total * sample.size)
    low = int(sample[max(0, position - 24)])
    high = int(sample[min(sample.size - 1, position + 24)])
    cheaper = int(free.sum(where=prices < low))
    if cheaper >= demand:
        return None
    inside = np.flatnonzero((prices >= low) & (prices <= high))
    inside_prices = prices[inside]
    order = np.argsort(inside_prices, kind="stable")
    reach = cheaper + np.cumsum(free[inside][order])
    if reach.size == 0 or int(reach[-1]) < demand:
        return None
    threshold = int(inside_prices[order][int(np.searchsorted(reach, demand, side="left"))])
    below = cheaper + int(free[inside].sum(where=inside_prices < threshold))
    return threshold, demand - below


# ------------------------------------------------------------------------------------ network
@dataclass(frozen=True)
class _Network:
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


def _network(snapshot: Snapshot) -> _Network:
    views = _class_views(snapshot)
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
    if max_cost <= _INT64_MAX:
        arc_cost = np.asarray(scaled_price, dtype=np.int64)[arc_node]
        if scaled_extra:
            where = np.fromiter(scaled_extra.keys(), dtype=np.int64, count=len(scaled_extra))
            add = np.fromiter(scaled_extra.values(), dtype=np.int64, count=len(scaled_extra))
            arc_cost[where] += add
    return _Network(
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


def _network_result(snapshot: Snapshot, net: _Network, flows: npt.NDArray[np.int64]) -> Allocation:
    used = np.flatnonzero(flows > 0)
    tasks = net.arc_task[used].tolist()
    nodes = net.arc_node[used].tolist()
    rows = [
        (net.task_ids[t], net.node_ids[i], f, net.node_prices[i])
        for t, i, f in zip(tasks, nodes, flows[used].tolist(), strict=True)
    ]
    return _finish(snapshot, rows)


# ------------------------------------------------------------------------------------ mcf path
def _allocate_mcf(snapshot: Snapshot) -> Allocation:
    from ortools.graph.python import min_cost_flow

    net = _network(snapshot)
    if net.num_arcs == 0:
        return _finish(snapshot, [])
    num_tasks = len(net.task_ids)
    graph_nodes = num_tasks + len(net.node_ids)
    for name, values in (("tasks.units", net.task_units), ("nodes.free_units", net.node_free)):
        if sum(values) > _INT64_MAX // 2:
            raise UnitsOverflow(name, sum(values), "the sum must stay below 2**62 for OR-tools")
    limit = _INT64_MAX // (2 * (graph_nodes + 1))
    if net.max_cost > limit:
        raise CostOverflow(
            "price",
            net.max_cost,
            f"after exact rescaling (minus a common base, divided by the common gcd) the largest "
            f"cost still exceeds {limit}, the int64 range OR-tools allows with {graph_nodes} "
            f"graph nodes; use the structured path (exact integers) when costs are node prices",
        )
    assert net.arc_cost is not None  # max_cost fits int64 here
    units = np.asarray(net.task_units, dtype=np.int64)
    free = np.asarray(net.node_free, dtype=np.int64)
    heads = net.arc_node + num_tasks
    capacities = np.minimum(units[net.arc_task], free[net.arc_node])
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        net.arc_task, heads, capacities, net.arc_cost
    )
    solver.set_nodes_supplies(
        np.arange(graph_nodes, dtype=np.int64), np.concatenate((units, -free))
    )
    status = solver.solve_max_flow_with_min_cost()
    if status == solver.BAD_COST_RANGE:
        raise CostOverflow("price", net.max_cost, "OR-tools reported BAD_COST_RANGE (int64)")
    if status != solver.OPTIMAL:
        raise SolverFailed("mcf.status", str(status), "OR-tools min-cost flow did not end OPTIMAL")
    flows = np.asarray(solver.flows(arcs), dtype=np.int64)
    return _network_result(snapshot, net, flows)


# ------------------------------------------------------------------------------------ lp path
@dataclass(frozen=True)
class LpRelaxation:
    """The raw HiGHS answer of the ``lp`` path: one float per eligible (task, node) pair."""

    pairs: tuple[tuple[int, int], ...]
    x: tuple[float, ...]
    phases: int
    """1 when full service was feasible, else 3 (full-service attempt, max flow, min cost)."""


def solve_lp_relaxation(snapshot: Snapshot, *, time_limit: float | None = None) -> LpRelaxation:
    """Solve the transportation LP with HiGHS (IPM + crossover) and return the float solution."""
    net = _network(snapshot)
    x, phases = _solve_lp(net, time_limit)
    tasks = net.arc_task.tolist()
    nodes = net.arc_node.tolist()
    pairs = tuple((net.task_ids[t], net.node_ids[n]) for t, n in zip(tasks, nodes, strict=True))
    return LpRelaxation(pairs=pairs, x=tuple(float(v) for v in x), phases=phases)


def _allocate_lp(snapshot: Snapshot, time_limit: float | None) -> Allocation:
    net = _network(snapshot)
    x, _ = _solve_lp(net, time_limit)
    flows = np.rint(x)
    worst = float(np.max(np.abs(x - flows))) if x.size else 0.0
    if worst > 1e-6:
        raise SolverFailed("lp.x", worst, "HiGHS returned a fractional point (expected a vertex)")
    return _network_result(snapshot, net, flows.astype(np.int64))


def _solve_lp(net: _Network, time_limit: float | None) -> tuple[npt.NDArray[np.float64], int]:
    from scipy import sparse
    from scipy.optimize import linprog

    arcs = net.num_arcs
    if arcs == 0:
        return np.zeros(0), 1
    for name, values in (("tasks.units", net.task_units), ("nodes.free_units", net.node_free)):
        if sum(values) >= _FLOAT_EXACT:
            raise UnitsOverflow(name, sum(values), "the LP works in float64: sums below 2**53")
    if net.max_cost >= _FLOAT_EXACT:
        raise CostOverflow(
            "price",
            net.max_cost,
            "after exact rescaling the largest cost is not exact in float64 (2**53); the LP "
            "reference cannot check this snapshot, use the structured or mcf path",
        )
    assert net.arc_cost is not None  # max_cost < 2**53 here
    num_tasks = len(net.task_ids)
    num_nodes = len(net.node_ids)
    units = np.asarray(net.task_units, dtype=np.float64)
    free = np.asarray(net.node_free, dtype=np.float64)
    ones = np.ones(arcs)
    columns = np.arange(arcs)
    a_task = sparse.csr_array((ones, (net.arc_task, columns)), shape=(num_tasks, arcs))
    a_node = sparse.csr_array((ones, (net.arc_node, columns)), shape=(num_nodes, arcs))
    upper = np.minimum(units[net.arc_task], free[net.arc_node])
    bounds = np.column_stack((np.zeros(arcs), upper))
    cost = net.arc_cost.astype(np.float64)
    options: dict[str, Any] = {"presolve": True}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)

    def run(c: Any, a_ub: Any, b_ub: Any, a_eq: Any = None, b_eq: Any = None) -> Any:
        return linprog(
            c,
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=bounds,
            method="highs-ipm",
            options=options,
        )

    # Full service is possible only if every task's prefix and the class totals allow it; HiGHS
    # is asked first (usually the case), and only an infeasible answer costs two more LPs.
    result = run(cost, a_node, free, a_task, units)
    if result.status == 0:
        return np.asarray(result.x, dtype=np.float64), 1
    if result.status != 2:
        raise SolverFailed("lp.status", int(result.status), f"HiGHS: {result.message}")
    flow = run(-ones, sparse.vstack((a_task, a_node)), np.concatenate((units, free)))
    if flow.status != 0:
        raise SolverFailed("lp.status", int(flow.status), f"HiGHS max flow: {flow.message}")
    served = round(-float(flow.fun))
    total_row = sparse.csr_array(ones.reshape(1, -1))
    result = run(
        cost,
        sparse.vstack((a_task, a_node)),
        np.concatenate((units, free)),
        total_row,
        np.array([float(served)]),
    )
    if result.status != 0:
        raise SolverFailed("lp.status", int(result.status), f"HiGHS min cost: {result.message}")
    return np.asarray(result.x, dtype=np.float64), 3


# ------------------------------------------------------------------------------------ checking
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
