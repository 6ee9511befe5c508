"""The energy-aware mode of a round, pure: off, the solution and the document are what they were
before the mode existed; on, the allocation changes only through the per-pair energy surcharges
(same served units, same moves and reassignments, prices paid are the nodes' prices, the
minimum is of price + energy cost), and stays deterministic through the document."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from oracle.chain.events import ChainEvent
from oracle.chain.mirror import Mirror
from oracle.service.document import build_document, canonical, parse_document
from oracle.service.inputs import AssignmentRow, FailedRow, NodeRow, RoundInputs, TaskRow
from oracle.service.reader import RoundReader
from oracle.service.solve import (
    ENERGY_FALLBACK,
    ENERGY_QUANTUM,
    energy_costs,
    energy_surcharge,
    objective,
    solve,
)
from oracle.store import Database
from tests.service.test_solve import GPU, inputs, prove

VER = 10**18
CPU = "0x" + "bb" * 32


def node(i: int, watts: int, cap: int = 4, price: int = VER, status: int = 1,
         cls: str = GPU, reserved: int = 0) -> NodeRow:  # fmt: skip
    return NodeRow(i, cls, status, cap, reserved, price, 0, 0, watts)


def network() -> RoundInputs:
    """Cheap hungry nodes and dearer frugal ones, a throttled node with work, a failed one."""
    nodes = [
        node(1, watts=1_600, price=VER),  # 400 W per unit
        node(2, watts=1_200, price=VER),  # 300 W per unit
        node(3, watts=200, price=VER + VER // 10),  # 50 W per unit, 10 % dearer
        node(4, watts=0, price=VER + VER // 5),  # no watts on record
        node(5, watts=4_000, cap=2, status=2),  # Throttled, running work
        node(6, watts=100, status=3),  # Failed
        node(7, watts=900, cap=8, cls=CPU, price=VER // 10),  # same price: the tie-break's
        node(8, watts=300, cap=8, cls=CPU, price=VER // 10),
    ]
    tasks = [
        TaskRow(1, GPU, pending=6, running=2, max_price=2 * VER, seed=11),
        TaskRow(2, GPU, pending=3, running=0, max_price=VER, seed=12),  # cap: nodes 1, 2 only
        TaskRow(3, GPU, pending=2, running=0, max_price=2 * VER, seed=13),
        TaskRow(4, CPU, pending=5, running=0, max_price=VER, seed=14),
    ]
    return inputs(
        nodes, tasks, running=[AssignmentRow(30, 1, 5, 2)], failed=[FailedRow(31, 3, 6, 2, 31)]
    )


def on(data: RoundInputs, weight: int) -> RoundInputs:
    return replace(data, energy_weight=weight)


def test_the_surcharge_is_watts_per_unit_times_the_weight_per_kwh_rounded_down() -> None:
    weight = 3 * VER  # 3 VER per kWh
    # 1,600 W over 4 units: 400 W per unit, 0.4 kWh per unit-hour, 1.2 VER
    assert energy_surcharge(node(1, 1_600), weight) == 12 * VER // 10
    # 1,000 W over 3 units: 333.33 W, 1 VER - 1/3 VER ... rounded down to the quantum
    exact = 1_000 * weight // (1_000 * 3)
    assert energy_surcharge(node(1, 1_000, cap=3), weight) == exact - exact % ENERGY_QUANTUM
    assert energy_surcharge(node(1, 1_000, cap=3), weight) % ENERGY_QUANTUM == 0
    assert energy_surcharge(node(1, 1, cap=4), 3_999_999_999_999) == 0  # below the quantum
    assert energy_surcharge(node(1, 0), weight) == 0  # no measurement: no charge
    assert energy_surcharge(node(1, 1_600), 0) == 0  # mode off
    assert energy_costs(network()) == {}


def test_mode_off_leaves_the_solution_and_the_document_as_before() -> None:
    data = network()
    s = solve(data, prove)
    assert s.energy == ""
    value = data.to_dict()
    assert "energy_weight" not in value and all("watts" not in n for n in value["nodes"])
    # watts present in the inputs but the mode off: the same document as with no watts at all
    no_watts = replace(data, nodes=tuple(replace(n, watts=0) for n in data.nodes))
    assert build_document(data, s).data == build_document(no_watts, solve(no_watts, prove)).data
    assert b"energy" not in build_document(data, s).data
    # what the round did before the mode: the throttled node's work moves to the node with the
    # most free units, the failed one is reassigned by VRF, the rest by price then node id
    assert [(m.assignment_id, m.to_node_id) for m in s.moves] == [(30, 1)]
    assert [(r.assignment_id, r.node_id) for r in s.reassignments] == [(31, 3)]
    assert pairs(s) == {(1, 2): 3, (1, 3): 2, (1, 4): 1, (2, 1): 2, (2, 2): 1, (4, 7): 5}


def pairs(s: object) -> dict[tuple[int, int], int]:
    return {(e.task, e.node): e.units for e in s.allocation.entries}  # type: ignore[attr-defined]


@pytest.mark.parametrize("weight", [VER // 10, VER, 5 * VER])
def test_mode_on_changes_the_allocation_only_through_the_surcharges(weight: int) -> None:
    data = network()
    off, energy = solve(data, prove), solve(on(data, weight), prove)
    assert energy.energy == "applied"
    assert energy.moves == off.moves and energy.reassignments == off.reassignments
    assert energy.no_new_work == off.no_new_work
    assert energy.allocation.served() == off.allocation.served()
    assert energy.allocation.unmet == off.allocation.unmet
    prices = {n.id: n.price for n in data.nodes}
    assert all(e.price == prices[e.node] for e in energy.allocation.entries)  # price paid
    costs = energy_costs(on(data, weight))
    assert objective(energy.allocation, costs) <= objective(off.allocation, costs)
    # the minimum of price + energy cost: the LP reference reaches the same objective
    lp = solve(on(data, weight), prove, path="lp")
    assert lp.allocation.served() == energy.allocation.served()
    assert objective(lp.allocation, costs) == objective(energy.allocation, costs)
    assert energy == solve(on(data, weight), prove)  # deterministic


def test_a_high_weight_moves_units_to_frugal_nodes_a_small_one_only_breaks_price_ties() -> None:
    data = network()
    off, small = solve(data, prove).allocation, solve(on(data, VER // 1_000), prove).allocation
    assert small.cost == off.cost and small != off  # same price paid, the frugal of equals
    assert pairs(solve(on(data, VER // 1_000), prove))[(4, 8)] == 5  # the CPU tie
    # at 1 VER/kWh node 1 costs 1 + 0.4 VER per unit-hour, node 2 1.3, node 3 1.1 + 0.05,
    # node 4 (no watts) 1.2: task 1 goes to 3 and 4, task 2 (capped at 1 VER) to node 2, the
    # CPU task to the frugal one of two equally priced nodes
    assert pairs(solve(on(data, VER), prove)) == {(1, 3): 2, (1, 4): 4, (2, 2): 3, (4, 8): 5}


def test_an_energy_aware_document_publishes_the_weight_and_watts_and_re_solves_identically() -> (
    None
):
    data = on(network(), VER)
    s = solve(data, prove)
    doc = build_document(data, s)
    parsed, published, _ = parse_document(doc.data)
    assert parsed == data
    assert published["energy"] == "applied"
    assert parsed.to_dict()["energy_weight"] == str(VER)  # beyond 2**53: a string
    assert [n["watts"] for n in parsed.to_dict()["nodes"]] == [n.watts for n in data.nodes]
    assert build_document(parsed, solve(parsed, prove)).data == doc.data
    assert canonical(parsed.to_dict()) == canonical(data.to_dict())


def test_costs_beyond_the_mcf_range_fall_back_to_prices_alone_and_say_so() -> None:
    # prices 1 wei apart over a 1-VER base: the gcd of the cost differences is 1 and 10 VER of
    # spread no longer fit OR-tools' int64 range on 600 graph nodes
    nodes = [node(i, watts=100 * i, price=VER * (1 + i % 10) + i) for i in range(1, 301)]
    tasks = [TaskRow(t, GPU, 2, 0, 20 * VER, t) for t in range(1, 301)]
    data = inputs(nodes, tasks)
    s = solve(on(data, VER), prove)
    assert s.energy == ENERGY_FALLBACK
    assert s.allocation == solve(data, prove).allocation
    doc = build_document(on(data, VER), s)
    assert parse_document(doc.data)[1]["energy"] == ENERGY_FALLBACK


def test_the_fallback_is_decided_by_the_mcf_bound_whatever_the_path() -> None:
    # 600 graph nodes: mcf's int64 bound, INT64_MAX / 1202 (~7.7e15), is above lp's 2**53, so
    # the surcharged costs (prices 1 wei apart: gcd 1, ~0.0082 VER of spread) fit lp but not
    # mcf. The members' mcf falls back to prices alone; the audit's lp re-solve must too, else
    # it minimises price + energy cost and the audit reports a correct round as differing.
    nodes = [node(i, watts=i % 33, price=VER + i) for i in range(1, 301)]
    tasks = [TaskRow(t, GPU, 2, 0, 2 * VER, t) for t in range(1, 301)]
    data = on(inputs(nodes, tasks), VER)
    mcf, lp = solve(data, prove, path="mcf"), solve(data, prove, path="lp")
    assert mcf.energy == lp.energy == ENERGY_FALLBACK
    assert mcf == solve(data, prove)  # the members' default path is mcf
    assert lp.allocation.served() == mcf.allocation.served()
    assert lp.allocation.cost == mcf.allocation.cost  # what the fallback minimises
    assert mcf.allocation == solve(replace(data, energy_weight=0), prove).allocation


def _event(name: str, block: int, args: dict[str, Any]) -> ChainEvent:
    return ChainEvent("NodeRegistry", name, args, block, "0x" + "00" * 32, 0, "0x", 0, "0x")


def test_a_node_beating_0_w_with_a_rising_counter_pays_for_the_power_it_was_credited(
    tmp_path: Path,
) -> None:
    mirror = Mirror(Database(tmp_path / "state.sqlite"))
    beats = {  # node -> (watts, energyJ credited) per heartbeat, 60 s apart from t = 1,000
        1: [(0, 0), (0, 30_000), (0, 60_000)],  # 0 W, counter credits 500 W, then 500 W
        2: [(200, 12_000), (200, 24_000)],  # estimated: 200 W x 60 s
        3: [(0, 0), (0, 7_200_000)],  # 120 kJ/s over 60 s, but the interval caps at the timeout
        4: [(100, 0)],  # its first beat in the same second as its registration: nothing credited
    }
    with mirror.db.transaction() as conn:
        for nid in beats:
            registered = 1_000 if nid != 4 else 1_060
            mirror.apply(conn, _event("NodeRegistered", 1, {
                "nodeId": nid, "owner": "0x" + "11" * 20, "resourceClass": b"\x01" * 32,
                "capacity": 4, "pricePerUnitHour": VER, "stake": VER, "metadataURI": ""}),
                registered)  # fmt: skip
        for nid, history in beats.items():
            for k, (watts, energy) in enumerate(history):
                mirror.apply(conn, _event("HeartbeatRecorded", 2 + k, {
                    "nodeId": nid, "loadBps": 0, "watts": watts, "energyJ": energy,
                    "counterJ": energy}), 1_060 + 60 * k)  # fmt: skip
    reader = RoundReader(mirror, None, None, chain_id=1, market="0x", verifier="0x")  # type: ignore[arg-type]
    credited = reader.credited_watts(10, timeout=30)
    # node 1: 30,000 J over min(60, 30) s; node 3: 7.2 MJ over 30 s; node 2 as it says
    assert credited == {1: 1_000, 2: 400, 3: 240_000}
    assert reader.credited_watts(10, timeout=600) == {1: 500, 2: 200, 3: 120_000}
    assert reader.credited_watts(2, timeout=600) == {2: 200}  # at the first beats' block
    # the surcharge is the larger of the two: node 1 beat 0 W yet pays for its 500 W
    long = reader.credited_watts(10, timeout=600)
    assert energy_surcharge(node(1, watts=max(0, long[1])), VER) == 500 * VER // 4_000 > 0
