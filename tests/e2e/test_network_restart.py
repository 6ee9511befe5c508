"""Every process of the network killed at once (kill -9 of the four oracle members and both node
agents, with work running and a round in flight) and restarted: each resumes from its SQLite
and the chain, every task completes with an uninterrupted run's bytes, no round is lost or sent
twice, nothing is paid without a checkpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts._network_agents import Offer
from tests.e2e._network import GPU, Network, Scenario, start_network

pytestmark = pytest.mark.e2e
OFFERS = [Offer("alice", GPU, 1, "2", "150", gpu_watts=300),
          Offer("bob", GPU, 1, "2.5", "150", gpu_watts=300)]  # fmt: skip


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    net = start_network(tmp_path_factory.mktemp("network-restart"), OFFERS)
    try:
        yield net
    finally:
        net.stop()


def test_every_process_killed_at_once_and_restarted_loses_nothing(
    network: Network, scenario: Scenario
) -> None:
    net = network
    first, second = net.submit(steps=80), net.submit(steps=80)
    running = [net.wait_allocated(first), net.wait_allocated(second)]
    ids = [int(a.args["assignmentId"]) for a in running]
    assert {int(a.args["nodeId"]) for a in running} == {n.node_id for n in net.nodes}
    for assignment in ids:
        net.wait_checkpoint(assignment, 20)
    third = net.submit(steps=30)  # waits for a free unit: a round in flight at the kill
    processes = [*net.committee.members, *net.nodes]
    for process in processes:
        process.kill9()
    scenario.inject("kill -9 of every process", len(processes))
    for member in net.committee.members:
        member.start()
    for agent in net.nodes:
        agent.start()
    for member in net.committee.members:
        member.wait_started()
    for task in (first, second, third):
        net.wait_completed(task, timeout=180)
    for agent, assignment in zip(net.nodes, ids, strict=True):
        steps = net.checkpoints(assignment)
        assert steps == sorted(set(steps)), (agent.name, steps)
    for agent in net.nodes:
        assert not net.suspicions(agent.node_id)
    net.assert_invariants(scenario)
