"""oracle/energy.py: kWh from heartbeat series under the gap cap, power steps, renewable share
(pure; properties with hypothesis)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.energy import (
    EnergyError,
    Reading,
    energy_joules,
    kwh,
    power_at,
    power_steps,
    renewable_share,
)


@st.composite
def series(draw: st.DrawFn) -> list[Reading]:
    times = sorted(draw(st.lists(st.integers(0, 20_000), max_size=12)))
    return [Reading(t, draw(st.integers(0, 2_000))) for t in times]


def test_readings_hold_until_the_next_one_or_the_gap_cap() -> None:
    beats = [Reading(0, 300), Reading(600, 400), Reading(5_000, 100)]
    # 300 W for 600 s, then 400 W capped at 900 s of a 4,400 s silence, then 100 W for 900 s
    assert (
        energy_joules(beats, start=0, end=10_000, gap_cap=900) == 300 * 600 + 400 * 900 + 100 * 900
    )
    assert kwh(3_600_000) == 1
    assert power_at(beats, 599, gap_cap=900) == 300
    assert power_at(beats, 1_499, gap_cap=900) == 400
    assert power_at(beats, 1_500, gap_cap=900) == 0  # silent for longer than the cap
    assert power_at(beats, -1, gap_cap=900) == 0


def test_a_reading_before_the_window_counts_for_its_part_inside() -> None:
    beats = [Reading(0, 1_000)]
    assert energy_joules(beats, start=500, end=2_000, gap_cap=900) == 1_000 * 400


def test_readings_of_one_instant_keep_only_the_last() -> None:
    beats = [Reading(10, 900), Reading(10, 100)]
    assert energy_joules(beats, start=0, end=100, gap_cap=900) == 100 * 90


def test_bad_series_are_refused_with_the_reason() -> None:
    with pytest.raises(EnergyError, match="earlier than the one before"):
        energy_joules([Reading(5, 1), Reading(4, 1)], start=0, end=10, gap_cap=9)
    with pytest.raises(EnergyError, match="negative power"):
        energy_joules([Reading(5, -1)], start=0, end=10, gap_cap=9)
    with pytest.raises(EnergyError, match="ends"):
        power_steps({}, gap_cap=1, start=10, end=0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(series(), max_size=4),
    st.integers(0, 2_000),
    st.integers(0, 25_000),
    st.integers(0, 25_000),
)
def test_the_power_steps_integrate_to_the_energy(
    nodes: list[list[Reading]], cap: int, a: int, b: int
) -> None:
    start, end = min(a, b), max(a, b)
    by_node = dict(enumerate(nodes))
    steps = power_steps(by_node, gap_cap=cap, start=start, end=end)
    assert steps[0][0] == start and steps[-1][0] == end
    area = sum(w * (t2 - t1) for (t1, w), (t2, _) in itertools.pairwise(steps))
    total = sum(energy_joules(s, start=start, end=end, gap_cap=cap) for s in nodes)
    assert area == total
    for moment, watts in steps[:-1]:
        assert watts == sum(power_at(s, moment, gap_cap=cap) for s in nodes)


@settings(max_examples=150, deadline=None)
@given(
    series(),
    st.integers(0, 2_000),
    st.integers(0, 25_000),
    st.integers(0, 25_000),
    st.integers(0, 25_000),
)
def test_energy_adds_up_over_split_windows_and_never_exceeds_the_cap(
    beats: list[Reading], cap: int, a: int, b: int, c: int
) -> None:
    x, y, z = sorted((a, b, c))
    whole = energy_joules(beats, start=x, end=z, gap_cap=cap)
    parts = energy_joules(beats, start=x, end=y, gap_cap=cap) + energy_joules(
        beats, start=y, end=z, gap_cap=cap
    )
    assert whole == parts
    assert whole <= sum(r.watts for r in beats) * cap


def test_renewable_share_is_weighted_by_energy() -> None:
    assert renewable_share({1: 300, 2: 100}, {1: 10_000}) == Fraction(3, 4)
    assert renewable_share({1: 0}, {1: 10_000}) is None
    with pytest.raises(EnergyError, match=r"outside 0\.\.10000"):
        renewable_share({1: 1}, {1: 10_001})
