"""The balancer's entry point: per class, the phases in order, the moves back in ids."""

from __future__ import annotations

import itertools

import numpy as np

from oracle.balancing.band import active_classes, node_windows
from oracle.balancing.class_work import ClassWork
from oracle.balancing.exact import exact_search
from oracle.balancing.fill import fill
from oracle.balancing.moves import Move
from oracle.balancing.shed import shed
from oracle.balancing.state import IntArray, LoadState, check_int, used_per_node
from oracle.balancing.swap import swap

DEFAULT_EXACT_BUDGET = 5_000
"""States the exact search (phase 5) may visit (per class)."""


def balance(state: LoadState, *, exact_budget: int = DEFAULT_EXACT_BUDGET) -> tuple[Move, ...]:
    """Moves (to apply in order) that bring every active node within θ of its class mean where
    whole assignments allow it; see the package docstring. Does not mutate ``state``."""
    check_int("exact_budget", exact_budget, 0, 10**9)
    pieces_s: list[IntArray] = []
    sources_s: list[IntArray] = []
    targets_s: list[IntArray] = []
    used_all = used_per_node(state._asg_node, state._asg_units, len(state.nodes))
    local = np.full(len(state.nodes), -1, dtype=np.int64)
    for members in active_classes(state):
        if members.size == len(state.nodes):
            # Every node is an active member: local positions are the positions (read only).
            mine = np.arange(state._asg_node.size)
            p_node, p_units = state._asg_node, state._asg_units
        else:
            local[members] = np.arange(members.size)
            mine = np.flatnonzero(local[state._asg_node] >= 0)
            p_node, p_units = local[state._asg_node[mine]], state._asg_units[mine]
            local[members] = -1
        caps = state._cap[members]
        used = used_all[members]
        lo, hi = node_windows(caps, int(used.sum()), int(caps.sum()), state.theta_bps)
        work = ClassWork(
            cap=caps,
            used=used.copy(),
            lo=lo,
            hi=hi,
            p_node=p_node,
            p_units=p_units,
        )
        plan_p, plan_s, plan_t = _run(work, exact_budget)
        pieces_s.append(mine[plan_p])
        sources_s.append(members[plan_s])
        targets_s.append(members[plan_t])
    if not pieces_s:
        return ()
    pieces = np.concatenate(pieces_s)
    # tuple.__new__(Move, row) builds each Move without a Python-level call (the hot path).
    return tuple(
        map(
            tuple.__new__,
            itertools.repeat(Move),
            zip(
                state._asg_ids.take(pieces),
                state._asg_tasks.take(pieces),
                state._node_ids.take(np.concatenate(sources_s)),
                state._node_ids.take(np.concatenate(targets_s)),
                state._asg_units[pieces].tolist(),
                strict=True,
            ),
        )
    )


def _run(work: ClassWork, exact_budget: int) -> tuple[IntArray, IntArray, IntArray]:
    """The phases in order, each only while a node is outside its window; the plan's
    (pieces, sources, targets) in local positions."""
    if work.outside():
        shed(work)
        fill(work)
        if work.outside():
            swap(work)
        if work.outside():
            exact_search(work, exact_budget)
    if not work.plan:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (
        np.concatenate([p for p, _, _ in work.plan]),
        np.concatenate([s for _, s, _ in work.plan]),
        np.concatenate([t for _, _, t in work.plan]),
    )
