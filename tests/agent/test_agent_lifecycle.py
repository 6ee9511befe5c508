"""A real agent process on a real Anvil: register, heartbeat, an assignment made by a committee
report, checkpoints, completion, payment and withdrawal; metrics and health over HTTP; a graceful
SIGTERM in the middle of work, and a restart that registers nothing and resumes."""

from __future__ import annotations

import re

import pytest
import requests

from oracle.checkpoints import LocalStore
from oracle.reports import AllocationEntry
from tests._localnet import VER, Localnet
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
SLOW = {"features": 64, "samples": 100_000}  # ~10-20 ms a step: work a signal can land in


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def test_agent_registers_works_is_paid_and_stops_gracefully(
    localnet: Localnet, agents: MakeAgent
) -> None:
    net, c = localnet, localnet.contracts
    agent = agents(3).mint(1_000 * VER).start()
    node = agent.wait_registered()
    port = int(agent.wait_for(r"metrics on http://127\.0\.0\.1:(\d+)/metrics").group(1))
    assert node == 1
    assert "registered node 1 (GPU-A100-80G, 2 units at 2 VER/unit-h" in agent.output()
    beat_at = int(c.registry.functions.getNode(node).call()[7])
    assert beat_at > 0  # lastHeartbeatAt: the heartbeat landed

    # ---------------------------------------------------------------- assignment by report
    uri = spec_uri(workload="linear-regression", steps=60, **SLOW)
    task = submit_task(net, 7, uri)
    price = node_price(net, node)
    allocate(net, [AllocationEntry(task, node, 1, price)])
    net.rpc_call("evm_increaseTime", 1800)  # half an hour of work passes on chain
    agent.wait_for(r"completed at step 60 .* earned ([0-9.,…]+) VER", timeout=90)
    withdrew = agent.wait_for(r"withdrew ([0-9.,…]+) VER of earnings", timeout=60)

    events = [e for e in checkpoint_events(net) if e["assignment"] == 1]
    assert [e["step"] for e in events if not e["final"]] == [10, 20, 30, 40, 50]
    store = LocalStore(agent.home / "work" / "checkpoints")
    assert final_bytes(net, store, 1) == reference_state(uri, task, 1, 60)

    closed = [
        log
        for log in net.rpc.request(
            "eth_getLogs",
            [{"fromBlock": "0x0", "toBlock": "latest", "address": c.market.address}],
        )
        if log["topics"][0] == "0x" + c.market.events.AssignmentClosed().topic[2:]
    ]
    assert len(closed) == 1
    earned = int(c.market.functions.getAssignment(1).call()[6]) - int(
        c.market.functions.getAssignment(1).call()[5]
    )
    paid = 1 * price * earned // 3600  # units x price x (lastCheckpointAt - startAt) / 1 h
    assert paid >= VER // 2  # the half hour was paid
    balance = int(c.token.functions.balanceOf(agent.address).call())
    assert balance == 1_000 * VER - 150 * VER + paid  # staked 150, withdrew every wei earned
    assert int(c.market.functions.earningsOf(agent.address).call()) == 0
    assert withdrew.group(1)

    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert _metric(metrics, "verai_agent_steps_total") == 60
    assert _metric(metrics, "verai_agent_checkpoints_total") == 5
    assert _metric(metrics, 'verai_agent_commits_total{result="mined"}') == 5
    assert _metric(metrics, 'verai_agent_heartbeats_total{result="mined"}') >= 1
    assert _metric(metrics, "verai_agent_heartbeat_failures_total") == 0
    assert _metric(metrics, "verai_agent_power_measured") == 0  # no GPU, no RAPL: estimated
    assert 'verai_agent_energy_joules_total{source="estimate"}' in metrics
    assert 'verai_agent_watts{source="estimate"}' in metrics
    assert _metric(metrics, "verai_agent_withdrawn_wei_total") == pytest.approx(paid, rel=1e-12)
    health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["healthy"] is True

    # ---------------------------------------------------------------- SIGTERM mid-work
    uri2 = spec_uri(workload="linear-regression", steps=150, learning_rate=0.01, **SLOW)
    task2 = submit_task(net, 8, uri2)
    allocate(net, [AllocationEntry(task2, node, 1, price)])
    agent.wait_for(r"assignment 2  step 10 committed", timeout=60)
    agent.wait_for(r"assignment 2  step (1[1-9]|[2-9]\d)/150", timeout=60)
    assert agent.stop() == 0  # SIGTERM: graceful
    out = agent.output()
    stopped = re.search(r"stopped; committed assignment 2 at step (\d+)", out)
    assert stopped, out[-3000:]
    kept = int(stopped.group(1))
    computed = max(int(s) for s in re.findall(r"assignment 2  step (\d+)/150", out))
    assert kept == computed  # everything computed before the signal was committed
    assert int(c.market.functions.getAssignment(2).call()[7]) == kept  # checkpointStep on chain
    heartbeats_before = c.registry.functions.getNode(node).call()[7]

    # ---------------------------------------------------------------- restart: nothing twice
    agent.start()
    agent.wait_for(r"found node 1 ", timeout=60)
    agent.wait_for(rf"assignment 2 of task {task2}: .* resumes its own checkpoint at step {kept}")
    agent.wait_for(r"assignment 2 completed at step 150", timeout=90)
    assert int(c.registry.functions.nodeCount().call()) == 1
    assert int(c.registry.functions.getNode(node).call()[7]) >= heartbeats_before
    assert final_bytes(net, store, 2) == reference_state(uri2, task2, 2, 150)
    steps2 = [e["step"] for e in checkpoint_events(net) if e["assignment"] == 2 and not e["final"]]
    assert steps2 == sorted(set(steps2))  # strictly increasing, none twice
    assert agent.stop() == 0
