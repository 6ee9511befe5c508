"""The ``mcf`` path: OR-tools min-cost flow, for costs that depend on the pair.

OR-tools ``SimpleMinCostFlow.solve_max_flow_with_min_cost`` (integer cost scaling) on the
bipartite network task -> node. Needed when costs depend on the pair: the snapshot's
``surcharges`` add a per-pair, per-unit-hour term (latency, energy weight ...) to the objective;
the price paid stays the node's price. Costs are rescaled exactly first (a common base taken
out, divided by the common gcd: :mod:`~oracle.allocation.network` says why the optimal flows stay
the same). What still does not fit OR-tools' int64 range (it multiplies costs by the number of
graph nodes + 1) is refused with :class:`CostOverflow`.

OR-tools is imported when the path runs, so importing the package stays light.
"""

from __future__ import annotations

import numpy as np

from oracle.allocation.errors import CostOverflow, SolverFailed, UnitsOverflow
from oracle.allocation.fields import INT64_MAX
from oracle.allocation.network import allocation_from_flows, build_network
from oracle.allocation.result import Allocation, allocation_from_rows
from oracle.allocation.snapshot import Snapshot


def cost_limit(graph_nodes: int) -> int:
    """The largest rescaled arc cost OR-tools takes on `graph_nodes` graph nodes (it
    multiplies costs by the number of graph nodes + 1, with room for the sign)."""
    return INT64_MAX // (2 * (graph_nodes + 1))


def mcf_fits(snapshot: Snapshot) -> bool:
    """Whether the snapshot's costs, rescaled exactly, fit the ``mcf`` path's int64 range (the
    bound `allocate_mcf` raises :class:`CostOverflow` beyond). Integers only, so every caller,
    whatever path it then runs, takes the same decision."""
    net = build_network(snapshot)
    if net.num_arcs == 0:
        return True
    return net.max_cost <= cost_limit(len(net.task_ids) + len(net.node_ids))


def allocate_mcf(snapshot: Snapshot) -> Allocation:
    """The ``mcf`` path's result (maximum served units, then minimum price + surcharge)."""
    from ortools.graph.python import min_cost_flow

    net = build_network(snapshot)
    if net.num_arcs == 0:
        return allocation_from_rows(snapshot, [])
    num_tasks = len(net.task_ids)
    graph_nodes = num_tasks + len(net.node_ids)
    for name, values in (("tasks.units", net.task_units), ("nodes.free_units", net.node_free)):
        if sum(values) > INT64_MAX // 2:
            raise UnitsOverflow(name, sum(values), "the sum must stay below 2**62 for OR-tools")
    limit = cost_limit(graph_nodes)
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
    return allocation_from_flows(snapshot, net, flows)
