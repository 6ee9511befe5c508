"""A Throttled node is relieved of its work and given none, on a real chain: the service's own
rounds (a real Ingestor and Mirror, `RoundReader.inputs`, `solve`, the cut, the committee's
signatures) move each of its running assignments, whole, to an Active node of its class through
Rebalance moves; each new assignment resumes from the old one (resumesFrom, and the
CheckpointRegistry's resume point is the old assignment's last committed checkpoint), and no
allocation, reassignment or move of any round while it stays Throttled targets it, although it
is the cheapest node with free units.

That the node agent then stops the moved work and the target's agent resumes it from that
checkpoint, to the bytes of an uninterrupted run, is tests/agent/test_agent_reassignment.py
(`test_moved_assignment_stops_on_one_agent_and_resumes_on_the_other`) and the demo's "throttle"
step (scripts/network_demo.py `throttle_bob`, run by tests/e2e)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oracle.agent import reads
from oracle.chain.events import decode_logs
from oracle.cid import cid_bytes_for
from oracle.service.inputs import NODE_ACTIVE, NODE_THROTTLED
from oracle.service.solve import Solution
from tests._localnet import VER, Localnet
from tests.service._network import NodeSpec, RoundRun, TaskSpec
from tests.service._report_gas import LONG, WATT_LIMIT, GasLab


def created(net: Localnet, run: RoundRun) -> list[dict[str, Any]]:
    names = net.contracts.names_by_address()
    return [
        dict(e.args)
        for receipt in run.receipts
        for e in decode_logs(receipt["logs"], names)
        if e.name == "AssignmentCreated"
    ]


def targets(s: Solution) -> set[int]:
    """Every node an entry of the solution gives work to."""
    return (
        {e.node for e in s.allocation.entries}
        | {m.to_node_id for m in s.moves}
        | {r.node_id for r in s.reassignments}
        | {c.node_id for r in s.reassignments for c in r.candidates}
    )


def test_a_throttled_nodes_assignments_move_whole_and_resume_and_it_gets_no_new_work(
    localnet: Localnet, tmp_path: Path
) -> None:
    net, lab = localnet, GasLab(localnet, tmp_path / "relief", gas_cap=10_000_000)
    c = net.contracts
    key = lab.new_class()
    # by price: the victim, then the hot node (cheaper than a and b, with room to spare)
    victim, hot, a, b = lab.pop.register_nodes(
        [NodeSpec(1, VER, key), NodeSpec(6, VER + VER // 2, key),
         NodeSpec(4, 2 * VER, key), NodeSpec(6, 2 * VER, key)]
    )  # fmt: skip
    tv, t1, t2 = lab.pop.submit_tasks(
        [TaskSpec(1, 3 * VER, key, LONG), TaskSpec(3, 3 * VER, key, LONG),
         TaskSpec(1, 3 * VER, key, LONG)]
    )  # fmt: skip
    first = lab.rounds.run()
    assert not first.skipped
    placed = {(int(x["taskId"]), int(x["nodeId"])): int(x["assignmentId"])
              for x in created(net, first)}  # fmt: skip
    assert set(placed) == {(tv, victim), (t1, hot), (t2, hot)}, placed
    # checkpoints committed by the nodes' owners: what the moved work must resume from
    cids = {}
    for (task, node), assignment in placed.items():
        cids[assignment] = cid_bytes_for(f"model of task {task} at step 10".encode())
        net.send(c.checkpoints.functions.commit(assignment, 10, cids[assignment]),
                 lab.pop.owners[node])  # fmt: skip
    lab.fail([victim], [hot, a, b])  # the victim's assignment waits for a VRF reassignment
    lab.pop.heartbeat([hot], watts=WATT_LIMIT * 3)  # over the class limit: Throttled
    assert int(c.registry.functions.getNode(hot).call()[2]) == NODE_THROTTLED
    (t3,) = lab.pop.submit_tasks([TaskSpec(2, 3 * VER, key, LONG)])  # hot is the cheapest room

    second = lab.rounds.run()
    s = second.solution
    assert not second.skipped
    by_id = {n.id: n for n in second.inputs.nodes}
    assert by_id[hot].status == NODE_THROTTLED and by_id[hot].free == 2  # the mirror's view
    assert hot in s.no_new_work and hot not in targets(s)
    # every running assignment of the throttled node moves; the reassignment and the new task
    # go to a or b
    assert {m.assignment_id for m in s.moves} == {placed[(t1, hot)], placed[(t2, hot)]}
    assert {r.assignment_id for r in s.reassignments} == {placed[(tv, victim)]}
    assert {(e.task, e.units) for e in s.allocation.entries} <= {(t3, 2), (t3, 1)}
    assert sum(e.units for e in s.allocation.entries) == 2
    new = {int(x["resumesFrom"]): x for x in created(net, second)}
    assert set(new) == {placed[(t1, hot)], placed[(t2, hot)], placed[(tv, victim)], 0}
    for old in (placed[(t1, hot)], placed[(t2, hot)]):
        was, now = reads.assignment(c, old, "latest"), new[old]
        target = int(now["nodeId"])
        assert target in (a, b) and reads.node(c, target).status == NODE_ACTIVE
        assert was.status_name == "Moved" and was.node_id == hot
        assert (int(now["taskId"]), int(now["units"])) == (was.task_id, was.units)  # whole
        assert int(now["pricePerUnitHour"]) == 2 * VER  # at the target's price
        moved_to = reads.assignment(c, int(now["assignmentId"]), "latest")
        assert moved_to.resumes_from == old and moved_to.status_name == "Running"
        # what the target's agent resumes from: the old assignment's last committed checkpoint
        point = reads.resume_point(c, moved_to.id, "latest")
        assert (point.source, point.step, point.cid) == (old, 10, cids[old])
    after = reads.node(c, hot)
    assert after.status == NODE_THROTTLED and after.reserved == 0  # nothing left on it

    # while it stays Throttled (it keeps heartbeating over the limit), later rounds give it
    # nothing, though it is now the cheapest node with 6 free units
    lab.pop.heartbeat([hot], watts=WATT_LIMIT * 3)
    lab.pop.submit_tasks([TaskSpec(1, 3 * VER, key, LONG), TaskSpec(2, 3 * VER, key, LONG)])
    third = lab.rounds.run()
    assert not third.skipped and third.solution.moves == ()
    assert third.solution.allocation.served_units == 3
    assert hot in third.solution.no_new_work and hot not in targets(third.solution)
    assert all(int(x["nodeId"]) != hot for x in created(net, third))
