"""A move of one whole assignment, and applying a list of moves to a state, each one checked
(assignment, source and task, target status and class, capacity at that step)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from oracle.balancing.errors import InvalidMove
from oracle.balancing.state import Assignment, LoadState


class Move(NamedTuple):
    """Move assignment ``assignment`` (``units`` of ``task``) from node ``source`` to ``target``."""

    assignment: int
    task: int
    source: int
    target: int
    units: int


def apply_moves(state: LoadState, moves: Sequence[Move]) -> LoadState:
    """The state after applying ``moves`` in order; raises :class:`InvalidMove` if one does not
    apply (unknown assignment, wrong source or task, target not active, other class, over
    capacity at that step). Does not mutate ``state``."""
    nodes = {n.id: n for n in state.nodes}
    where = {a.id: a for a in state.assignments}
    used = state.used()
    for index, m in enumerate(moves):
        label = f"moves[{index}]"
        a = where.get(m.assignment)
        if a is None:
            raise InvalidMove(f"{label}.assignment", m.assignment, "no such assignment")
        if a.node != m.source or a.task != m.task or a.units != m.units:
            raise InvalidMove(f"{label}.source", m.source, f"assignment is on node {a.node}")
        target = nodes.get(m.target)
        if target is None:
            raise InvalidMove(f"{label}.target", m.target, "no such node")
        if target.status != "active" or nodes[m.source].status != "active":
            raise InvalidMove(f"{label}.target", m.target, "source and target must be active")
        if target.resource_class != nodes[m.source].resource_class:
            raise InvalidMove(f"{label}.target", m.target, "target is of another class")
        if m.target == m.source:
            raise InvalidMove(f"{label}.target", m.target, "target equals source")
        if used[m.target] + m.units > target.capacity:
            room = target.capacity - used[m.target]
            raise InvalidMove(f"{label}.units", m.units, f"target {m.target} has room {room}")
        used[m.source] -= m.units
        used[m.target] += m.units
        where[a.id] = Assignment(id=a.id, task=a.task, node=m.target, units=a.units)
    return LoadState(
        nodes=state.nodes, assignments=tuple(where.values()), theta_bps=state.theta_bps
    )
