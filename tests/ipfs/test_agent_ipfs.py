"""The agent on a real IPFS node (js-ipfs, Kubo RPC API): one agent checkpoints to IPFS and dies
for good; after its node fails, the committee's reassignment gives its work to another agent with
its own work folder and no shared files, which resumes from the chain's CID alone (fetched from
IPFS, re-hashed) and ends with an uninterrupted run's bytes. The task's spec is on IPFS too."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle.checkpoints import IpfsStore
from oracle.reports import AllocationEntry, Candidate
from tests._localnet import Localnet, start_localnet
from tests.agent._agents import (
    Agent,
    allocate,
    checkpoint_events,
    fail_node,
    final_bytes,
    node_price,
    reassign,
    reference_state,
    spec_uri,
    submit_task,
)
from tests.ipfs.test_ipfs_daemon import ipfs_api

__all__ = ["ipfs_api"]
STEPS = 40
SPEC = {"workload": "linear-regression", "steps": STEPS, "features": 64, "samples": 100_000}


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Localnet]:
    chain = start_localnet(tmp_path / "chain", heartbeat_timeout=60)
    try:
        yield chain
    finally:
        chain.anvil.stop()


@pytest.mark.ipfs
@pytest.mark.e2e
def test_agent_resumes_another_agents_work_by_cid_from_ipfs(
    ipfs_api: str, net: Localnet, tmp_path: Path
) -> None:
    ipfs = IpfsStore(ipfs_api)
    spec_cid = ipfs.put(json.dumps(SPEC, sort_keys=True).encode())
    settings = {"ipfs_url": ipfs_api, "metrics_port": None}
    alice = Agent(net, 3, tmp_path / "alice", settings=dict(settings)).mint()
    bob = Agent(net, 5, tmp_path / "bob", settings=dict(settings)).mint()
    try:
        alice.start()
        bob.start()
        node_a, node_b = alice.wait_registered(), bob.wait_registered()
        task = submit_task(net, 7, f"ipfs://{spec_cid}")
        allocate(net, [AllocationEntry(task, node_a, 1, node_price(net, node_a))])
        alice.wait_for(r"assignment 1  step 20 committed", timeout=90)
        alice.wait_for(r"assignment 1  step 2[1-9]/", timeout=60)
        alice.kill9()
        lost = max(int(s) for s in re.findall(r"assignment 1  step (\d+)/", alice.output()))
        at_20 = next(e for e in checkpoint_events(net) if e["assignment"] == 1 and e["step"] == 20)
        assert ipfs.get(at_20["cid"])  # on the IPFS node, nowhere else bob can see

        fail_node(net, node_a)
        net.send(net.contracts.market.functions.settleNodeFailure(node_a, [1]), net.account(18))
        free = int(net.contracts.registry.functions.freeCapacity(node_b).call())
        reassign(net, 1, [Candidate(node_b, free)])
        new = int(net.contracts.market.functions.assignmentCount().call())

        bob.wait_for(rf"assignment {new} of task {task}: .* resumes assignment 1 at step 20", 90)
        bob.wait_for(rf"assignment {new} completed at step {STEPS}", timeout=120)
        # the same spec, as an inline URI, gives the reference (the canonical JSON is equal)
        reference = reference_state(spec_uri(**SPEC), task, 1, STEPS)
        assert final_bytes(net, ipfs, new) == reference
        assert not (bob.home / "work" / "checkpoints").exists()  # bob's store is IPFS only
        print(f"\nalice died at step {lost} (IPFS checkpoint 20); bob resumed by CID: bytes equal")
    finally:
        alice.stop()
        bob.stop()
