"""Faults on the contributors' side of the whole network (four oracle members, three node agents,
a developer on the wallet CLI, as `make demo` runs them; 1 s blocks): kill -9 of an agent between
two checkpoints and with a commit in flight that the chain's node forgot, a developer cancelling
mid-run, a node leaving while it runs work. One network for the module; the scenarios run in
order and each ends with the suite's invariants (no round sent twice, no step paid without a
checkpoint, VER conserved, every checkpoint retrievable, final models equal to uninterrupted
runs, every round audited)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts._network_developer import Wallet
from tests.e2e._network import GPU_OFFERS, Network, Scenario, start_network

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    net = start_network(tmp_path_factory.mktemp("network-agents"), GPU_OFFERS)
    try:
        yield net
    finally:
        net.stop()


def test_agent_killed_between_checkpoints_resumes_its_own_checkpoint(
    network: Network, scenario: Scenario
) -> None:
    net = network
    task = net.submit(steps=60)
    assignment = net.wait_allocated(task)
    a = int(assignment.args["assignmentId"])
    agent = net.agent_of(assignment)
    computed = net.wait_between_checkpoints(agent, a)
    agent.kill9()
    scenario.inject("kill -9 agent")
    net.wait_pool_empty(agent.address)
    on_chain = int(net.chain.assignment(a)["checkpointStep"])
    assert on_chain < computed

    agent.start()
    agent.wait_for(
        rf"assignment {a} of task {task}: .* resumes its own checkpoint at step {on_chain}"
    )
    net.wait_completed(task)
    steps = net.checkpoints(a)
    assert steps == sorted(set(steps)), steps  # each step committed once
    assert not net.suspicions(agent.node_id)  # back before its heartbeat timeout
    net.assert_invariants(scenario)
    scenario.detail["lost steps"] = computed - on_chain


def test_agent_killed_with_a_commit_in_flight_resends_the_same_transaction(
    network: Network, scenario: Scenario
) -> None:
    net, chain = network, network.chain
    task = net.submit(steps=60)
    assignment = net.wait_allocated(task)
    a = int(assignment.args["assignmentId"])
    agent = net.agent_of(assignment)
    net.wait_checkpoint(a, 10)
    chain.pause_mining()  # the next commit cannot be mined
    try:
        committed = int(chain.assignment(a)["checkpointStep"])
        sent = net.wait_commit_sent(agent, a, after=committed)
        agent.kill9()
        scenario.inject("kill -9 agent")
        step, tx_hash = int(sent.group(1)), sent.group(2)
        chain.request("anvil_dropTransaction", tx_hash)  # and the node forgets it
        scenario.inject("transaction dropped by the node")
        assert chain.request("eth_getTransactionByHash", tx_hash) is None
    finally:
        chain.resume_mining()
    agent.start()
    resumed = agent.wait_for(r"transaction\(s\) in flight before the restart: ([^\n]*)")
    assert f"commit:{a}:{step}" in resumed.group(1)
    agent.wait_for(rf"commit:{a}:{step}: mined")
    net.wait_completed(task)
    receipt = chain.request("eth_getTransactionReceipt", tx_hash)
    assert receipt is not None and receipt["status"] == "0x1"  # the very bytes signed before
    steps = net.checkpoints(a)
    assert steps.count(step) == 1 and steps == sorted(set(steps)), steps
    net.assert_invariants(scenario)


def test_developer_cancels_mid_run_and_is_refunded_all_but_the_checkpointed_work(
    network: Network, scenario: Scenario
) -> None:
    net, chain = network, network.chain
    task = net.submit(steps=100)
    assignment = net.wait_allocated(task)
    a = int(assignment.args["assignmentId"])
    net.wait_checkpoint(a, 20)
    net.developer.cancel(task)
    scenario.inject("task cancelled mid-run")
    (cancelled,) = [
        e for e in chain.events("TaskMarket", "TaskCancelled", chain.record.start_block)
        if int(e.args["taskId"]) == task
    ]  # fmt: skip
    cancelled_at = chain.timestamp(cancelled.block_number)
    # the node's completion window: it finishes, paid up to the cancellation at most
    closed = net.wait_closed(a)
    assert int(closed.args["paidUntil"]) <= cancelled_at
    out = net.developer.refund(task)
    refunded = [
        e for e in chain.events("TaskMarket", "TaskRefunded", chain.record.start_block)
        if int(e.args["taskId"]) == task
    ]  # fmt: skip
    submitted = next(
        e for e in chain.events("TaskMarket", "TaskSubmitted", chain.record.start_block)
        if int(e.args["taskId"]) == task
    )  # fmt: skip
    assert len(refunded) == 1, out
    assert int(refunded[0].args["amount"]) == int(submitted.args["escrow"]) - int(
        closed.args["earned"]
    )
    net.assert_invariants(scenario)


def test_node_leaving_while_assigned_finishes_its_work_then_withdraws_its_stake(
    network: Network, scenario: Scenario, tmp_path: Path
) -> None:
    net, chain = network, network.chain
    task = net.submit(steps=80)
    assignment = net.wait_allocated(task)
    a = int(assignment.args["assignmentId"])
    agent = net.agent_of(assignment)
    net.wait_checkpoint(a, 10)
    owner = Wallet(agent.name, agent.home, chain, net.cli)
    owner.verai("node", "exit", str(agent.node_id), "--yes")
    scenario.inject("node exits while assigned")
    net.wait_completed(task)  # an exiting node finishes what it runs
    agent.wait_for(r"holds no work: heartbeats stop here", timeout=60)
    assert agent.process is not None
    agent.process.process.wait(timeout=60)  # type: ignore[union-attr]
    assert agent.process.returncode == 0, agent.output()[-2000:]
    # no new work went to it meanwhile, and it is never reported: nothing at risk
    second = net.submit(steps=20)
    assert int(net.wait_allocated(second).args["nodeId"]) != agent.node_id
    net.wait_completed(second)
    unbonding = int(chain.node(agent.node_id)["unbondingEndsAt"])
    alive = [x.address for x in net.nodes.alive()]
    chain.jump(unbonding + 1, alive=alive)
    owner.verai("node", "withdraw", str(agent.node_id), "--yes")
    assert chain.node(agent.node_id)["stake"] == 0
    assert not net.suspicions(agent.node_id)
    net.assert_invariants(scenario)
