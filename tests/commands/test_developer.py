"""A developer's day with the wallet CLI on a real chain: submit (escrow shown, confirmed,
permit or approve), allocated by a committee report, checkpointed and completed by the node,
refunded; status, list, watch, top-up, cancel; compensation when a node fails; balances."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oracle.cid import cid_bytes_for, cid_for
from tests.commands.conftest import VER, Cli, Localnet, allocate, heartbeat, nonce, task_id_of

DEV = "TEST::1"
OWNER = "TEST::2"
GPU = "GPU-A100-80G"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(cli: Cli, net: Localnet) -> dict[str, Any]:
    """The developer gets VER from the faucet; a contributor registers a node of 8 units at
    2 VER/unit-hour through the CLI."""
    cli.ok("faucet", DEV, "--ver", "1000")
    cli.ok("faucet", OWNER, "--ver", "500")
    registered = cli.json(
        "node",
        "register",
        GPU,
        "--capacity",
        "8",
        "--price",
        "2",
        "--stake",
        "150",
        "--account",
        OWNER,
        "--yes",
    )
    assert registered["created"] is True
    # a second node, before the chain's clock is moved ahead of this machine's (the registration
    # permit of oracle.agent.registration takes its deadline from the wall clock)
    cli.ok("faucet", "TEST::3", "--ver", "200")
    spare = cli.json(
        "node",
        "register",
        GPU,
        "--capacity",
        "2",
        "--price",
        "2",
        "--stake",
        "100",
        "--account",
        "TEST::3",
        "--yes",
    )["node_id"]
    return {
        "node": registered["node_id"],
        "owner": net.account(2),
        "dev": net.account(1),
        "spare": spare,
    }


def _ver(net: Localnet, address: str) -> int:
    return int(net.contracts.token.functions.balanceOf(address).call())


def _submit(cli: Cli, *extra: str, units: str = "4", duration: str = "2h") -> int:
    result = cli.ok(
        "task",
        "submit",
        GPU,
        units,
        "--max-price",
        "2.5",
        "--duration",
        duration,
        "--spec",
        "ipfs://spec-for-tests",
        "--account",
        DEV,
        "--yes",
        *extra,
    )
    return task_id_of(result.stdout)


def _assignment(net: Localnet, task_id: int) -> int:
    count = int(net.contracts.market.functions.assignmentCount().call())
    for assignment_id in range(count, 0, -1):
        if net.contracts.market.functions.getAssignment(assignment_id).call()[0] == task_id:
            return assignment_id
    raise AssertionError(f"task {task_id} has no assignment")


def test_submit_allocate_checkpoint_complete_refund(
    cli: Cli, net: Localnet, world: dict[str, Any], tmp_path: Path
) -> None:
    dev, owner = world["dev"], world["owner"]
    spec = tmp_path / "train.json"
    spec.write_text('{"model": "linear", "steps": 100}')
    before = _ver(net, dev.address)
    submitted = cli.ok(
        "task",
        "submit",
        GPU,
        "4",
        "--max-price",
        "2.5",
        "--duration",
        "2h",
        "--spec",
        str(spec),
        "--account",
        DEV,
        "--yes",
    )
    task_id = task_id_of(submitted.stdout)
    # the proposal shown before signing: escrow = ceil(4 x 2.5 x 7200 / 3600) = 20 VER
    assert "escrow       20 VER (the most it can cost" in submitted.stderr
    assert "an ERC-2612 permit signed with the transaction (one transaction)" in submitted.stderr
    assert "2 active nodes ask 2 VER/unit-h; 2 within your cap (10 free units)" in submitted.stderr
    assert _ver(net, dev.address) == before - 20 * VER

    status = cli.json("task", "status", str(task_id))
    assert status["status"] == "Open" and status["pending_units"] == 4
    assert status["spec_uri"] == f"ipfs://{cid_for(spec.read_bytes())}"
    assert status["escrow"] == str(20 * VER) and status["escrow_ver"] == "20"
    assert status["assignments"] == []

    allocate(net, task_id, world["node"], 4, 2 * VER)
    assignment_id = _assignment(net, task_id)
    net.mine(seconds=900)  # 15 minutes of work, then a checkpoint from the node's wallet
    first = cid_bytes_for(b"checkpoint at step 10")
    heartbeat(net, world["node"], owner)
    net.send(net.contracts.checkpoints.functions.commit(assignment_id, 10, first), owner)
    status = cli.json("task", "status", str(task_id))
    (line,) = status["assignments"]
    assert line["node_id"] == world["node"] and line["status"] == "Running"
    assert line["price"] == str(2 * VER) and line["units"] == 4
    assert line["checkpoint_step"] == 10 and line["checkpoint_cid"] == cid_for(
        b"checkpoint at step 10"
    )
    span = line["last_checkpoint_at"] - line["start_at"]
    assert span >= 900
    assert status["accrued"] == str(4 * 2 * VER * span // 3600) == line["earned"]
    assert int(status["escrow_left"]) == 20 * VER - int(status["accrued"])
    text = cli.ok("task", "status", str(task_id)).stdout
    assert "4: 0 pending, 4 running, 0 completed" in text
    assert cid_for(b"checkpoint at step 10") in text and "Running" in text

    net.mine(seconds=600)
    final = cid_bytes_for(b"final model")
    heartbeat(net, world["node"], owner)
    net.send(net.contracts.market.functions.complete(assignment_id, final), owner)
    done = cli.json("task", "status", str(task_id))
    assert done["status"] == "Completed" and done["completed_units"] == 4
    paid = int(done["paid"])
    assert paid == int(done["spent"]) > int(status["accrued"])
    assert done["assignments"][0]["checkpoint_cid"] == cid_for(b"final model")
    assert int(done["escrow_left"]) == 20 * VER - paid

    refunded = cli.ok("task", "refund", str(task_id), "--account", DEV, "--yes")
    assert f"of task {task_id} to {dev.address}" in refunded.stdout
    assert _ver(net, dev.address) == before - paid
    after = cli.json("task", "status", str(task_id))
    assert after["escrow"] == "0" and after["refunded"] == str(20 * VER - paid)

    # the contributor side of the same work: the earnings are owed, then withdrawn
    owed = cli.json("earnings", "show", "--account", OWNER)
    assert owed["owed"] == str(paid) and owed["account"] == owner.address
    balance = _ver(net, owner.address)
    out = cli.ok("earnings", "withdraw", "--account", OWNER, "--yes").stdout
    assert "withdrew" in out and _ver(net, owner.address) == balance + paid


def test_submit_asks_before_signing_and_a_no_sends_nothing(
    cli: Cli, net: Localnet, world: Any
) -> None:
    count = net.contracts.market.functions.taskCount().call()
    sent = nonce(net, world["dev"].address)
    args = (
        "task",
        "submit",
        GPU,
        "2",
        "--max-price",
        "1",
        "--duration",
        "1h",
        "--spec",
        "ipfs://x",
        "--account",
        DEV,
    )
    declined = cli.run(*args, input="n\n")
    assert declined.exit_code == 1 and "aborted: nothing was sent" in declined.stderr
    assert "Sign and send? [y/N]" in declined.stderr and "escrow       2 VER" in declined.stderr
    assert nonce(net, world["dev"].address) == sent
    assert net.contracts.market.functions.taskCount().call() == count
    accepted = cli.run(*args, input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert task_id_of(accepted.stdout) == count + 1


def test_submit_without_a_permit_approves_first(cli: Cli, net: Localnet, world: Any) -> None:
    dev = world["dev"]
    market = net.contracts.market.address
    sent = nonce(net, dev.address)
    result = cli.json(
        "task",
        "submit",
        GPU,
        "1",
        "--max-price",
        "123wei",
        "--duration",
        "3600",
        "--spec",
        "ipfs://y",
        "--account",
        DEV,
        "--yes",
        "--no-permit",
    )
    assert result["schema"] == "verai.task.submit/1"
    assert result["escrow"] == "123" and result["max_price_ver"] == "0.000000000000000123"
    assert nonce(net, dev.address) == sent + 2  # approve, then submitTask
    assert net.contracts.token.functions.allowance(dev.address, market).call() == 0
    task = net.contracts.market.functions.getTask(result["task_id"]).call()
    assert task[3] == 123


def test_topup_moves_the_end_by_what_the_amount_buys(cli: Cli, net: Localnet, world: Any) -> None:
    task_id = _submit(cli)
    before = net.contracts.market.functions.getTask(task_id).call()
    out = cli.ok("task", "topup", str(task_id), "5 VER", "--account", DEV, "--yes")
    assert "buys         30m for 4 units at 2.5 VER/unit-h" in out.stderr
    after = net.contracts.market.functions.getTask(task_id).call()
    assert after[3] == before[3] + 5 * VER
    assert after[4] == before[4] + 5 * VER * 3600 // (4 * 25 * VER // 10)


def test_cancel_then_refund_returns_the_whole_escrow(cli: Cli, net: Localnet, world: Any) -> None:
    dev = world["dev"]
    task_id = _submit(cli)
    balance = _ver(net, dev.address)
    cancelled = cli.ok("task", "cancel", str(task_id), "--account", DEV, "--yes")
    assert f"task {task_id} cancelled" in cancelled.stdout
    assert cli.json("task", "status", str(task_id))["status"] == "Ended"
    cli.ok("task", "refund", str(task_id), "--account", DEV, "--yes")
    assert _ver(net, dev.address) == balance + 20 * VER


def test_cancelled_running_work_is_settled_then_refunded(
    cli: Cli, net: Localnet, world: Any
) -> None:
    dev, owner = world["dev"], world["owner"]
    task_id = _submit(cli, units="2")
    allocate(net, task_id, world["node"], 2, 2 * VER)
    assignment_id = _assignment(net, task_id)
    net.mine(seconds=1800)
    heartbeat(net, world["node"], owner)
    net.send(
        net.contracts.checkpoints.functions.commit(assignment_id, 5, cid_bytes_for(b"half")), owner
    )
    cli.ok("task", "cancel", str(task_id), "--account", DEV, "--yes")
    refused = cli.refused("task", "refund", str(task_id), "--account", DEV, "--yes")
    assert refused == (
        f"refused, nothing sent: TaskMarketUnitsStillRunning: task {task_id} still has 2 units "
        "running (settle them first)"
    )
    market = net.contracts.market
    window = next((e for e in market.abi if e.get("name") == "COMPLETION_WINDOW"), None)
    net.mine(seconds=(int(market.functions.COMPLETION_WINDOW().call()) if window else 0) + 1)
    settled = cli.ok("task", "settle", str(task_id), "--account", "TEST::7", "--yes")
    assert f"assignment {assignment_id} settled" in settled.stdout
    status = cli.json("task", "status", str(task_id))
    (line,) = status["assignments"]
    earned = int(line["earned"])
    span = line["last_checkpoint_at"] - line["start_at"]  # paid up to the last checkpoint only
    assert line["status"] == "Ended" and span >= 1800
    assert earned == 2 * 2 * VER * span // 3600 and status["paid"] == str(earned)
    balance = _ver(net, dev.address)
    cli.ok("task", "refund", str(task_id), "--account", DEV, "--yes")
    assert _ver(net, dev.address) == balance + 10 * VER - earned
    nothing = cli.refused("task", "settle", str(task_id), "--account", DEV, "--yes")
    assert nothing == f"task {task_id} has no running assignment to settle (nothing sent)"


def test_list_mine_shows_only_the_wallets_tasks(cli: Cli, net: Localnet, world: Any) -> None:
    cli.ok("faucet", "TEST::5", "--ver", "100")
    other = cli.ok(
        "task",
        "submit",
        GPU,
        "1",
        "--max-price",
        "1",
        "--duration",
        "1h",
        "--spec",
        "ipfs://other",
        "--account",
        "TEST::5",
        "--yes",
    )
    other_id = task_id_of(other.stdout)
    mine = cli.json("task", "list", "--mine", "--account", DEV)
    assert mine["schema"] == "verai.task.list/1" and mine["developer"] == world["dev"].address
    ids = [t["task_id"] for t in mine["tasks"]]
    assert ids and other_id not in ids
    assert all(t["developer"] == world["dev"].address for t in mine["tasks"])
    everyone = cli.json("task", "list")
    assert other_id in [t["task_id"] for t in everyone["tasks"]]
    first = next(t for t in everyone["tasks"] if t["task_id"] == ids[0])
    assert int(first["max_price"]) == int(first["max_price_ver"].replace(".", "")) * 10 ** (
        18 - len(first["max_price_ver"].partition(".")[2])
    )
    table = cli.ok("task", "list", "--mine", "--open", "--account", DEV).stdout
    assert table.splitlines()[0].split()[:3] == ["task", "class", "status"]


def test_watch_follows_a_task_until_it_ends(
    cli: Cli, net: Localnet, world: Any, tmp_path: Path
) -> None:
    task_id = _submit(cli, units="2")
    env = {**os.environ, **{k: v for k, v in cli.env().items() if v}}
    for unset in ("VERAI_KEYSTORE", "VERAI_PASSWORD_FILE", "VERAI_RPC_URL"):
        env.pop(unset, None)
    log = tmp_path / "watch.out"
    with log.open("w") as out:
        watcher = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "verai"),
                "task",
                "watch",
                str(task_id),
                "--json",
                "--interval",
                "0.2",
                "--timeout",
                "120",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        try:
            _wait_for(log, '"status":"Open"')
            allocate(net, task_id, world["node"], 2, 2 * VER)
            _wait_for(log, '"status":"Running"')
            net.mine(seconds=60)
            assignment_id = _assignment(net, task_id)
            final = cid_bytes_for(b"watched")
            heartbeat(net, world["node"], world["owner"])
            net.send(net.contracts.market.functions.complete(assignment_id, final), world["owner"])
            assert watcher.wait(timeout=60) == 0, log.read_text()
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait(timeout=10)
    documents = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert documents[0]["status"] == "Open" and documents[0]["assignments"] == []
    assert documents[-1]["status"] == "Completed" and documents[-1]["completed_units"] == 2
    assert any(d["assignments"] and d["assignments"][0]["status"] == "Running" for d in documents)


def _wait_for(log: Path, text: str, timeout: float = 60.0) -> None:
    from scripts._processes import wait_until

    wait_until(lambda: text in log.read_text(), timeout=timeout, what=f"{text!r} in {log}")


def test_a_failed_node_compensates_the_developer(cli: Cli, net: Localnet, world: Any) -> None:
    node = world["spare"]
    task_id = _submit(cli, units="2")
    allocate(net, task_id, node, 2, 2 * VER)
    assignment_id = _assignment(net, task_id)
    registry = net.contracts.registry.functions
    timeout = int(registry.parameters().call()[0])
    net.mine(seconds=timeout + 1)
    reporter = net.account(9)
    for _ in range(2):  # a suspicion first where the registry has a failure grace
        net.send(registry.reportFailure(node), reporter)
        if registry.getNode(node).call()[2] == 3:
            break
        # a suspicion: the owner's status view says who reported it and from when it can fail
        (suspected,) = cli.json("node", "status", str(node))["nodes"]
        assert suspected["status"] == "Active" and suspected["suspected_by"] == reporter.address
        assert suspected["failable_at"] > suspected["suspected_at"] > 0
        assert "unless it heartbeats" in cli.ok("node", "status", str(node)).stdout
        grace = dict(zip(_parameter_names(net), registry.parameters().call(), strict=True))
        net.mine(seconds=int(grace.get("failureGrace", 0)) + 1)
    assert registry.getNode(node).call()[2] == 3  # Failed
    net.send(net.contracts.market.functions.settleNodeFailure(node, [assignment_id]), reporter)
    owed = cli.json("compensation", "show", "--account", DEV)
    assert int(owed["owed"]) > 0
    balance = _ver(net, world["dev"].address)
    out = cli.ok("compensation", "claim", "--account", DEV, "--yes").stdout
    assert f"claimed {owed['owed_ver']} VER of compensation" in out.replace(",", "")
    assert _ver(net, world["dev"].address) == balance + int(owed["owed"])
    again = cli.refused("compensation", "claim", "--account", DEV, "--yes")
    assert again.endswith("has no compensation to claim on chain 84532 (nothing sent)")


def _parameter_names(net: Localnet) -> list[str]:
    fn = next(e for e in net.contracts.registry.abi if e.get("name") == "parameters")
    return [c["name"] for c in fn["outputs"][0]["components"]]


def test_balance_and_network_status_read_one_block(cli: Cli, net: Localnet, world: Any) -> None:
    dev = world["dev"]
    balance = cli.json("account", "balance", "--account", DEV)
    assert balance["address"] == dev.address and balance["chain_id"] == 84532
    assert balance["ver_balance"] == str(_ver(net, dev.address))
    assert int(balance["eth_balance"]) > 0 and balance["eth_balance_eth"].startswith("99")
    status = cli.json("network", "status")
    assert status["schema"] == "verai.network.status/1" and status["block"] <= net.head()
    gpu = next(c for c in status["classes"] if c["class"] == GPU)
    assert gpu["nodes"]["Active"] == 1 and gpu["nodes"]["Failed"] == 1
    assert gpu["price_min"] == gpu["price_max"] == str(2 * VER) and gpu["free_units"] == 8
    assert gpu["min_stake_ver"] == "100" and gpu["watt_limit"] == 400
    assert status["committee"]["round"] >= 3 and status["committee"]["threshold"] == 3
    assert status["committee"]["round_age"] >= 0
    assert status["tasks"]["open"] >= 1
    assert status["parameters"]["unbondingPeriod"] == 3600
    text = cli.ok("network", "status").stdout
    assert f"VerAI network on chain 84532, block {status['block']:,}" in text
    assert "GPU-A100-80G" in text and "2 VER/unit-h" in text


def test_the_event_cache_reads_only_the_new_blocks(
    cli: Cli, net: Localnet, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oracle.chain.rpc import Rpc

    ranges: list[tuple[int, int]] = []
    request = Rpc.request

    def counting(self: Rpc, method: str, params: Any = ()) -> Any:  # a spy: the real call runs
        if method == "eth_getLogs":
            ranges.append((int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)))
        return request(self, method, params)

    monkeypatch.setattr(Rpc, "request", counting)
    cache = tmp_path / "cache"
    first = cli.json("network", "status", VERAI_CACHE_DIR=str(cache))
    registry = net.record.contracts["NodeRegistry"].lower()
    assert [p.name for p in cache.glob("*.sqlite")] == [f"84532-{registry}.sqlite"]
    assert ranges[0][0] == net.record.start_block and ranges[-1][1] == first["block"]
    ranges.clear()
    net.mine(3)
    second = cli.json("network", "status", VERAI_CACHE_DIR=str(cache))
    assert ranges == [(first["block"] + 1, second["block"])]
    assert second["block"] == first["block"] + 3
    assert second["classes"] == first["classes"]
