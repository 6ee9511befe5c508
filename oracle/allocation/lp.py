"""The ``lp`` path: the seed's LP generalised to the transportation problem (audit reference).

On ``scipy.optimize.linprog(method="highs-ipm")`` (interior point followed by HiGHS' crossover,
so the answer is a vertex) with ``scipy.sparse`` matrices. A first LP demands full service; if
that is infeasible, a max-flow LP finds F and a second LP minimises cost with the served units
fixed to F. The constraint matrix is a network matrix, so vertices are integral: the solution is
rounded and checked (fractional values raise :class:`SolverFailed`). The audit reference, not the
hot path. Works in float64, so the rescaled costs must stay below 2**53 (else
:class:`CostOverflow`).

SciPy is imported when the path runs, so importing the package stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from oracle.allocation.errors import CostOverflow, SolverFailed, UnitsOverflow
from oracle.allocation.network import Network, allocation_from_flows, build_network
from oracle.allocation.result import Allocation
from oracle.allocation.snapshot import Snapshot

_FLOAT_EXACT = 2**53


@dataclass(frozen=True)
class LpRelaxation:
    """The raw HiGHS answer of the ``lp`` path: one float per eligible (task, node) pair."""

    pairs: tuple[tuple[int, int], ...]
    x: tuple[float, ...]
    phases: int
    """1 when full service was feasible, else 3 (full-service attempt, max flow, min cost)."""


def solve_lp_relaxation(snapshot: Snapshot, *, time_limit: float | None = None) -> LpRelaxation:
    """Solve the transportation LP with HiGHS (IPM + crossover) and return the float solution."""
    net = build_network(snapshot)
    x, phases = _solve_lp(net, time_limit)
    tasks = net.arc_task.tolist()
    nodes = net.arc_node.tolist()
    pairs = tuple((net.task_ids[t], net.node_ids[n]) for t, n in zip(tasks, nodes, strict=True))
    return LpRelaxation(pairs=pairs, x=tuple(float(v) for v in x), phases=phases)


def allocate_lp(snapshot: Snapshot, time_limit: float | None) -> Allocation:
    """The ``lp`` path's result: the HiGHS vertex, rounded after checking it is integral."""
    net = build_network(snapshot)
    x, _ = _solve_lp(net, time_limit)
    flows = np.rint(x)
    worst = float(np.max(np.abs(x - flows))) if x.size else 0.0
    if worst > 1e-6:
        raise SolverFailed("lp.x", worst, "HiGHS returned a fractional point (expected a vertex)")
    return allocation_from_flows(snapshot, net, flows.astype(np.int64))


def _solve_lp(net: Network, time_limit: float | None) -> tuple[npt.NDArray[np.float64], int]:
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
