"""The energy report's arithmetic on a hand-written history (no chain): every figure below is
derived by hand in the comments, then compared exactly."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from oracle.energy import (
    BaselineError,
    EnergyError,
    credited_span,
    decimal_string,
    efficiency_gain,
    kwh_string,
    span_steps,
)
from oracle.energy_report import (
    AssignmentRun,
    Baseline,
    HeartbeatEvent,
    History,
    NodeRegistration,
    Position,
    RenewableEvent,
    StatusEvent,
    TimeoutEvent,
    Window,
    build_report,
)
from oracle.errors import OracleError


# ----------------------------------------------------------------------------- the seed's formula
def test_seed_example_1000_against_600_kwh_is_40_percent() -> None:
    gain = efficiency_gain(1000, 600)
    assert gain == Fraction(2, 5)
    assert decimal_string(100 * gain, 2) == "40"


def test_efficiency_gain_is_exact_and_may_be_negative() -> None:
    assert efficiency_gain(Fraction(3, 2), Fraction(11, 10)) == Fraction(4, 15)
    assert efficiency_gain(100, 150) == Fraction(-1, 2)  # the network used more
    assert efficiency_gain(100, 0) == 1


@pytest.mark.parametrize("baseline", [0, -1, Fraction(-1, 3)])
def test_non_positive_baseline_is_refused_not_zero(baseline: int | Fraction) -> None:
    with pytest.raises(BaselineError, match="baseline must be above 0 kWh") as caught:
        efficiency_gain(baseline, 600)
    assert isinstance(caught.value, OracleError)
    assert "\n" not in str(caught.value)


def test_efficiency_gain_refuses_floats_and_negative_network_energy() -> None:
    with pytest.raises(EnergyError, match="exact"):
        efficiency_gain(1000.0, 600)  # type: ignore[arg-type]
    with pytest.raises(EnergyError, match="negative"):
        efficiency_gain(1000, -1)


def test_credited_span_follows_the_registry() -> None:
    # back to the previous heartbeat, at most the timeout
    assert credited_span(100, 160, 6000, 900).since == 100
    assert credited_span(100, 2000, 90_000, 900).since == 1100
    assert credited_span(100, 160, 6000, 900).power == 100
    steps = span_steps(
        [credited_span(0, 10, 1000, 900), credited_span(10, 30, 400, 5)], start=0, end=40
    )
    assert steps == [(0, 100), (10, 0), (25, 80), (30, 0), (40, 0)]


def test_decimal_strings() -> None:
    assert kwh_string(3_600_000) == "1"
    assert kwh_string(160_000) == "0.044444"
    assert kwh_string(1_800) == "0.0005"
    assert decimal_string(Fraction(-5, 2), 0) == "-3"


# ----------------------------------------------------------------------------- a scripted history
def at(block: int, timestamp: int, log_index: int = 0) -> Position:
    return Position(block, log_index, timestamp)


HISTORY = History(
    timeouts=[TimeoutEvent(at(1, 1000), 900)],
    registrations=[
        NodeRegistration(at(2, 1000), 1, "0xaa", "GPU", 4),
        NodeRegistration(at(3, 1000), 2, "0xbb", "CPU", 2),
    ],
    renewables=[
        RenewableEvent(at(3, 1000, 1), 2, 10_000, "ipfs://certificate"),
        RenewableEvent(at(7, 1220), 1, 5_000, ""),
    ],
    heartbeats=[
        # node 1: 300 W x 100 s since registration -> 30,000 J (before the window)
        HeartbeatEvent(at(4, 1100), 1, 300, 30_000, 0),
        HeartbeatEvent(at(4, 1100, 1), 2, 100, 10_000, 0),
        # 400 W x 100 s -> +40,000 (estimated), and over the watt limit: throttled
        HeartbeatEvent(at(6, 1200), 1, 400, 70_000, 0),
        # the first counter: the registry still credits watts x time, 200 W x 100 s -> +20,000
        HeartbeatEvent(at(9, 1300), 1, 200, 90_000, 5_000),
        # 1,700 s of silence, capped at 900 s: the counter's increase, +100,000
        HeartbeatEvent(at(10, 3000), 1, 111, 190_000, 105_000),
    ],
    statuses=[
        StatusEvent(at(6, 1200, 1), 1, 1, 2),
        StatusEvent(at(9, 1300, 1), 1, 2, 1),
    ],
    assignments=[
        AssignmentRun(7, 70, 1, 1, at(5, 1150), at(8, 1250), 2),
        AssignmentRun(8, 80, 2, 2, at(5, 1150)),  # node 2 sends no heartbeat in the window
    ],
)
# blocks (4, 10]: the energy credited after block 4 up to block 10, 1100 s .. 3000 s
WINDOW = Window(from_block=4, from_time=1100, to_block=10, to_time=3000)


def test_energy_per_node_is_the_difference_of_the_registry_totals() -> None:
    report = build_report(HISTORY, WINDOW)
    one, two = report.nodes
    # 190,000 J at block 10 - 30,000 J at block 4
    assert one.energy_j == 160_000
    assert (one.source.heartbeats, one.source.measured_heartbeats) == (3, 2)
    assert one.source.measured_j == 20_000 + 100_000
    assert one.source.label == "mixed"
    assert (
        one.source.describe(one.energy_j) == "mixed: 2 of 3 heartbeats measured, 75 % of the energy"
    )
    # node 2's only heartbeat is at block 4, the baseline itself
    assert (two.energy_j, two.source.label) == (0, "none")
    assert report.energy_j == 160_000
    # 160,000 J over 1,900 s
    assert one.mean_watts == Fraction(160_000, 1_900)
    assert [c.resource_class for c in report.classes] == ["CPU", "GPU"]
    assert [c.energy_j for c in report.classes] == [0, 160_000]


def test_task_split_by_units_and_time_with_idle_apart() -> None:
    report = build_report(HISTORY, WINDOW)
    one = report.nodes[0]
    # heartbeat at 1200 credits 40,000 J over [1100, 1200): the assignment runs from 1150,
    #   so 20,000 idle + 20,000 to assignment 7;
    # heartbeat at 1300 credits 20,000 J over [1200, 1300): assignment 7 closed at 1250,
    #   so 10,000 to it + 10,000 idle;
    # heartbeat at 3000 credits 100,000 J over [2100, 3000) (the gap cap): all idle.
    task = next(t for t in report.tasks if t.task_id == 70)
    assert task.energy_j == 30_000
    assert one.idle_j == 130_000
    assert task.energy_j + one.idle_j == one.energy_j
    # fed by the estimated heartbeat at 1200 and the measured one at 1300
    assert (task.source.heartbeats, task.source.measured_heartbeats) == (2, 1)
    assert task.source.measured_j == 10_000  # the part of the measured heartbeat at 1300
    assert task.unit_seconds == 1 * (1250 - 1150)
    assert task.wh_per_unit_hour == 300  # 30,000 J / 100 unit-seconds
    other = next(t for t in report.tasks if t.task_id == 80)
    assert (other.energy_j, other.source.label) == (0, "none")
    assert other.unit_seconds == 2 * (3000 - 1150)


def test_renewable_shares_and_throttling() -> None:
    report = build_report(HISTORY, WINDOW)
    r = report.renewable
    # live nodes 1 (5,000 bps) and 2 (10,000 bps), weighted equally
    assert (r.live_nodes, r.declaring_nodes, r.by_count) == (2, 2, Fraction(3, 4))
    # 40,000 J credited before node 1 declared (0 %), then 120,000 J at 50 %: 60,000 / 160,000
    assert r.by_energy == Fraction(3, 8)
    assert [(e.kind, e.at.block) for e in report.throttling] == [("throttled", 6), ("relieved", 9)]
    assert report.nodes[0].throttled_s == 100
    assert report.nodes[0].throttle_events == 2


def test_power_is_the_credited_energy_over_its_span() -> None:
    report = build_report(HISTORY, WINDOW)
    gpu = next(p for p in report.power if p.resource_class == "GPU")
    # 400 W (estimated), 200 W (first counter), nothing, then 100,000 J / 900 s
    assert gpu.points == (
        (1100, 400),
        (1200, 200),
        (1300, 0),
        (2100, Fraction(1000, 9)),
        (3000, 0),
    )
    assert report.gap_cap == 900


def test_efficiency_with_every_input() -> None:
    by_pue = build_report(
        HISTORY, WINDOW, Baseline(pue=Fraction(3, 2), contributor_pue=Fraction(11, 10))
    )
    e = by_pue.efficiency
    assert e is not None
    # E_c = IT x 1.5, E_d = IT x 1.1: (1.5 - 1.1) / 1.5
    assert e.gain == Fraction(4, 15)
    assert e.centralised_kwh == Fraction(160_000, 3_600_000) * Fraction(3, 2)
    by_kwh = build_report(HISTORY, WINDOW, Baseline(kwh=Fraction(1, 10)))
    assert by_kwh.efficiency is not None
    # (0.1 - 0.0444...) / 0.1 = 1 - 4/9
    assert by_kwh.efficiency.gain == Fraction(5, 9)
    empty = Window(from_block=10, from_time=3000, to_block=10, to_time=3000)
    with pytest.raises(BaselineError):  # a PUE baseline over no energy is 0 kWh
        build_report(HISTORY, empty, Baseline(pue=Fraction(3, 2)))


def test_json_document_round_trips() -> None:
    report = build_report(HISTORY, WINDOW, Baseline(kwh=Fraction(1, 10)))
    doc = report.to_json(chain_id=84532)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["schema"] == "verai.energy.report/1"
    assert doc["network"]["energy_j"] == 160_000 and doc["network"]["kwh"] == "0.044444"
    assert doc["nodes"][0]["source"] == "mixed"
    assert doc["renewable"]["by_node_count"] == "0.75" and doc["renewable"]["declared"] is True
    assert doc["efficiency"]["gain"] == "0.555556"
    assert isinstance(doc["nodes"][0]["throttled_s"], int)


def test_whole_history_and_inverted_window() -> None:
    whole = build_report(HISTORY, Window(0, 1000, 10, 3000))
    assert whole.energy_j == 190_000 + 10_000
    with pytest.raises(EnergyError, match="before it starts"):
        Window(from_block=9, from_time=1300, to_block=6, to_time=1200)


def test_measured_joules_never_exceed_the_assignments_joules() -> None:
    # a measured heartbeat at 1010 credits 2 J over [1000, 1010), split by units over
    #   assignments 9 (6 units), 7 and 8 (7 units each): 0.6, 0.7 and 0.7 J, all measured;
    # an estimated heartbeat at 1020 credits 1 J over [1010, 1020): assignment 9 alone runs
    #   on to 1011 (0.1 J), the rest is idle (0.9 J).
    # Largest remainders of the node's 3 J: idle 0.9, then 7 and 8 (0.7, ahead of 9 in key
    #   order) -> assignment 9 gets 0 J. Its measured 0.6 J rounded on its own would be 1 J,
    #   more than its whole energy; apportioned like the energy (the node's 2 measured J over
    #   0.6, 0.7, 0.7) it is 0.
    history = History(
        timeouts=[TimeoutEvent(at(1, 1000), 900)],
        registrations=[NodeRegistration(at(2, 1000), 1, "0xaa", "GPU", 20)],
        heartbeats=[
            HeartbeatEvent(at(5, 1010), 1, 0, 2, 2),
            HeartbeatEvent(at(6, 1020), 1, 0, 3, 0),
        ],
        assignments=[
            AssignmentRun(7, 70, 1, 7, at(3, 1000), at(5, 1010, 1), 2),
            AssignmentRun(8, 80, 1, 7, at(3, 1000, 1), at(5, 1010, 2), 2),
            AssignmentRun(9, 90, 1, 6, at(3, 1000, 2), at(6, 1011), 2),
        ],
    )
    report = build_report(history, Window(from_block=2, from_time=1000, to_block=6, to_time=1020))
    (node,) = report.nodes
    assert (node.energy_j, node.source.measured_j, node.idle_j) == (3, 2, 1)
    tasks = {t.task_id: t for t in report.tasks}
    assert [(tasks[i].energy_j, tasks[i].source.measured_j) for i in (70, 80, 90)] == [
        (1, 1),
        (1, 1),
        (0, 0),
    ]
    tiny = tasks[90]
    assert (tiny.source.heartbeats, tiny.source.measured_heartbeats) == (2, 1)
    assert tiny.source.describe(tiny.energy_j) == (
        "mixed: 1 of 2 heartbeats measured, - of the energy"
    )
    for task in report.tasks:
        assert task.source.measured_j <= task.energy_j
