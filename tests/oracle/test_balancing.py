"""Load balancer: postconditions, reachability against brute force, and the seed's rule."""

from __future__ import annotations

import math
import random
from collections import deque
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench._instances import uniform_load_state
from oracle.balancing import (
    Assignment,
    BalancingError,
    DuplicateLoadId,
    InvalidLoadValue,
    InvalidMove,
    LoadNode,
    LoadState,
    Move,
    OverCapacity,
    UnknownLoadReference,
    apply_moves,
    balance,
    band_report,
    band_windows,
    reference_redistribute,
)
from oracle.errors import OracleError


# ------------------------------------------------------------------------------------ strategies
@st.composite
def load_states(
    draw: st.DrawFn,
    max_nodes: int = 30,
    max_assignments: int = 80,
    max_cap: int = 60,
    max_units: int = 15,
    classes: tuple[str, ...] = ("A", "B"),
    statuses: tuple[str, ...] = ("active",) * 6 + ("failed", "throttled"),
) -> LoadState:
    count = draw(st.integers(1, max_nodes))
    caps = [draw(st.integers(1, max_cap)) for _ in range(count)]
    node_ids = draw(st.lists(st.integers(0, 10**6), min_size=count, max_size=count, unique=True))
    nodes = [
        LoadNode(
            id=node_ids[i],
            resource_class=draw(st.sampled_from(classes)),
            capacity=caps[i],
            status=draw(st.sampled_from(statuses)),
        )
        for i in range(count)
    ]
    used = [0] * count
    assignments = []
    for k in range(draw(st.integers(0, max_assignments))):
        units = draw(st.integers(1, max_units))
        where = draw(st.integers(0, count - 1))
        if used[where] + units <= caps[where]:
            used[where] += units
            assignments.append(
                Assignment(
                    id=1000 + k, task=draw(st.integers(0, 20)), node=node_ids[where], units=units
                )
            )
    theta = draw(st.sampled_from((0, 250, 500, 1000, 2500, 5000)))
    return LoadState(nodes=tuple(nodes), assignments=tuple(assignments), theta_bps=theta)


def small_states() -> st.SearchStrategy[LoadState]:
    """One class, up to 4 nodes and 6 assignments: brute force can search every state."""
    return load_states(
        max_nodes=4,
        max_assignments=6,
        max_cap=12,
        max_units=6,
        classes=("A",),
        statuses=("active",),
    )


# ------------------------------------------------------------------------------------ references
def within_theta(used: list[int], caps: list[int], theta_bps: int) -> bool:
    mean = Fraction(sum(used), sum(caps))
    return all(
        abs(Fraction(u, c) - mean) <= Fraction(theta_bps, 10_000)
        for u, c in zip(used, caps, strict=True)
    )


def band_reachable(state: LoadState) -> bool:
    """Breadth-first search over single moves that respect capacity (one active class)."""
    caps = [n.capacity for n in state.nodes]
    index = {n.id: i for i, n in enumerate(state.nodes)}
    units = [a.units for a in state.assignments]
    start = tuple(index[a.node] for a in state.assignments)
    seen = {start}
    queue = deque([start])
    while queue:
        placement = queue.popleft()
        used = [0] * len(caps)
        for p, node in enumerate(placement):
            used[node] += units[p]
        if within_theta(used, caps, state.theta_bps):
            return True
        for p, node in enumerate(placement):
            for target in range(len(caps)):
                if target != node and used[target] + units[p] <= caps[target]:
                    after = (*placement[:p], target, *placement[p + 1 :])
                    if after not in seen:
                        seen.add(after)
                        queue.append(after)
    return False


def distance_to_window(used: int, window: tuple[int, int]) -> int:
    return max(0, window[0] - used, used - window[1])


def snapshot_of(state: LoadState) -> tuple[object, ...]:
    return (state.nodes, state.assignments, state.theta_bps, repr(state))


# ------------------------------------------------------------------------------------ properties
@settings(max_examples=600, deadline=None)
@given(small_states())
def test_balance_reaches_theta_whenever_brute_force_shows_it_reachable(state: LoadState) -> None:
    after = apply_moves(state, balance(state))
    if band_reachable(state):
        assert band_report(after).outside == 0


@settings(max_examples=300, deadline=None)
@given(load_states(), st.sampled_from((0, 5_000)))
def test_balance_respects_capacity_never_pushes_a_node_out_and_never_makes_things_worse(
    state: LoadState, budget: int
) -> None:
    moves = balance(state, exact_budget=budget)
    after = apply_moves(state, moves)  # raises if a move breaks capacity, class or status
    windows = band_windows(state)
    assert band_windows(after) == windows  # the class mean never moves
    before_used, after_used = state.used(), after.used()
    for node_id, window in windows.items():
        before = distance_to_window(before_used[node_id], window)
        assert distance_to_window(after_used[node_id], window) <= before
    nodes = {n.id: n for n in state.nodes}
    for m in moves:
        assert nodes[m.source].status == nodes[m.target].status == "active"
        assert nodes[m.source].resource_class == nodes[m.target].resource_class
    report_before, report_after = band_report(state), band_report(after)
    assert report_after.max_deviation_bps <= report_before.max_deviation_bps + 1e-9
    assert report_after.outside <= report_before.outside


@settings(max_examples=100, deadline=None)
@given(load_states(), st.randoms(use_true_random=False))
def test_balance_is_deterministic_and_does_not_mutate_its_input(
    state: LoadState, rng: random.Random
) -> None:
    before = snapshot_of(state)
    moves = balance(state)
    assert snapshot_of(state) == before
    permuted = LoadState(
        nodes=tuple(rng.sample(state.nodes, len(state.nodes))),
        assignments=tuple(rng.sample(state.assignments, len(state.assignments))),
        theta_bps=state.theta_bps,
    )
    assert balance(permuted) == moves


@settings(max_examples=100, deadline=None)
@given(load_states())
def test_balance_moves_nothing_when_every_node_is_within_its_window(state: LoadState) -> None:
    moves = balance(state)
    settled = apply_moves(state, moves)
    again = balance(settled)
    used = settled.used()
    windows = band_windows(settled)
    if all(distance_to_window(used[i], w) == 0 for i, w in windows.items()):
        assert again == ()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 2**53 - 1) | st.integers(1, 50), min_size=1, max_size=6),
    st.data(),
    st.integers(0, 10_000),
)
def test_band_windows_match_exact_fractions_for_any_capacity(
    caps: list[int], data: st.DataObject, theta: int
) -> None:
    used = [data.draw(st.integers(0, cap)) for cap in caps]
    nodes = tuple(LoadNode(i, "G", cap) for i, cap in enumerate(caps))
    assignments = tuple(Assignment(i, i, i, u) for i, u in enumerate(used) if u > 0)
    windows = band_windows(LoadState(nodes=nodes, assignments=assignments, theta_bps=theta))
    mean = Fraction(sum(used), sum(caps))
    band = Fraction(theta, 10_000)
    for i, cap in enumerate(caps):
        low = max(math.ceil((mean - band) * cap), 0)
        high = min(math.floor((mean + band) * cap), cap)
        if low > high:
            centre = mean * cap
            low = high = high if centre - high <= low - centre else low
        assert windows[i] == (low, high)


# ------------------------------------------------------------------------------------ named cases
def test_balance_brings_every_node_into_the_band_and_moves_less_load_than_the_seed() -> None:
    state = uniform_load_state(2_000, seed=3)
    moves = balance(state)
    after = apply_moves(state, moves)
    assert band_report(state).outside > 1_000
    assert band_report(after).outside == 0
    used = state.used()
    loads = [float(used[n.id]) for n in state.nodes]
    seed = reference_redistribute(loads, 10.0)
    mean = sum(loads) / len(loads)
    left_outside = sum(abs(x - mean) > 10.0 for x in seed.loads)
    assert left_outside > 0  # the seed never uses in-band nodes
    assert sum(m.units for m in moves) < seed.moved


def test_seed_leaves_an_overload_that_only_in_band_nodes_can_absorb() -> None:
    # Mean 60, band [50, 70]: nodes 0 and 1 must shed 30 each, node 7 has room for 40 only.
    loads = [100, 100, 50, 50, 50, 50, 50, 30]
    seed = reference_redistribute([float(x) for x in loads], 10.0)
    assert seed.loads == (70.0, 100.0, 50.0, 50.0, 50.0, 50.0, 50.0, 60.0)
    assert seed.moved == 30.0
    nodes = tuple(LoadNode(i, "G", 100) for i in range(8))
    pieces = [[10] * 10, [10] * 10, [50], [50], [50], [50], [50], [30]]
    assignments = []
    for node, units in enumerate(pieces):
        for u in units:
            assignments.append(Assignment(len(assignments), len(assignments), node, u))
    state = LoadState(nodes=nodes, assignments=tuple(assignments), theta_bps=1_000)
    moves = balance(state)
    after = apply_moves(state, moves)
    assert band_report(after).outside == 0
    assert [(m.source, m.target) for m in moves] == [
        (0, 7),
        (0, 7),
        (0, 2),
        (1, 3),
        (1, 4),
        (1, 5),
    ]
    assert after.used() == {0: 70, 1: 70, 2: 60, 3: 60, 4: 60, 5: 60, 6: 50, 7: 50}


def test_reference_redistribute_pushes_to_the_mean_in_index_order() -> None:
    result = reference_redistribute([90.0, 10.0, 50.0, 50.0, 70.0, 30.0], 10.0)
    assert result.loads == (50.0, 50.0, 50.0, 50.0, 50.0, 50.0)
    assert result.moved == 60.0
    assert reference_redistribute([], 1.0).loads == ()


def test_balance_reduces_the_maximum_deviation_when_the_band_is_out_of_reach() -> None:
    nodes = (LoadNode(1, "G", 100), LoadNode(2, "G", 100))
    assignments = (Assignment(1, 10, 1, 50), Assignment(2, 11, 1, 40))
    state = LoadState(nodes=nodes, assignments=assignments, theta_bps=0)
    moves = balance(state)
    assert moves == (Move(assignment=2, task=11, source=1, target=2, units=40),)
    before, after = band_report(state), band_report(apply_moves(state, moves))
    assert (before.max_deviation_bps, after.max_deviation_bps) == (4_500.0, 500.0)


def test_balance_ignores_inactive_nodes_and_keeps_classes_apart() -> None:
    nodes = (
        LoadNode(1, "G", 10),
        LoadNode(2, "G", 10, "failed"),
        LoadNode(3, "C", 10),
        LoadNode(4, "G", 10),
    )
    assignments = (
        Assignment(1, 1, 1, 4),
        Assignment(2, 2, 1, 3),
        Assignment(3, 3, 2, 10),
        Assignment(4, 4, 1, 3),
    )
    state = LoadState(nodes=nodes, assignments=assignments, theta_bps=1_000)
    moves = balance(state)
    # Class G's active nodes are 1 and 4 (mean 50 %); node 3 is of class C, node 2 failed.
    assert moves == (Move(assignment=1, task=1, source=1, target=4, units=4),)
    assert apply_moves(state, moves).used() == {1: 6, 2: 10, 3: 0, 4: 4}


def test_small_classes_use_the_exact_search_when_the_greedy_falls_short() -> None:
    # Mean 8/19, θ = 10 %: windows [2, 2], [3, 4], [2, 3]; the greedy finds no single move.
    nodes = (LoadNode(1, "G", 5), LoadNode(2, "G", 8), LoadNode(3, "G", 6))
    assignments = (Assignment(1, 1, 1, 4), Assignment(2, 2, 2, 2), Assignment(3, 3, 2, 2))
    state = LoadState(nodes=nodes, assignments=assignments, theta_bps=1_000)
    assert band_reachable(state)
    greedy = balance(state, exact_budget=0)
    assert band_report(apply_moves(state, greedy)).outside > 0
    exact = balance(state)
    assert band_report(apply_moves(state, exact)).outside == 0
    assert len(exact) == 3


# ------------------------------------------------------------------------------------ malformed
def test_malformed_load_state_raises_errors_naming_field_and_value() -> None:
    node = LoadNode(1, "G", 10)
    cases: list[tuple[type[BalancingError], str, object, object]] = [
        (InvalidLoadValue, "theta_bps", 10_001, lambda: LoadState((node,), (), 10_001)),
        (InvalidLoadValue, "node 2.capacity", 0, lambda: LoadNode(2, "G", 0)),
        (InvalidLoadValue, "assignment 5.units", -1, lambda: Assignment(5, 1, 1, -1)),
        (InvalidLoadValue, "node 3.status", "asleep", lambda: LoadNode(3, "G", 1, "asleep")),
        (DuplicateLoadId, "node.id", 1, lambda: LoadState((node, node), (), 0)),
        (
            DuplicateLoadId,
            "assignment.id",
            7,
            lambda: LoadState((node,), (Assignment(7, 1, 1, 1), Assignment(7, 2, 1, 1)), 0),
        ),
        (
            UnknownLoadReference,
            "assignment 7.node",
            9,
            lambda: LoadState((node,), (Assignment(7, 1, 9, 1),), 0),
        ),
        (
            OverCapacity,
            "node 1.used",
            11,
            lambda: LoadState((node,), (Assignment(7, 1, 1, 6), Assignment(8, 1, 1, 5)), 0),
        ),
    ]
    for error, field, value, make in cases:
        with pytest.raises(error) as caught:
            make()  # type: ignore[operator]
        assert isinstance(caught.value, OracleError)
        assert (caught.value.field, caught.value.value) == (field, value)
        assert field in str(caught.value)


def test_apply_moves_rejects_a_move_that_overfills_its_target() -> None:
    state = LoadState(
        nodes=(LoadNode(1, "G", 10), LoadNode(2, "G", 5)),
        assignments=(Assignment(1, 1, 1, 6), Assignment(2, 2, 2, 1)),
        theta_bps=0,
    )
    with pytest.raises(InvalidMove) as caught:
        apply_moves(state, (Move(1, 1, 1, 2, 6),))
    assert caught.value.field == "moves[0].units"
    with pytest.raises(InvalidMove):
        apply_moves(state, (Move(1, 1, 2, 1, 6),))
