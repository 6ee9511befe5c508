"""A contributor's day with the wallet CLI on a real chain: register (permit, idempotent), status,
price, capacity and stake changes, exit, a withdrawal refused while unbonding and paid after."""

from __future__ import annotations

import pytest

from tests.commands.conftest import VER, Cli, Localnet, nonce

OWNER = "TEST::4"
GPU = "GPU-RTX4090-24G"


@pytest.fixture(scope="module")
def owner(cli: Cli, net: Localnet):  # type: ignore[no-untyped-def]
    cli.ok("faucet", OWNER, "--ver", "400")
    return net.account(4)


def test_register_status_exit_withdraw(cli: Cli, net: Localnet, owner) -> None:  # type: ignore[no-untyped-def]
    shown = cli.ok(
        "node",
        "register",
        GPU,
        "--capacity",
        "8",
        "--price",
        "1.5",
        "--stake",
        "60",
        "--metadata-uri",
        "https://example.org/node.json",
        "--account",
        OWNER,
        "--yes",
    )
    assert "stake        60 VER (class minimum 50 VER)" in shown.stderr
    assert "earns        up to 12 VER per hour when fully allocated" in shown.stderr
    assert shown.stdout.startswith("node 1 registered: GPU-RTX4090-24G, 8 units at 1.5 VER/unit-h")
    assert net.contracts.token.functions.balanceOf(owner.address).call() == 340 * VER

    again = cli.json(
        "node",
        "register",
        GPU,
        "--capacity",
        "8",
        "--price",
        "1.5",
        "--stake",
        "60",
        "--account",
        OWNER,
        "--yes",
    )
    assert again["created"] is False and again["node_id"] == 1  # a restart registers nothing

    status = cli.json("node", "status", "1")
    (node,) = status["nodes"]
    assert node["status"] == "Active" and node["owner"] == owner.address
    assert (node["capacity"], node["reserved"], node["free"]) == (8, 0, 8)
    assert node["price"] == str(15 * VER // 10) and node["price_ver"] == "1.5"
    assert node["stake_ver"] == "60" and node["watt_limit"] == 450
    assert status["earnings"] == [{"owner": owner.address, "earnings": "0", "earnings_ver": "0"}]
    text = cli.ok("node", "status", "1").stdout
    assert "node 1  GPU-RTX4090-24G  Active" in text
    assert "0 of 8 units reserved, 8 free" in text and "class limit 450 W" in text

    cli.ok("node", "update-price", "1", "2.25", "--account", OWNER, "--yes")
    cli.ok("node", "update-capacity", "1", "12", "--account", OWNER, "--yes")
    staked = cli.ok("node", "add-stake", "1", "15", "--account", OWNER, "--yes")
    assert "node 1 stakes 75 VER" in staked.stdout
    mine = cli.json("node", "status", "--account", OWNER)
    (node,) = mine["nodes"]
    assert (node["price_ver"], node["capacity"], node["stake_ver"]) == ("2.25", 12, "75")
    assert mine["owner"] == owner.address

    exited = cli.ok("node", "exit", "1", "--account", OWNER, "--yes")
    assert "stake        75 VER unbonds for 1h" in exited.stderr
    assert "node 1 is exiting: withdraw its stake from" in exited.stdout
    assert cli.json("node", "status", "1")["nodes"][0]["status"] == "Exiting"

    sent = nonce(net, owner.address)
    early = cli.refused("node", "withdraw", "1", "--account", OWNER, "--yes")
    assert early.startswith("refused, nothing sent: NodeRegistryStillUnbonding: node 1 is still ")
    assert early.endswith(" left") and ("59m" in early or "1h" in early)
    assert nonce(net, owner.address) == sent

    net.mine(seconds=3601)
    paid = cli.ok("node", "withdraw", "1", "--account", OWNER, "--yes")
    assert f"withdrew 75 VER of node 1 to {owner.address}" in paid.stdout
    assert net.contracts.token.functions.balanceOf(owner.address).call() == 400 * VER
    assert cli.json("node", "status", "1")["nodes"][0]["status"] == "Exited"


def test_register_refusals_name_the_value(cli: Cli, net: Localnet, owner) -> None:  # type: ignore[no-untyped-def]
    sent = nonce(net, owner.address)
    low = cli.refused(
        "node",
        "register",
        "GPU-A100-80G",
        "--capacity",
        "1",
        "--price",
        "1",
        "--stake",
        "10",
        "--account",
        OWNER,
        "--yes",
    )
    assert low == "stake: 10 VER is below the minimum of 100 VER for GPU-A100-80G"
    unknown = cli.refused(
        "node",
        "register",
        "GPU-H100",
        "--capacity",
        "1",
        "--price",
        "1",
        "--stake",
        "10",
        "--account",
        OWNER,
        "--yes",
    )
    assert unknown.startswith("resource class: 'GPU-H100' is not configured on chain 84532")
    poor = cli.refused(
        "node",
        "register",
        "CPU-EPYC-64",
        "--capacity",
        "1",
        "--price",
        "1",
        "--stake",
        "5000",
        "--account",
        OWNER,
        "--yes",
    )
    assert "holds 400 VER, the stake needs 5,000 VER" in poor
    assert nonce(net, owner.address) == sent


def test_only_the_owner_changes_a_node(cli: Cli, net: Localnet, owner) -> None:  # type: ignore[no-untyped-def]
    line = cli.refused("node", "update-price", "1", "3", "--account", "TEST::6", "--yes")
    assert line == f"node 1 belongs to {owner.address}, not to {net.account(6).address}"
    unknown = cli.refused("node", "status", "42")
    assert unknown == "unknown node 42: this deployment has nodes 1 to 1 (chain 84532)"


def test_status_of_a_wallet_without_nodes(cli: Cli, net: Localnet) -> None:
    out = cli.ok("node", "status", "--address", net.account(7).address).stdout
    assert (
        out.strip() == f"{net.account(7).address} has no node on chain 84532 (verai node register)"
    )
    nothing = cli.refused("earnings", "withdraw", "--account", "TEST::7", "--yes")
    assert nothing.endswith("has no earnings to withdraw on chain 84532 (nothing sent)")
