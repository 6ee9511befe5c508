"""A node that stops heartbeating, handled by the committee alone: four real `verai oracle run`
processes report it (a suspicion after the heartbeat timeout, the failure after the grace),
settle its running assignment and reassign it by a VRF reassignment report; the node that gets
it resumes from the failed assignment's checkpoint. The node side (registrations, heartbeats,
checkpoints) is driven from the test's wallets; the chain's clock is moved past the timeout
and the grace, with the live nodes' heartbeats in the very block that jumps."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from oracle.chain.calls import calldata
from oracle.cid import cid_bytes_for
from scripts._processes import wait_until
from tests._localnet import VER, Localnet
from tests.e2e._committee_harness import Committee, make_committee
from tests.service._network import heartbeat_call

pytestmark = pytest.mark.e2e
FAILED_ASSIGNMENT = 4  # TaskMarket.AssignmentStatus.Failed


@pytest.fixture(scope="module")
def committee(chain_1s: Localnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Committee]:
    c = make_committee(chain_1s, tmp_path_factory.mktemp("failure-committee"))
    try:
        for m in c.members:
            m.process.start()
        for m in c.members:
            m.process.wait_for_output(r"oracle member started", timeout=60)
        yield c
    finally:
        c.stop_all()


def jump(c: Committee, seconds: int, alive: list[tuple[int, int]]) -> None:
    """Moves the chain's clock `seconds` ahead in one block that also carries a heartbeat of
    each (owner account, node) in `alive`, so only the other nodes look silent."""
    net = c.net
    net.rpc_call("evm_setIntervalMining", 0)  # no block while the jump is prepared
    try:
        hashes = []
        for owner, node in alive:
            account = net.account(owner)
            nonce = int(
                net.rpc.request("eth_getTransactionCount", [account.address, "pending"]), 16
            )
            tx = {"type": 2, "chainId": net.chain_id, "nonce": nonce, "value": 0,
                  "to": net.record.contracts["NodeRegistry"], "gas": 200_000,
                  "data": "0x" + calldata(heartbeat_call(net.contracts.registry, node)).hex(),
                  "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9}  # fmt: skip
            raw = account.sign_transaction(tx).raw_transaction
            hashes.append(net.rpc_call("eth_sendRawTransaction", "0x" + bytes(raw).hex()))
        net.rpc_call("evm_setNextBlockTimestamp", net.timestamp() + seconds)
        net.rpc_call("evm_mine")
    finally:
        net.rpc_call("evm_setIntervalMining", 1)
    for h in hashes:
        receipt = net.rpc.request("eth_getTransactionReceipt", [h])
        assert receipt is not None and receipt["status"] == "0x1", (h, receipt)


def senders(c: Committee, events: list[Any]) -> set[str]:
    return {
        str(c.net.rpc.request("eth_getTransactionByHash", [e.tx_hash])["from"]).lower()
        for e in events
    }


def test_silent_node_is_reported_settled_and_its_work_reassigned_by_vrf_and_resumed(
    committee: Committee,
) -> None:
    c = committee
    net = c.net
    members = {m.address.lower() for m in c.members}
    params = net.contracts.registry.functions.parameters().call()
    timeout, grace = int(params[0]), int(params[4])
    silent = c.register_node(1, capacity=2, price=VER)  # the cheapest: it gets the task
    others = [(2, c.register_node(2, capacity=4, price=2 * VER)),
              (3, c.register_node(3, capacity=4, price=2 * VER))]  # fmt: skip
    task = c.submit_task(5, units=2, max_price=3 * VER)
    wait_until(lambda: c.assignments_of(task), timeout=60, what=f"task {task} to be allocated")
    (first,) = c.assignments_of(task)
    assert first["nodeId"] == silent
    failed_id = int(first["assignmentId"])
    checkpoint = cid_bytes_for(b"model state after step 1")
    net.send(net.contracts.checkpoints.functions.commit(failed_id, 1, checkpoint), net.account(1))
    since = net.head()

    jump(c, timeout + 1, others)  # the silent node's heartbeat is now older than the timeout
    wait_until(lambda: c.events("NodeRegistry", "NodeSuspected", since), timeout=60,
               what=f"a member to report node {silent} suspected")  # fmt: skip
    (suspected,) = c.events("NodeRegistry", "NodeSuspected", since)
    assert int(suspected.args["nodeId"]) == silent

    jump(c, grace + 1, others)  # the grace has passed without a heartbeat
    wait_until(lambda: c.events("NodeRegistry", "NodeFailed", since), timeout=60,
               what=f"a member to fail node {silent}")  # fmt: skip
    wait_until(
        lambda: any(int(e.args["assignmentId"]) == failed_id
                    and int(e.args["status"]) == FAILED_ASSIGNMENT
                    for e in c.events("TaskMarket", "AssignmentClosed", since)),
        timeout=60, what=f"a member to settle assignment {failed_id} of the failed node",
    )  # fmt: skip
    wait_until(
        lambda: any(int(a["resumesFrom"]) == failed_id for a in c.assignments_of(task)),
        timeout=90, what=f"assignment {failed_id} to be reassigned by a committee report",
    )  # fmt: skip
    resumed = next(a for a in c.assignments_of(task) if int(a["resumesFrom"]) == failed_id)
    assert int(resumed["nodeId"]) in {node for _, node in others}
    assert int(resumed["units"]) == 2

    # nothing by hand: every keeper call and the reassignment came from committee members
    failed = c.events("NodeRegistry", "NodeFailed", since)
    settled = c.events("TaskMarket", "NodeFailureSettled", since)
    drawn = c.events("TaskMarket", "ReassignmentDrawn", since)
    assert len(failed) == 1 and len(settled) == 1 and len(drawn) == 1
    assert senders(c, [suspected, *failed, *settled, *drawn]) <= members
    assert int(drawn[0].args["assignmentId"]) == failed_id
    keeper_calls = _calls_to(c, [net.record.contracts["NodeRegistry"],
                                 net.record.contracts["TaskMarket"]], since)  # fmt: skip
    assert keeper_calls == {"reportFailure": [True, True], "settleNodeFailure": [True]}, (
        keeper_calls  # each step sent once, none reverted: simulated first, one member at a time
    )

    # the reassignment round passes the audit (VRF proof, candidates, pick, entries)
    round_ = next(int(e.args["round"]) for e in c.events("ReportVerifier", "ReportAccepted", since)
                  if e.tx_hash == drawn[0].tx_hash)  # fmt: skip
    audit = subprocess.run(
        [sys.executable, "-c", "from oracle.cli import main; main()", "audit", str(round_),
         "--rpc-url", net.url, "--deployment", str(net.record_path),
         "--store-folder", str(c.store)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr
    (c.folder / "reassignment-audit.txt").write_text(audit.stdout)

    # the new node resumes: its owner commits the next step on the new assignment
    owner = next(i for i, node in others if node == int(resumed["nodeId"]))
    receipt = net.send(
        net.contracts.checkpoints.functions.commit(
            int(resumed["assignmentId"]), 2, cid_bytes_for(b"model state after step 2")
        ),
        net.account(owner),
    )
    assert receipt["status"] == "0x1"


def _calls_to(c: Committee, addresses: list[str], since: int) -> dict[str, list[bool]]:
    """Function name -> [succeeded] of every transaction to `addresses` after block `since`."""
    wanted = {a.lower() for a in addresses}
    contracts = {c.net.record.contracts["NodeRegistry"].lower(): c.net.contracts.registry,
                 c.net.record.contracts["TaskMarket"].lower(): c.net.contracts.market}  # fmt: skip
    found: dict[str, list[bool]] = {}
    calls = [("eth_getBlockByNumber", [hex(n), True]) for n in range(since + 1, c.net.head() + 1)]
    for start in range(0, len(calls), 200):
        for block in c.net.rpc.batch(calls[start : start + 200]):
            for tx in block["transactions"]:
                to = (tx.get("to") or "").lower()
                if to not in wanted:
                    continue
                function, _ = contracts[to].decode_function_input(tx["input"])
                if function.fn_name == "heartbeat" or function.fn_name == "commit":
                    continue
                receipt = c.net.rpc.request("eth_getTransactionReceipt", [tx["hash"]])
                found.setdefault(function.fn_name, []).append(receipt["status"] == "0x1")
    return found
