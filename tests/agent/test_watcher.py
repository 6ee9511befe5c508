"""The agent's assignment watcher on a real Anvil: it sees its node's assignment and its class's
task spec through the topic filter, and forgets both when a reorg removes the blocks that made
them (the chain layer's Ingestor rewinds, the agent's sink undoes its rows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.agent.registration import NodeOffer, ensure_registered
from oracle.agent.watcher import AssignmentWatcher
from oracle.chain.tx import TxSender
from oracle.reports import AllocationEntry
from oracle.store import Database
from tests._localnet import GPU, VER, Localnet
from tests.agent._agents import allocate, spec_uri, submit_task

pytestmark = pytest.mark.e2e


def _watcher(net: Localnet, db: Database, node: int) -> AssignmentWatcher:
    return AssignmentWatcher(
        url=net.url,
        timeout=10,
        db=db,
        market=net.record.contracts["TaskMarket"],
        node_id=node,
        resource_class=GPU,
        start_block=net.record.start_block,
    )


def test_watcher_follows_its_node_and_rewinds_on_a_reorg(
    localnet: Localnet, tmp_path: Path
) -> None:
    net, c = localnet, localnet.contracts
    owners = [net.account(3), net.account(5)]
    nodes = []
    for owner in owners:
        net.send(c.token.functions.mint(owner.address, 500 * VER), net.deployer)
        sender = TxSender(net.rpc, owner, net.chain_id)
        offer = NodeOffer("GPU-A100-80G", 2, 2 * VER, 150 * VER)
        nodes.append(ensure_registered(c, sender, offer).node_id)
    mine, other = nodes
    watcher = _watcher(net, Database(tmp_path / "agent.sqlite"), mine)
    watcher.catch_up()
    snapshot = net.rpc_call("evm_snapshot")

    uri = spec_uri(workload="linear-regression", steps=5)
    task = submit_task(net, 7, uri, units=2)
    allocate(
        net, [AllocationEntry(task, mine, 1, 2 * VER), AllocationEntry(task, other, 1, 2 * VER)]
    )
    watcher.catch_up()
    booked = watcher.book.assignments(open_only=True)
    assert [(b.id, b.task_id, b.units) for b in booked] == [(1, task, 1)]  # not the other node's
    assert watcher.book.spec_uri(task) == uri

    net.rpc_call("evm_revert", snapshot)  # the blocks of the task and the report are gone
    net.mine(3)
    result = watcher.poll()
    assert result.reorg_depth > 0
    assert watcher.book.assignments() == [] and watcher.book.spec_uri(task) is None
    watcher.close()
