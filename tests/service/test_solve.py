"""The pure solution of a round: reassignment, shedding, no new work for overloaded nodes,
allocation, and the deterministic cut into reports under the gas cap."""

from __future__ import annotations

import itertools
from dataclasses import replace

from oracle import vrf
from oracle.service.document import build_document, parse_document
from oracle.service.inputs import (
    AssignmentRow,
    FailedRow,
    GasTable,
    NodeRow,
    Parameters,
    RoundInputs,
    TaskRow,
)
from oracle.service.solve import cut, solve, tries
from scripts._committee import LOCAL_VRF_SECRET

GPU = "0x" + "aa" * 32
KEY = LOCAL_VRF_SECRET


def inputs(nodes, tasks, running=(), failed=(), gas_cap=10_000_000, theta=10_000) -> RoundInputs:  # type: ignore[no-untyped-def]
    return RoundInputs(
        chain_id=84532, market="0x" + "11" * 20, verifier="0x" + "22" * 20,
        config_digest="0x" + "33" * 32, vrf_public_key="0x" + vrf.public_key(KEY).hex(),
        first_round=7, service_index=3, snapshot_block=100, block_hash="0x" + "44" * 32,
        timestamp=1_000,
        parameters=Parameters(theta_bps=theta, overload_margin_bps=5_000, gas_cap=gas_cap,
                              threshold=3, gas=GasTable()),
        nodes=tuple(nodes), tasks=tuple(tasks), running=tuple(running), failed=tuple(failed),
    )  # fmt: skip


def prove(alpha: bytes) -> bytes:
    return vrf.prove(KEY, alpha)


def node(i: int, cap: int = 4, reserved: int = 0, price: int = 10, status: int = 1,
         load: int = 0) -> NodeRow:  # fmt: skip
    return NodeRow(i, GPU, status, cap, reserved, price, load, 0)


def test_overloaded_and_throttled_nodes_get_no_new_work_and_throttled_ones_shed() -> None:
    data = inputs(
        [node(1, load=9_000), node(2, reserved=2, status=2), node(3, price=20)],
        [TaskRow(1, GPU, pending=3, running=2, max_price=50, seed=5)],
        running=[AssignmentRow(10, 1, 2, 2)],
    )
    s = solve(data, prove)
    assert s.no_new_work == (1, 2)
    assert [(m.assignment_id, m.to_node_id) for m in s.moves] == [(10, 3)]
    # node 3 had 4 free, 2 went to the move; the allocation gets the other 2
    assert [(e.node, e.units) for e in s.allocation.entries] == [(3, 2)]


def test_failed_assignment_is_reassigned_by_vrf_among_nodes_with_room() -> None:
    data = inputs(
        [node(1, status=3), node(2, cap=4), node(3, cap=8), node(4, cap=1)],
        [TaskRow(1, GPU, pending=2, running=0, max_price=50, seed=99)],
        failed=[FailedRow(21, 1, 1, 2, attempt=21)],
    )
    s = solve(data, prove)
    (r,) = s.reassignments
    assert [c.node_id for c in r.candidates] == [2, 3]  # node 4 lacks room, node 1 failed
    assert r.node_id in (2, 3) and len(r.proof) == 81
    assert s.allocation.entries == ()  # the units go to the reassignment, not twice
    again = solve(data, prove)
    assert again == s  # deterministic


def test_two_thousand_tasks_are_cut_into_reports_under_the_gas_cap() -> None:
    nodes = [node(i, cap=4) for i in range(1, 1_001)]
    tasks = [TaskRow(i, GPU, 1, 0, 50, i) for i in range(1, 2_001)]
    data = inputs(nodes, tasks, gas_cap=10_000_000)
    s = solve(data, prove)
    assert len(s.allocation.entries) == 2_000
    chunks = cut(s, data.parameters)
    gas = data.parameters.gas
    assert sum(c.entry_count for c in chunks) == 2_000
    for c in chunks:
        cost = gas.report_gas(3, len(c.allocations), len(c.moves))
        assert cost <= 10_000_000
    assert len(chunks) == -(-2_000 // ((10_000_000 - gas.base - 3 * gas.per_signature)
                                      // gas.allocation))  # fmt: skip
    doc = build_document(data, s)
    reports = doc.reports()
    assert [r.round for r in reports] == list(range(7, 7 + len(chunks)))
    assert len({r.inputs_digest for r in reports}) == 1
    parsed, _, published = parse_document(doc.data)
    assert parsed == data and len(published) == len(chunks)
    assert build_document(parsed, solve(parsed, prove)).data == doc.data  # byte-identical


def test_a_node_silent_past_the_heartbeat_timeout_gets_no_new_work() -> None:
    silent = NodeRow(1, GPU, 1, 4, 0, 10, 0, last_heartbeat_at=100)
    alive = NodeRow(2, GPU, 1, 4, 0, 20, 0, last_heartbeat_at=950)
    data = inputs([silent, alive], [TaskRow(1, GPU, 2, 0, 50, 1)])
    data = replace(data, heartbeat_timeout=600)  # the snapshot's timestamp is 1,000
    s = solve(data, prove)
    assert s.no_new_work == (1,)
    assert [(e.node, e.units) for e in s.allocation.entries] == [(2, 2)]  # not the cheaper one
    assert solve(replace(data, heartbeat_timeout=0), prove).allocation.entries[0].node == 1


def test_reassignment_candidates_are_a_vrf_placed_window_weighted_as_the_chain_applies() -> None:
    nodes = [node(1, status=3)] + [node(i, cap=3) for i in range(2, 102)]  # 100 candidates
    tasks = [TaskRow(t, GPU, pending=1, running=0, max_price=50, seed=t * 7) for t in (1, 2, 3)]
    failed = [FailedRow(30 + t, t, 1, 1, attempt=30 + t) for t in (1, 2, 3)]
    s = solve(inputs(nodes, tasks, failed=failed), prove)
    assert len(s.reassignments) == 3
    free = {i: 3 for i in range(2, 102)}
    for r in s.reassignments:
        ids = [c.node_id for c in r.candidates]
        assert len(ids) == 32 and ids == sorted(ids)
        ring = sorted(free)
        windows = [{ring[(start + k) % 100] for k in range(32)} for start in range(100)]
        assert set(ids) in windows  # 32 consecutive candidates (cyclically)
        assert [c.weight for c in r.candidates] == [free[i] for i in ids]  # after earlier picks
        free[r.node_id] -= 1
    assert s == solve(inputs(nodes, tasks, failed=failed), prove)


def test_the_cut_charges_each_reassignment_by_its_candidates_and_vrf_tries() -> None:
    nodes = [node(1, status=3)] + [node(i, cap=50) for i in range(2, 12)]
    tasks = [TaskRow(t, GPU, pending=1, running=0, max_price=50, seed=t) for t in range(1, 41)]
    failed = [FailedRow(100 + t, t, 1, 1, attempt=100 + t) for t in range(1, 41)]
    gas = GasTable()
    data = inputs(nodes, tasks, failed=failed, gas_cap=2_000_000)
    s = solve(data, prove)
    assert len(s.reassignments) == 40
    chunks = cut(s, data.parameters)
    budget = 2_000_000 - gas.base - 3 * gas.per_signature
    for c in chunks:
        costs = [gas.reassignment_gas(len(r.candidates), tries(r)) for r in c.reassignments]
        assert c.allocations == () and c.moves == () and sum(costs) <= budget
    for before, after in itertools.pairwise(chunks):  # greedy: the next one did not fit
        first = after.reassignments[0]
        used = sum(gas.reassignment_gas(len(r.candidates), tries(r)) for r in before.reassignments)
        assert used + gas.reassignment_gas(len(first.candidates), tries(first)) > budget
    assert [r for c in chunks for r in c.reassignments] == list(s.reassignments)
