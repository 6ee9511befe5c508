"""The seed's problem (one demand, no cap) on arrays, solved by selection instead of a sort.

The special case of the structured path with one task; the benchmark compares it with the seed's
``linprog`` formulation on the same arrays. The oracle itself calls :func:`allocate`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from oracle.allocation.errors import InvalidValue
from oracle.allocation.fields import IntArray


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
