"""Phase 2, *fill*, and its sequential leftovers pass (phase 3 for underloaded nodes).

Fill
    Nodes still underloaded take assignments that in-window nodes can spare (removal keeps the
    giver at or above its ``lo``), in rounds: a best-fit round gives each underloaded node,
    smallest deficit first, the smallest spare assignment that lands it inside its window (a
    giver gives at most one per round); when that matches nothing, a round matches each giver's
    largest spare assignment with the underloaded nodes, most room first, by the two-pointer
    rule of phase 1.

Leftovers (when a round limit or the one-offer-per-round rule left something possible)
    A sequential pass applies the same rules one assignment at a time; a node whose window
    cannot be reached takes the one move that brings it strictly closer to its window even if it
    lands on the other side.
"""

from __future__ import annotations

import bisect

import numpy as np

from oracle.balancing.arrays import first_per_group, match
from oracle.balancing.class_work import MAX_ROUNDS, ClassWork
from oracle.balancing.state import IntArray


def fill(work: ClassWork) -> None:
    """Phase 2 rounds. A best-fit round gives each underloaded node (smallest deficit first)
    the smallest spare piece that lands it inside its window (two-pointer over pieces sorted
    by size; a donor gives at most one piece per round); when no node gets one, a round
    matches each donor's largest spare piece with the nodes with most room instead."""
    for _ in range(MAX_ROUNDS):
        used, lo, hi = work.used, work.lo, work.hi
        needy = np.flatnonzero(~work.source & (used < lo))
        if needy.size == 0:
            return
        surplus = used - lo
        donor = (used >= lo) & (used <= hi) & (surplus > 0)
        spare = np.flatnonzero(
            ~work.moved & donor[work.p_node] & (work.p_units <= surplus[work.p_node])
        )
        if spare.size == 0:
            break
        if _fill_best(work, needy, spare):
            continue
        order = work.descending
        offer = order[np.isin(order, spare, assume_unique=True)]
        offer = offer[first_per_group(work.p_node[offer])]
        offer = offer[np.lexsort((offer, -work.p_units[offer]))]
        rooms = hi[needy] - used[needy]
        by_room = np.lexsort((needy, -rooms))
        needy = needy[by_room]
        matched, slot = match(work.p_units[offer], rooms[by_room])
        if not matched.any():
            break
        work.record(offer[matched], needy[slot[matched]])
    if _fill_left(work):
        _sequential_fill(work)


def _fill_left(work: ClassWork) -> bool:
    """Whether an underloaded node could still take a piece an in-window node can spare."""
    used, lo, hi = work.used, work.lo, work.hi
    needy = ~work.source & (used < lo)
    if not needy.any():
        return False
    nodes = work.p_node
    donor = (used > lo) & (used <= hi)
    spare = ~work.moved & donor[nodes] & (work.p_units <= (used - lo)[nodes])
    if not spare.any():
        return False
    reach = int((hi - used + lo - used)[needy].max())
    return int(work.p_units[spare].min()) < reach


def _fill_best(work: ClassWork, needy: IntArray, spare: IntArray) -> bool:
    """One best-fit round; whether anything moved."""
    used, lo, hi = work.used, work.lo, work.hi
    deficit = lo[needy] - used[needy]
    needy = needy[np.lexsort((needy, deficit))]
    deficit = lo[needy] - used[needy]
    room = hi[needy] - used[needy]
    pieces = spare[np.lexsort((spare, work.p_units[spare]))]
    units = work.p_units[pieces]
    # Needy node i takes the first unused piece with units >= deficit_i:
    # taken_i = max(taken_(i-1) + 1, first_i), a cumulative maximum of first_i - i.
    first = np.searchsorted(units, deficit, side="left")
    step = np.arange(needy.size)
    taken = np.maximum.accumulate(first - step) + step
    valid = taken < units.size
    taken, who = taken[valid], needy[valid]
    fits = units[taken] <= room[valid]
    chosen, who = pieces[taken[fits]], who[fits]
    # A donor gives at most one piece per round (its surplus was checked piece by piece).
    donors = work.p_node[chosen]
    keep = np.zeros(chosen.size, dtype=bool)
    _, first_of_donor = np.unique(donors, return_index=True)
    keep[first_of_donor] = True
    if not keep.any():
        return False
    work.record(chosen[keep], who[keep])
    return True


def _sequential_fill(work: ClassWork) -> None:
    """Phase 3 for underloaded nodes: largest piece that fits, from in-window donors."""
    used = work.used.tolist()
    lo = work.lo.tolist()
    hi = work.hi.tolist()
    cap = work.cap.tolist()
    p_units = work.p_units.tolist()
    p_node = work.p_node.tolist()
    now, low, high = work.used, work.lo, work.hi
    needy_nodes = np.flatnonzero(~work.source & (now < low))
    needy = needy_nodes[np.lexsort((needy_nodes, now[needy_nodes] - low[needy_nodes]))].tolist()
    donor = (now > low) & (now <= high)
    offered = np.flatnonzero(~work.moved & donor[work.p_node])
    offered = offered[np.lexsort((offered, work.p_units[offered]))]
    pool_units = work.p_units[offered].tolist()
    pool_piece = offered.tolist()
    size = len(pool_piece)
    down = list(range(size))  # union-find: largest alive index <= i (-1: none)
    up = list(range(size + 1))  # union-find: smallest alive index >= i (size: none)

    def alive_down(i: int) -> int:
        root = i
        while root >= 0 and down[root] != root:
            root = down[root]
        while i >= 0 and down[i] != i:
            down[i], i = root, down[i]
        return root

    def alive_up(i: int) -> int:
        root = i
        while root < size and up[root] != root:
            root = up[root]
        while i < size and up[i] != i:
            up[i], i = root, up[i]
        return root

    def kill(i: int) -> None:
        down[i] = i - 1
        up[i] = i + 1

    pieces: list[int] = []
    targets: list[int] = []
    for t in needy:
        while used[t] < lo[t]:
            room = hi[t] - used[t]
            i = alive_down(bisect.bisect_right(pool_units, room) - 1)
            chosen = -1
            while i >= 0:
                p = pool_piece[i]
                d = p_node[p]
                if used[d] - p_units[p] >= lo[d]:
                    chosen = i
                    break
                kill(i)
                i = alive_down(i - 1)
            if chosen < 0:
                # Nothing fits in the room: the smallest piece that still gets closer.
                i = alive_up(bisect.bisect_right(pool_units, room))
                while i < size:
                    p = pool_piece[i]
                    d = p_node[p]
                    w = p_units[p]
                    if used[t] + w - hi[t] >= lo[t] - used[t] or used[t] + w > cap[t]:
                        break
                    if used[d] - w >= lo[d]:
                        chosen = i
                        break
                    kill(i)
                    i = alive_up(i + 1)
                if chosen < 0:
                    break
            p = pool_piece[chosen]
            d = p_node[p]
            kill(chosen)
            used[d] -= p_units[p]
            used[t] += p_units[p]
            pieces.append(p)
            targets.append(t)
    work.commit(pieces, targets)
