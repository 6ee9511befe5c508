"""Phase 1, *shed*, and its sequential leftovers pass (phase 3 for overloaded nodes).

Shed
    Each overloaded node (``used > hi``) picks what to shed so that it lands inside its window:
    the smallest assignment with ``used − hi <= units <= used − lo`` (one move, least load; ties:
    the higher assignment id, i.e. the newer work); else the shortest run of its largest
    assignments (ties: lower assignment id) that takes it to ``hi`` or below, if that keeps it at
    or above ``lo``; else its assignments largest first, skipping any that would take it below
    ``lo``, until it is at or below ``hi``. The picked assignments, largest first (ties: lower
    assignment id), are placed in rounds: in each round they are matched with the candidate
    targets, most room first (room = ``hi − used``; ties: lower node id), by the two-pointer rule
    (an assignment takes the next target if it fits in its room, else waits for the next round; a
    target takes at most one assignment per round). Candidates are the underloaded nodes while
    any of them takes something, then every node with room; never a node that was overloaded.

Leftovers (when a round limit or the one-offer-per-round rule left something possible)
    A sequential pass with heaps applies the same rules one assignment at a time; a node whose
    window cannot be reached takes the one move that brings it strictly closer to its window even
    if it lands on the other side.
"""

from __future__ import annotations

import heapq

import numpy as np

from oracle.balancing.arrays import first_per_group, last_per_group, match, stable_argsort
from oracle.balancing.class_work import MAX_ROUNDS, ClassWork
from oracle.balancing.state import BoolArray, IntArray


def _heap_of(nodes: IntArray, rooms: IntArray) -> list[tuple[int, int]]:
    """A heap (a sorted list is one) of (-room, node): most room first, ties lower node."""
    order = np.lexsort((nodes, -rooms))
    return list(zip((-rooms[order]).tolist(), nodes[order].tolist(), strict=True))


def shed(work: ClassWork) -> None:
    """Pick what each overloaded node sheds (rule in this module's docstring), then place it."""
    used, lo, hi = work.used, work.lo, work.hi
    if not work.source.any():
        return
    need = used - hi
    spare = used - lo
    # One piece that lands the node inside its window: the smallest such.
    single = _best_fit(work, work.source, need, spare)
    multi = work.source.copy()
    multi[work.p_node[single]] = False
    # Else the shortest run of its largest pieces that reaches hi, if that keeps the node at
    # or above lo (vectorised); else its pieces largest first, skipping those that would
    # take it below lo (sequential, per node).
    in_multi = np.flatnonzero(multi[work.desc_node])
    order = work.descending[in_multi]
    nodes = work.desc_node[in_multi]
    units = work.desc_units[in_multi]
    running = np.cumsum(units)
    group_start = np.flatnonzero(first_per_group(nodes))
    sizes = np.diff(np.append(group_start, nodes.size))
    running -= np.repeat(running[group_start] - units[group_start], sizes)
    run = running - units < need[nodes]
    total = np.bincount(nodes[run], weights=units[run], minlength=work.n).astype(np.int64)
    clean = multi & (total >= need) & (total <= spare)
    prefix = order[run & clean[nodes]]
    chosen: list[int] = []
    greedy = np.flatnonzero(multi & ~clean)
    runs = work.start_desc[greedy + 1] - work.start_desc[greedy]
    own = _pieces_of(work, greedy)
    own_units = work.p_units[own].tolist()
    own_pieces = own.tolist()
    end = 0
    for size, left, room in zip(
        runs.tolist(), need[greedy].tolist(), spare[greedy].tolist(), strict=True
    ):
        start, end = end, end + size
        for k in range(start, end):
            w = own_units[k]
            if w <= room:
                chosen.append(own_pieces[k])
                room -= w
                left -= w
                if left <= 0:
                    break
    picked = np.concatenate((single, prefix, np.asarray(chosen, dtype=np.int64)))
    _place(work, picked)
    if _shed_left(work):
        _sequential_shed(work)


def _best_fit(work: ClassWork, nodes_mask: BoolArray, need: IntArray, spare: IntArray) -> IntArray:
    """Per node in ``nodes_mask``: its smallest piece (ties: higher id) with need <= units
    <= spare; one piece per node that has one."""
    nodes = work.desc_node
    units = work.desc_units
    # Positions, then gathers: cheaper than compressing twice with the boolean mask.
    fits = np.flatnonzero(nodes_mask[nodes] & (units >= need[nodes]) & (units <= spare[nodes]))
    candidates = work.descending[fits]
    # The last fitting piece of each node's descending run is its smallest (ties: higher id).
    picked: IntArray = candidates[last_per_group(nodes[fits])]
    return picked


def _place(work: ClassWork, pieces: IntArray) -> None:
    """Phase 1 rounds: picked pieces onto underloaded nodes, then onto any node with room."""
    pieces = np.sort(pieces)
    pending = pieces[stable_argsort(-work.p_units[pieces])]
    under_only = True
    for _ in range(MAX_ROUNDS):
        if pending.size == 0:
            return
        used, lo, hi = work.used, work.lo, work.hi
        if under_only:
            candidates = np.flatnonzero(~work.source & (used < lo))
        else:
            candidates = np.flatnonzero(~work.source & (used < hi))
        rooms = hi[candidates] - used[candidates]
        by_room = stable_argsort(-rooms)  # candidates ascend: ties lower node
        candidates = candidates[by_room]
        matched, slot = match(work.p_units[pending], rooms[by_room])
        if not matched.any():
            if under_only:
                under_only = False
                continue
            return
        work.record(pending[matched], candidates[slot[matched]])
        pending = pending[~matched]


def _shed_left(work: ClassWork) -> bool:
    """Whether an overloaded node still has a piece the sequential pass could move: one that
    keeps it at or above ``lo`` or brings it closer to its window, and that fits in the
    largest room of a possible target."""
    used, lo, hi = work.used, work.lo, work.hi
    over = used > hi
    if not over.any():
        return False
    targets = ~work.source & (used < hi)
    if not targets.any():
        return False
    largest_room = int((hi - used)[targets].max())
    pieces = _pieces_of(work, np.flatnonzero(over))
    nodes = work.p_node[pieces]
    units = work.p_units[pieces]
    left = used[nodes] - units
    useful = (left >= lo[nodes]) | (lo[nodes] - left < used[nodes] - hi[nodes])
    return bool(np.any(~work.moved[pieces] & useful & (units <= largest_room)))


def _pieces_of(work: ClassWork, nodes: IntArray) -> IntArray:
    """All pieces of the given nodes (concatenated runs of the descending order)."""
    starts = work.start_desc[nodes]
    sizes = work.start_desc[nodes + 1] - starts
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(sizes) + sizes, sizes)
    pieces: IntArray = work.descending[np.arange(total) + offsets]
    return pieces


def _sequential_shed(work: ClassWork) -> None:
    """Phase 3 for overloaded nodes: one piece at a time, heaps of targets by room."""
    used = work.used.tolist()
    lo = work.lo.tolist()
    hi = work.hi.tolist()
    p_units = work.p_units.tolist()
    moved = work.moved.tolist()
    descending = work.descending.tolist()
    now, low, high = work.used, work.lo, work.hi
    under_nodes = np.flatnonzero(~work.source & (now < low))
    band_nodes = np.flatnonzero(~work.source & (now >= low) & (now < high))
    under = _heap_of(under_nodes, high[under_nodes] - now[under_nodes])
    band = _heap_of(band_nodes, high[band_nodes] - now[band_nodes])
    pieces: list[int] = []
    targets: list[int] = []

    def place(w: int) -> int:
        for heap, is_under in ((under, True), (band, False)):
            if heap and -heap[0][0] >= w:
                room, t = heap[0]
                room = -room - w
                used[t] += w
                if is_under and used[t] >= lo[t]:
                    heapq.heappop(under)
                    if room > 0:
                        heapq.heappush(band, (-room, t))
                elif room > 0:
                    heapq.heapreplace(heap, (-room, t))
                else:
                    heapq.heappop(heap)
                return t
        return -1

    over_nodes = np.flatnonzero(now > high)
    over = over_nodes[np.lexsort((over_nodes, high[over_nodes] - now[over_nodes]))].tolist()
    for s in over:
        own = descending[work.start_desc[s] : work.start_desc[s + 1]]
        for p in own:
            if used[s] <= hi[s]:
                break
            w = p_units[p]
            if moved[p] or used[s] - w < lo[s]:
                continue
            t = place(w)
            if t >= 0:
                used[s] -= w
                moved[p] = True
                pieces.append(p)
                targets.append(t)
        if used[s] <= hi[s]:
            continue
        # The band is out of reach with whole pieces: the smallest piece that still brings
        # the node strictly closer to its window, landing below it.
        for p in reversed(own):
            w = p_units[p]
            if moved[p] or used[s] - w >= lo[s]:
                continue
            if lo[s] - (used[s] - w) >= used[s] - hi[s]:
                break
            t = place(w)
            if t >= 0:
                used[s] -= w
                moved[p] = True
                pieces.append(p)
                targets.append(t)
                break
    work.commit(pieces, targets)
