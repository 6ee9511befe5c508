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

Three paths, one contract (same served units, same optimal cost); each module documents its path
    ``structured`` (default, :mod:`~oracle.allocation.structured`)
        The exact greedy on nested price prefixes; numpy with a pure-Python twin, exact in Python
        integers for prices up to 2**256 - 1.
    ``mcf`` (:mod:`~oracle.allocation.mcf`)
        OR-tools min-cost flow on the task -> node network; needed when the snapshot's
        ``surcharges`` make costs depend on the pair (the price paid stays the node's price).
    ``lp`` (:mod:`~oracle.allocation.lp`)
        The seed's LP generalised to the transportation problem on HiGHS; the audit reference,
        not the hot path.

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

JSON schemas
    The snapshot (``verai.allocation.snapshot/1``) is specified in
    :mod:`~oracle.allocation.snapshot`, the result (``verai.allocation.result/1``) in
    :mod:`~oracle.allocation.result`.

Layout (the public API is what this package exports; its modules are implementation)
    ``errors`` the error family; ``fields`` number ranges and field checks; ``json_format``
    strict JSON reading, canonical writing; ``snapshot`` the input; ``result`` the output;
    ``class_view`` one class in canonical order; ``structured``, ``single_demand``, ``network``,
    ``mcf``, ``lp`` the solvers; ``validate`` the auditor's check; ``paths`` :func:`allocate`.
    Only ``mcf`` and ``lp`` load OR-tools and SciPy, and only when called; nothing here imports
    chain or I/O code.
"""

from __future__ import annotations

from oracle.allocation.errors import (
    AllocationError,
    CostOverflow,
    DuplicateId,
    InvalidValue,
    MalformedSnapshot,
    PathNotApplicable,
    SolverFailed,
    UnitsOverflow,
    UnknownClass,
    UnknownReference,
)
from oracle.allocation.fields import UINT256_MAX as UINT256_MAX
from oracle.allocation.fields import UNITS_MAX as UNITS_MAX
from oracle.allocation.fields import IntArray as IntArray
from oracle.allocation.lp import LpRelaxation, solve_lp_relaxation
from oracle.allocation.paths import PATHS, Path, allocate
from oracle.allocation.result import RESULT_SCHEMA, Allocation, Entry, Unmet
from oracle.allocation.single_demand import serve_single_demand
from oracle.allocation.snapshot import (
    NODE_STATUSES,
    SNAPSHOT_SCHEMA,
    Node,
    Snapshot,
    Surcharge,
    Task,
)
from oracle.allocation.structured import allocate_structured
from oracle.allocation.validate import validate_allocation

# The tests compare the numpy and the pure-Python twin of the structured path through this name,
# which predates the package (an assignment, so type checkers see it as exported).
_allocate_structured = allocate_structured

# The public API. The `X as X` imports above also keep UINT256_MAX, UNITS_MAX and IntArray
# importable from here, as they were from the single-file module.
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
