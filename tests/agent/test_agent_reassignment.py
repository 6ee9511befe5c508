"""Two real agents: one is killed for good between two checkpoints, its node is reported failed
and its assignment settled; the committee's VRF reassignment report (transmitted here as the
oracle service would) gives the work to the other node, whose agent resumes from the chain's
resumePoint by CID, re-hashes the bytes and ends with exactly an uninterrupted run's model.
Tampered checkpoint bytes are refused and reported instead."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from oracle.agent import reads
from oracle.checkpoints import LocalStore, cid_for
from oracle.reports import AllocationEntry, Candidate
from tests._localnet import Localnet
from tests.agent._agents import (
    allocate,
    checkpoint_events,
    fail_node,
    final_bytes,
    move,
    node_price,
    reassign,
    reference_state,
    spec_uri,
    submit_task,
)
from tests.agent.conftest import MakeAgent

pytestmark = pytest.mark.e2e
LOCALNET_DEPLOY = {"heartbeat_timeout": 60}
STEPS = 50
FAILED, RUNNING = 4, 1


@pytest.mark.parametrize("checkpoint", ["intact", "tampered"])
def test_killed_nodes_work_is_reassigned_and_resumed_by_the_other_agent(
    localnet: Localnet, agents: MakeAgent, checkpoint: str, tmp_path: Path
) -> None:
    net, market = localnet, localnet.contracts.market
    shared = tmp_path / "shared-store"  # both nodes reach one checkpoint folder
    alice = agents(3, store=str(shared)).mint().start()
    bob = agents(5, store=str(shared)).mint().start()
    node_a, node_b = alice.wait_registered(), bob.wait_registered()
    uri = spec_uri(workload="linear-regression", steps=STEPS, features=64, samples=100_000)
    task = submit_task(net, 7, uri)
    allocate(net, [AllocationEntry(task, node_a, 1, node_price(net, node_a))])

    alice.wait_for(r"assignment 1  step 20 committed", timeout=60)
    alice.wait_for(r"assignment 1  step 2[5-9]/", timeout=60)
    alice.kill9()  # for good
    lost = max(int(s) for s in re.findall(r"assignment 1  step (\d+)/", alice.output()))
    at_20 = next(e for e in checkpoint_events(net) if e["assignment"] == 1 and e["step"] == 20)

    fail_node(net, node_a)
    net.send(market.functions.settleNodeFailure(node_a, [1]), net.account(18))
    assert reads.assignment(net.contracts, 1, "latest").status == FAILED
    if checkpoint == "tampered":
        path = LocalStore(shared).path_of(at_20["cid"])
        path.write_bytes(bytes(b ^ 0xFF for b in path.read_bytes()))
    free = int(net.contracts.registry.functions.freeCapacity(node_b).call())
    reassign(net, 1, [Candidate(node_b, free)])
    new = int(market.functions.assignmentCount().call())
    assert reads.assignment(net.contracts, new, "latest").node_id == node_b

    if checkpoint == "tampered":
        bob.wait_for(
            rf"assignment {new} refused: checkpoint of assignment 1 at step 20 is corrupted",
            timeout=60,
        )
        assert not [e for e in checkpoint_events(net) if e["assignment"] == new]
        assert reads.assignment(net.contracts, new, "latest").status == RUNNING
        return

    bob.wait_for(rf"assignment {new} of task {task}: .* resumes assignment 1 at step 20", 60)
    bob.wait_for(rf"assignment {new} completed at step {STEPS}", timeout=90)
    resumed = [e for e in checkpoint_events(net) if e["assignment"] == new]
    assert [e["step"] for e in resumed if not e["final"]] == [30, 40]
    result = final_bytes(net, LocalStore(shared), new)
    assert result == reference_state(uri, task, 1, STEPS)  # shard seeded by the chain's root
    assert cid_for(result) == next(e["cid"] for e in resumed if e["final"])
    assert reads.node(net.contracts, node_a).status_name == "Failed"
    # bob's agent kept only its own node's assignment events and its class's task specs: none
    # of alice's, and not one heartbeat of anybody
    with sqlite3.connect(bob.home / "work" / "agent.sqlite") as db:
        kept = [
            (c, e, json.loads(a))
            for c, e, a in db.execute("SELECT contract, event, args FROM logs")
        ]
    assert {(c, e) for c, e, _ in kept} == {
        ("TaskMarket", "TaskSubmitted"),
        ("TaskMarket", "AssignmentCreated"),
        ("TaskMarket", "AssignmentClosed"),
    }
    assert all(a["nodeId"] == node_b for _, e, a in kept if e.startswith("Assignment"))
    print(
        f"\nalice computed up to step {lost}, committed 20, died; bob resumed at 20 "
        f"({lost - 20} steps of alice's were never paid), committed {[30, 40]}, completed "
        f"{STEPS}: final bytes equal an uninterrupted run"
    )


def test_moved_assignment_stops_on_one_agent_and_resumes_on_the_other(
    localnet: Localnet, agents: MakeAgent, tmp_path: Path
) -> None:
    """A rebalance report moves running work: the source agent stops (its steps after the last
    checkpoint are dropped, never committed), the target agent resumes from that checkpoint."""
    net, market = localnet, localnet.contracts.market
    shared = tmp_path / "shared-store"
    alice = agents(3, store=str(shared)).mint().start()
    bob = agents(5, store=str(shared)).mint().start()
    node_a, node_b = alice.wait_registered(), bob.wait_registered()
    uri = spec_uri(workload="linear-regression", steps=STEPS, features=64, samples=100_000)
    task = submit_task(net, 7, uri)
    allocate(net, [AllocationEntry(task, node_a, 1, node_price(net, node_a))])
    alice.wait_for(r"assignment 1  step 10 committed", timeout=60)
    net.rpc_call("evm_setAutomine", False)  # freeze the chain at a known checkpoint
    alice.wait_for(r"assignment 1  step 1[1-9]/", timeout=60)
    at = int(market.functions.getAssignment(1).call()[7])
    net.rpc_call("anvil_dropAllTransactions")  # a commit alice sent meanwhile never lands
    net.rpc_call("evm_setAutomine", True)
    move(net, 1, node_b)
    new = int(market.functions.assignmentCount().call())
    alice.wait_for(r"assignment 1 is Moved on chain: stopped at step \d+", timeout=60)
    bob.wait_for(rf"assignment {new} of task {task}: .* resumes assignment 1 at step {at}", 60)
    bob.wait_for(rf"assignment {new} completed at step {STEPS}", timeout=90)
    assert final_bytes(net, LocalStore(shared), new) == reference_state(uri, task, 1, STEPS)
    first = [e["step"] for e in checkpoint_events(net) if e["assignment"] == 1]
    assert first == [10]  # nothing after the move is recorded for the moved assignment
    assert reads.assignment(net.contracts, 1, "latest").status_name == "Moved"
