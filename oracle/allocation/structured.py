"""The ``structured`` path (default): the exact canonical greedy.

With cost = node price, the eligible node set of a task is a prefix of the node list sorted by
price, and prefixes are nested. Serving tasks from the smallest eligible set to the largest, each
from the cheapest free units, is optimal; every task is fully served exactly when Hall's prefix
condition holds (for every task in that order, the demand of it and of the tasks before it fits in
the free units of its prefix). O((n + m) log n) per class, vectorised with numpy (a
cumulative-minimum recurrence and two ``searchsorted`` calls), with a pure-Python twin that takes
over when sums do not fit int64. Exact in Python integers for prices up to 2**256 - 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from oracle.allocation.class_view import class_views
from oracle.allocation.fields import IntArray
from oracle.allocation.result import Allocation, allocation_from_rows
from oracle.allocation.snapshot import Snapshot

# Sums of units stay below this bound on the numpy path (cumulative sums are int64).
_NUMPY_SUM_LIMIT = 2**62


def allocate_structured(snapshot: Snapshot, *, use_numpy: bool | None = None) -> Allocation:
    """The ``structured`` path's result. Each class runs on numpy when its sums fit int64, else
    on the pure-Python twin; ``use_numpy=False`` forces the twin (the tests compare the two)."""
    rows: list[tuple[int, int, int, int]] = []
    for view in class_views(snapshot):
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
    return allocation_from_rows(snapshot, rows)


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
