"""Phase 4, *swaps*: a node still outside its window swaps one of its assignments with one of a
partner node so that both end inside their windows (two moves: give, then take back, so capacity
holds after each)."""

from __future__ import annotations

import numpy as np

from oracle.balancing.class_work import ClassWork

_SWAP_SCAN = 64
"""Partner pieces examined per own piece in the swap pass (bounds its work)."""


def swap(work: ClassWork) -> None:
    """Nodes still outside their window exchange one piece with a partner node: the node
    gives piece ``a`` to the partner, which gives back a piece ``b`` such that both end
    inside their windows (capacity holds after each of the two moves). Nodes by distance to
    their window, largest first; own pieces smallest first; partner pieces largest first,
    at most ``_SWAP_SCAN`` candidates per own piece."""
    used, lo, hi = work.used, work.lo, work.hi
    p_units, p_node, moved = work.p_units, work.p_node, work.moved
    outside = np.flatnonzero((used < lo) | (used > hi))
    distance = np.maximum(lo - used, used - hi)[outside]
    outside = outside[np.lexsort((outside, -distance))]
    pool = np.flatnonzero(~moved)
    sizes = p_units[pool]
    # A stable sort of small keys is a radix sort: much cheaper than a comparison sort.
    if int(sizes.max(initial=0)) < 2**16:
        pool = pool[np.argsort(sizes.astype(np.uint16), kind="stable")]
        # The sorted sizes themselves, by counting (no gather).
        counts = np.bincount(sizes)
        pool_units = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    else:
        pool = pool[np.argsort(sizes, kind="stable")]
        pool_units = p_units[pool]
    for x in outside.tolist():
        for a in work.descending[work.start_desc[x] : work.start_desc[x + 1]][::-1].tolist():
            if moved[a]:
                continue
            give = int(p_units[a])
            least = max(1, int(lo[x] - used[x]) + give)
            most = int(hi[x] - used[x]) + give
            if least > most:
                continue
            top = int(np.searchsorted(pool_units, most, side="right")) - 1
            bottom = max(int(np.searchsorted(pool_units, least, side="left")), top - _SWAP_SCAN)
            partner = _partner(work, pool[bottom : top + 1][::-1].tolist(), x, give)
            if partner >= 0:
                d = int(p_node[partner])
                # Give first, then take back: the partner has room for ``give`` now.
                work.record(np.asarray([a], dtype=np.int64), np.asarray([d], dtype=np.int64))
                work.record(np.asarray([partner], dtype=np.int64), np.asarray([x], dtype=np.int64))
                break


def _partner(work: ClassWork, candidates: list[int], x: int, give: int) -> int:
    """The first candidate piece whose node can swap with node ``x`` (or -1)."""
    used, lo, hi, cap = work.used, work.lo, work.hi, work.cap
    for b in candidates:
        d = int(work.p_node[b])
        if work.moved[b] or d == x:
            continue
        after = int(used[d]) + give - int(work.p_units[b])
        if used[d] + give <= cap[d] and lo[d] <= after <= hi[d]:
            return b
    return -1
