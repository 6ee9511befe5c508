"""Energy in the wallet CLI (issue 13) on a real chain: `verai node renewable` declares a share
(percent or bps, shown before signing, refused with one line when it is not a share), `verai
node status` shows the kWh the registry credited with its source (measured: the node's energy
counter; estimated: watts x time) and the declared share, `verai network status` the network
and per-class totals of `energyTotals()` and the declared renewable share."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.commands.conftest import Cli, Localnet, nonce

GPU = "GPU-RTX4090-24G"
URI = "https://example.org/green-tariff-2026.pdf"
COUNTER = "heartbeat(uint256,uint256,uint256,uint256)"
PLAIN = "heartbeat(uint256,uint256,uint256)"


def _register(cli: Cli, account: str) -> None:
    cli.ok("faucet", account, "--ver", "200")
    cli.ok(
        "node", "register", GPU, "--capacity", "4", "--price", "1", "--stake", "60",
        "--account", account, "--yes",
    )  # fmt: skip


def _beat(net: Localnet, node_id: int, owner: Any, watts: int, counter: int | None, after: int):
    """A heartbeat in a block exactly `after` seconds after the latest one."""
    net.rpc_call("evm_setNextBlockTimestamp", net.timestamp() + after)
    registry = net.contracts.registry
    if counter is None:
        call = registry.get_function_by_signature(PLAIN)(node_id, 5_000, watts)
    else:
        call = registry.get_function_by_signature(COUNTER)(node_id, 5_000, watts, counter)
    net.send(call, owner)


def kwh(joules: int) -> str:
    text = str((Decimal(joules) / Decimal(3_600_000)).quantize(Decimal("0.000001")))
    return text.rstrip("0").rstrip(".")


@pytest.fixture(scope="module")
def nodes(cli: Cli, net: Localnet) -> tuple[Any, Any]:
    """Node 1 (TEST::5) measured: a first counter long after registration (credited 300 W x the
    heartbeat timeout, the registry's gap cap), then 18 kJ more; node 2 (TEST::6) estimated:
    250 W x the timeout, then 250 W x 120 s."""
    _register(cli, "TEST::5")
    _register(cli, "TEST::6")
    first, second = net.account(5), net.account(6)
    late = TIMEOUT[0] + 100
    _beat(net, 1, first, 300, 1_000_000, late)
    _beat(net, 2, second, 250, None, 60)
    _beat(net, 1, first, 300, 1_018_000, 60)
    _beat(net, 2, second, 250, None, 60)
    return first, second


TIMEOUT = [0]


@pytest.fixture(scope="module", autouse=True)
def _timeout(net: Localnet) -> None:
    from oracle.agent import reads

    TIMEOUT[0] = reads.heartbeat_timeout(net.contracts)


def test_renewable_declaration_shows_what_is_declared_and_is_an_event(
    cli: Cli, net: Localnet, nodes: tuple[Any, Any]
) -> None:
    owner = nodes[0]
    sent = nonce(net, owner.address)
    aborted = cli.run("node", "renewable", "1", "80%", "--account", "TEST::5", input="n\n")
    assert aborted.exit_code != 0 and nonce(net, owner.address) == sent
    assert "renewable    0 % -> 80 % (8000 bps), declared" in aborted.stderr

    done = cli.ok(
        "node", "renewable", "1", "80", "--evidence", URI, "--account", "TEST::5", "--yes"
    )
    assert f"evidence     {URI}" in done.stderr
    assert done.stdout.startswith(f"node 1 declares 80 % renewable (evidence {URI}) (tx 0x")
    registry = net.contracts.registry
    logs = registry.events.RenewableShareDeclared().get_logs(from_block=0)
    assert [
        (e["args"]["nodeId"], e["args"]["shareBps"], e["args"]["evidenceURI"]) for e in logs
    ] == [(1, 8000, URI)]
    again = cli.ok("node", "renewable", "1", "7250bps", "--account", "TEST::5", "--yes")
    assert "node 1 declares 72.5 % renewable (tx" in again.stdout
    assert registry.functions.energyOf(1).call()[3] == 7250
    cli.ok("node", "renewable", "1", "80", "--evidence", URI, "--account", "TEST::5", "--yes")


@pytest.mark.parametrize(
    ("share", "message"),
    [
        ("120", "SHARE: '120' is above 100 %"),
        ("10001bps", "SHARE: '10001bps' is above 100 %"),
        ("-5", "SHARE: '-5' is negative"),
        ("lots", "SHARE: 'lots' is not a share"),
        ("80.125", "SHARE: '80.125' is not a share"),
    ],
)
def test_a_bad_share_is_one_line_naming_it_and_nothing_is_sent(
    cli: Cli, net: Localnet, nodes: tuple[Any, Any], share: str, message: str
) -> None:
    sent = nonce(net, nodes[1].address)
    line = cli.refused("node", "renewable", "2", share, "--account", "TEST::6", "--yes")
    assert message in line, line
    assert "a percent 0 to 100 (80, 80%, 72.5%) or basis points 0 to 10000 (7250bps)" in line
    assert nonce(net, nodes[1].address) == sent


def test_node_status_shows_credited_energy_its_source_and_the_declared_share(
    cli: Cli, net: Localnet, nodes: tuple[Any, Any]
) -> None:
    cli.ok("node", "renewable", "1", "80", "--evidence", URI, "--account", "TEST::5", "--yes")
    registry = net.contracts.registry
    doc = cli.json("node", "status", "1")
    (node,) = doc["nodes"]
    joules, counter, measured, bps = registry.functions.energyOf(1).call()
    assert measured and counter == 1_018_000 and bps == 8000
    t = TIMEOUT[0]
    assert joules == 300 * t + 18_000  # first counter: watts x the capped gap, then the increase
    assert node["energy"] == {
        "energy_j": joules,
        "energy_kwh": kwh(joules),
        "source": "measured",
        "counter_j": 1_018_000,
        "renewable_bps": 8000,
        "renewable_declared": True,
    }
    text = cli.ok("node", "status", "1").stdout
    assert (
        f"energy     {kwh(joules)} kWh credited on chain (last heartbeat measured: energy "
        "counter 1,018,000 J)"
    ) in text
    assert "renewable  80 % declared by the owner" in text

    estimated = cli.json("node", "status", "2")["nodes"][0]["energy"]
    assert (estimated["source"], estimated["energy_j"], estimated["renewable_bps"]) == (
        "estimated",
        250 * TIMEOUT[0] + 250 * 120,
        0,
    )
    assert "renewable  not declared (verai node renewable)" in cli.ok("node", "status", "2").stdout
    mine = cli.ok("node", "status", "--account", "TEST::5").stdout
    assert "kWh" in mine.splitlines()[0] and "80 % declared" in mine and "measured" in mine


def test_network_status_shows_energy_totals_by_class_and_the_declared_share(
    cli: Cli, net: Localnet, nodes: tuple[Any, Any]
) -> None:
    cli.ok("node", "renewable", "1", "80", "--evidence", URI, "--account", "TEST::5", "--yes")
    total, measured, classes, class_energy, class_measured = (
        net.contracts.registry.functions.energyTotals().call()
    )
    t = TIMEOUT[0]
    one, two = 300 * t + 18_000, 250 * t + 250 * 120
    doc = cli.json("network", "status")
    energy = doc["energy"]
    # measured: every joule credited on a heartbeat that carried a counter (the registry's
    # rule, INodeRegistry.energyTotals; the first counter's watts x time included)
    assert (energy["energy_j"], energy["measured_j"]) == (total, measured) == (one + two, one)
    share = Decimal(one * 100) / Decimal(one + two)
    assert energy["measured_share"] == f"{share.quantize(Decimal('0.01'))} %".replace(".00 ", " ")
    rows = {c["class"]: c for c in energy["classes"]}
    index = [bytes(k) for k in classes].index(bytes.fromhex(rows[GPU]["class_key"][2:]))
    assert (rows[GPU]["energy_j"], rows[GPU]["measured_j"]) == (
        class_energy[index],
        class_measured[index],
    )
    assert rows[GPU]["energy_j"] == total and sum(class_measured) == measured
    by_energy = round(Decimal(8000 * one) / Decimal(one + two))
    assert doc["renewable"] == {
        "declared": True,
        "live_nodes": 2,
        "declaring_nodes": 1,
        "by_node_count": "40 %",
        "by_node_count_bps": 4000,
        "by_energy": f"{by_energy // 100}.{by_energy % 100:02d}".rstrip("0").rstrip(".") + " %",
        "by_energy_bps": by_energy,
        "goal": "80 %",
        "goal_year": 2030,
    }
    text = cli.ok("network", "status").stdout
    assert re.search(
        rf"energy\s+{re.escape(kwh(total))} kWh credited by the registry, "
        rf"{re.escape(kwh(one))} kWh measured "
        rf"\({re.escape(energy['measured_share'])}\), the rest estimated",
        text,
    ), text
    assert re.search(
        r"renewable\s+40 % by node count \(1 of 2 live nodes declare a share\), "
        + re.escape(doc["renewable"]["by_energy"])
        + r" by energy; declared, not measured; goal 80 % by 2030",
        text,
    ), text
    assert re.search(rf"{GPU}\s+{re.escape(kwh(total))}\s+{re.escape(kwh(one))}\s+", text)
    assert re.search(r"network\s+" + re.escape(kwh(total)), text), text
