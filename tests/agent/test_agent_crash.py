"""kill -9 of a real agent process, twice, and restarts: first between two checkpoints (work
computed since the last commit is lost and recomputed, never reported), then with a commit signed
and sent but not mined and lost by the node (the restarted agent re-sends the same signed
transaction from its SQLite, so the step lands once). The final model equals an uninterrupted
run's, byte for byte; no step is committed twice and no transaction of the agent reverted."""

from __future__ import annotations

import re
import sqlite3

import pytest

from oracle.checkpoints import LocalStore
from oracle.reports import AllocationEntry
from scripts._processes import wait_until
from tests._localnet import Localnet
from tests.agent._agents import (
    allocate,
    checkpoint_events,
    final_bytes,
    node_price,
    reference_state,
    spec_uri,
    submit_task,
)
from tests.agent.conftest import MakeAgent

pytestmark = pytest.mark.e2e
STEPS = 60


def _chain_step(net: Localnet, assignment: int) -> int:
    return int(net.contracts.market.functions.getAssignment(assignment).call()[7])


def _computed(output: str) -> int:
    return max(int(s) for s in re.findall(r"assignment 1  step (\d+)/", output))


def test_kill9_between_checkpoints_and_with_a_commit_in_flight(
    localnet: Localnet, agents: MakeAgent
) -> None:
    net = localnet
    agent = agents(3, checkpoint_steps=20).mint()
    agent.start()
    node = agent.wait_registered()
    uri = spec_uri(workload="linear-regression", steps=STEPS, features=64, samples=150_000)
    task = submit_task(net, 7, uri)
    allocate(net, [AllocationEntry(task, node, 1, node_price(net, node))])

    # ---------------------------------------------------------------- kill 1: between checkpoints
    agent.wait_for(r"assignment 1  step 20 committed", timeout=60)
    agent.wait_for(r"assignment 1  step 2[5-9]/", timeout=60)
    agent.kill9()
    first = agent.output()
    computed_1 = _computed(first)
    assert _chain_step(net, 1) == 20 and 20 < computed_1 < 40, (computed_1, first[-2000:])

    agent.start()
    agent.wait_for(r"resumes its own checkpoint at step 20", timeout=60)

    # ---------------------------------------------------------------- kill 2: commit in flight
    agent.wait_for(r"assignment 1  step 2[1-9]/", timeout=60)
    net.rpc_call("evm_setAutomine", False)  # blocks stop: the next commit cannot be mined
    sent = agent.wait_for(r"assignment 1  step 40/60 .* commit sent (0x[0-9a-f]{64})", timeout=60)
    agent.kill9()
    second = agent.output()
    assert net.rpc_call("eth_getTransactionReceipt", sent.group(1)) is None
    net.rpc_call("anvil_dropAllTransactions")  # and the node forgets it: only the agent has it
    net.rpc_call("evm_setAutomine", True)
    assert _chain_step(net, 1) == 20

    agent.start()
    resumed = agent.wait_for(r"transaction\(s\) in flight before the restart: ([^\n]*)", timeout=60)
    assert "commit:1:40" in resumed.group(1)
    agent.wait_for(r"commit:1:40: mined", timeout=60)
    agent.wait_for(r"resumes its own checkpoint at step 40", timeout=60)
    agent.wait_for(rf"assignment 1 completed at step {STEPS}", timeout=90)
    third = agent.output()
    assert agent.stop() == 0

    # ---------------------------------------------------------------- what the chain holds
    events = [e for e in checkpoint_events(net) if e["assignment"] == 1]
    assert [e["step"] for e in events if not e["final"]] == [20, 40]  # each step exactly once
    assert sum(e["final"] for e in events) == 1
    store = LocalStore(agent.home / "work" / "checkpoints")
    assert final_bytes(net, store, 1) == reference_state(uri, task, 1, STEPS)
    commit_40 = next(e for e in events if e["step"] == 40)
    receipt_hashes = {
        tx["hash"]
        for tx in net.rpc_call("eth_getBlockByNumber", hex(commit_40["block"]), True)[
            "transactions"
        ]
    }
    assert sent.group(1) in receipt_hashes  # the very transaction signed before the crash

    db = sqlite3.connect(agent.home / "work" / "agent.sqlite")
    rows = db.execute("SELECT key, state, hashes FROM transactions").fetchall()
    assert {state for _, state, _ in rows} == {"mined"}, rows
    for _, _, hashes in rows:
        for tx_hash in re.findall(r"0x[0-9a-f]{64}", hashes):
            receipt = net.rpc_call("eth_getTransactionReceipt", tx_hash)
            assert receipt is None or int(receipt["status"], 16) == 1
    nonce = int(net.rpc_call("eth_getTransactionCount", agent.address, "latest"), 16)
    assert nonce == len(rows)  # every nonce is one of the agent's recorded transactions

    recomputed_1 = computed_1 - 20
    recomputed_2 = _computed(second) - 40  # 0: the commit of step 40 survived the crash
    print(
        f"\nkill 1 at step {computed_1} (chain at 20): {recomputed_1} steps recomputed; "
        f"kill 2 with the commit of step 40 in flight: {recomputed_2} recomputed; "
        f"commits {[e['step'] for e in events]}; final bytes equal; "
        f"{len(rows)} transactions, all mined"
    )
    assert "starting fresh" in first and "starting fresh" not in second + third
    wait_until(lambda: not agent.process or not agent.process.alive(), timeout=5, what="exit")
