"""Phase 5, *exact, small classes*: the fewest moves, found by breadth-first search.

If some node is still outside its window and the class is small (``nodes ** assignments <=
exact_budget`` states), a breadth-first search over single moves finds the fewest moves that
bring every node into its window, respecting capacity after every move, and replaces the moves
of the earlier phases. The budget counts states, not seconds, so every committee member gets the
same answer.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from oracle.balancing.class_work import ClassWork


def exact_search(work: ClassWork, budget: int) -> None:
    """Fewest single moves bringing every node into its window (BFS over placements)."""
    n = work.n
    count = int(work.p_units.size)
    if budget == 0 or n < 2 or count > 64 or n**count > budget:
        return
    units = work.p_units.tolist()
    cap = work.cap.tolist()
    lo = work.lo.tolist()
    hi = work.hi.tolist()
    start = tuple(work.p_node.tolist())
    parent: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, int, int]] | None] = {
        start: None
    }
    queue: deque[tuple[int, ...]] = deque([start])
    while queue:
        state = queue.popleft()
        used = [0] * n
        for p, node in enumerate(state):
            used[node] += units[p]
        for p, node in enumerate(state):
            w = units[p]
            for t in range(n):
                if t == node or used[t] + w > cap[t]:
                    continue
                nxt = (*state[:p], t, *state[p + 1 :])
                if nxt in parent:
                    continue
                parent[nxt] = (state, (p, node, t))
                if len(parent) > budget:
                    return
                used[node] -= w
                used[t] += w
                done = all(lo[i] <= used[i] <= hi[i] for i in range(n))
                used[node] += w
                used[t] -= w
                if done:
                    _adopt(work, parent, nxt)
                    return
                queue.append(nxt)


def _adopt(
    work: ClassWork,
    parent: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, int, int]] | None],
    goal: tuple[int, ...],
) -> None:
    """Replace the plan with the search's moves, replayed from the starting loads."""
    steps: list[tuple[int, int, int]] = []
    cursor = goal
    while (link := parent[cursor]) is not None:
        cursor, step = link
        steps.append(step)
    steps.reverse()
    work.used = work.start_used.copy()
    work.plan = []
    for p, s, t in steps:
        one = np.asarray([p], dtype=np.int64)
        sources = np.asarray([s], dtype=np.int64)
        work.plan.append((one, sources, np.asarray([t], dtype=np.int64)))
        work.used[s] -= work.p_units[p]
        work.used[t] += work.p_units[p]
