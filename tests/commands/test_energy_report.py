"""`verai energy report` on a real Anvil: a scripted history (two nodes of two classes, renewable
declarations, estimated and measured heartbeats, a gap longer than the heartbeat timeout, a
throttled period, two assignments sharing a node), every block's time set by the test, and the
report's figures compared with the ones computed by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oracle.chain.events import decode_logs
from oracle.energy_png import PNG_MAGIC
from oracle.reports import AllocationEntry, Report
from tests._localnet import CPU, GPU, VER, Localnet, start_localnet
from tests.commands.conftest import Cli

TIMEOUT = 600  # the heartbeat timeout: the gap cap


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Any:
    localnet = start_localnet(tmp_path_factory.mktemp("chain"), heartbeat_timeout=TIMEOUT)
    try:
        yield localnet
    finally:
        localnet.anvil.stop()


class Story:
    """Sends every transaction in a block whose time the test chooses (T0 + offset)."""

    def __init__(self, net: Localnet) -> None:
        self.net = net
        self.t0 = net.timestamp() + 1_000

    def at(self, offset: int, call: Any, account: Any) -> dict[str, Any]:
        self.net.rpc_call("evm_setNextBlockTimestamp", self.t0 + offset)
        receipt = self.net.send(call, account)
        assert self.net.timestamp(int(receipt["blockNumber"], 16)) == self.t0 + offset
        return receipt

    def event(self, receipt: dict[str, Any], name: str, field: str) -> int:
        events = decode_logs(receipt["logs"], self.net.contracts.names_by_address())
        return next(int(e.args[field]) for e in events if e.name == name)


@pytest.fixture(scope="module")
def story(net: Localnet) -> dict[str, Any]:
    c, s = net.contracts, Story(net)
    gpu_owner, cpu_owner, developer = net.account(1), net.account(2), net.account(3)
    for account in (gpu_owner, cpu_owner, developer):
        net.fund(account)
    beat3 = c.registry.get_function_by_signature("heartbeat(uint256,uint256,uint256)")
    beat4 = c.registry.get_function_by_signature("heartbeat(uint256,uint256,uint256,uint256)")
    register = c.registry.functions.register
    a = s.event(
        s.at(0, register(GPU, 4, VER, 200 * VER, "ipfs://a"), gpu_owner), "NodeRegistered", "nodeId"
    )
    b = s.event(
        s.at(1, register(CPU, 2, VER, 20 * VER, "ipfs://b"), cpu_owner), "NodeRegistered", "nodeId"
    )
    s.at(2, c.registry.functions.declareRenewableShare(a, 5_000, "ipfs://cert-a"), gpu_owner)
    s.at(3, c.registry.functions.declareRenewableShare(b, 10_000, ""), cpu_owner)
    s.at(100, beat3(a, 2_000, 300), gpu_owner)  # 300 W x 100 s -> 30,000 J
    s.at(101, beat3(b, 1_000, 100), cpu_owner)  # 100 W x 100 s -> 10,000 J
    from_block = net.head()  # the baseline: the energy after these two heartbeats
    tasks = [
        s.event(
            s.at(
                140 + i,
                c.market.functions.submitTask(GPU, units, 2 * VER, 7200, "ipfs://t"),
                developer,
            ),
            "TaskSubmitted",
            "taskId",
        )
        for i, units in enumerate((2, 1))
    ]
    snapshot = net.head()
    net.rpc_call("evm_setNextBlockTimestamp", s.t0 + 159)
    net.mine()
    report = Report(
        net.config_digest(),
        net.next_round(),
        snapshot,
        b"\x17" * 32,
        allocations=(AllocationEntry(tasks[0], a, 2, VER), AllocationEntry(tasks[1], a, 1, VER)),
    )
    net.rpc_call("evm_setNextBlockTimestamp", s.t0 + 160)
    assert int(net.transmit(report)["status"], 16) == 1  # both assignments start at T0 + 160
    s.at(200, beat3(a, 9_000, 500), gpu_owner)  # over the 400 W limit: Throttled; +50,000
    # the first counter: the registry has no baseline yet, credits 350 W x 100 s = 35,000
    # (a measured heartbeat by its flag) and the node is Active again
    s.at(300, beat4(a, 6_000, 350, 1_000_000), gpu_owner)
    # 1,000 s of silence, more than the 600 s timeout: the counter's increase, +200,000, over
    # the capped span [T0 + 700, T0 + 1300)
    s.at(1_300, beat4(a, 6_000, 333, 1_200_000), gpu_owner)
    s.at(1_301, beat3(b, 1_000, 100), cpu_owner)  # 1,200 s capped at 600: 100 W x 600 = 60,000
    return {"a": a, "b": b, "tasks": tasks, "from": from_block, "to": net.head(), "t0": s.t0}


@pytest.fixture(scope="module")
def cli(net: Localnet, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(net, tmp_path_factory.mktemp("home"))


def window(story: dict[str, Any]) -> list[str]:
    return ["--from", str(story["from"]), "--to", str(story["to"])]


def test_figures_equal_the_hand_computed_ones(cli: Cli, story: dict[str, Any]) -> None:
    doc = cli.json("energy", "report", *window(story))
    nodes = {n["node_id"]: n for n in doc["nodes"]}
    a, b = nodes[story["a"]], nodes[story["b"]]
    # node a: 50,000 + 35,000 + 200,000 = 285,000 J (315,000 at the end - 30,000 at the start)
    assert (a["energy_j"], a["kwh"]) == (285_000, "0.079167")
    assert (a["source"], a["heartbeats"], a["measured_heartbeats"]) == ("mixed", 3, 2)
    assert a["measured_j"] == 35_000 + 200_000
    # node b: one heartbeat, estimated, 60,000 J, no assignment: all idle
    assert (b["energy_j"], b["source"], b["idle_j"]) == (60_000, "estimated", 60_000)
    assert doc["network"]["energy_j"] == 345_000 and doc["network"]["kwh"] == "0.095833"
    classes = {c["class"]: c for c in doc["classes"]}
    assert classes["GPU-A100-80G"]["energy_j"] == 285_000
    assert classes["CPU-EPYC-64"]["energy_j"] == 60_000

    # per task: the 50,000 J of T0+200 cover [T0+100, T0+200): 30,000 idle before the
    # assignments start at T0+160, 20,000 after; then 35,000 and 200,000 with both running.
    # 255,000 J split 2 units : 1 unit -> 170,000 and 85,000
    tasks = {t["task_id"]: t for t in doc["tasks"]}
    first, second = (tasks[t] for t in story["tasks"])
    assert (first["energy_j"], second["energy_j"]) == (170_000, 85_000)
    assert a["idle_j"] == 30_000
    assert first["source"] == "mixed" and first["measured_heartbeats"] == 2
    assert first["measured_j"] == 156_667  # (35,000 + 200,000) x 2/3, rounded
    # 2 units x (T0+1301 - T0+160) of running time in the window
    assert first["unit_seconds"] == 2 * 1_141

    # declared renewable: (50 % + 100 %) / 2 nodes; by energy (142,500 + 60,000) / 345,000
    r = doc["renewable"]
    assert (r["by_node_count"], r["live_nodes"], r["declared"]) == ("0.75", 2, True)
    assert r["by_energy"] == "0.586957"  # 27/46
    assert [(t["kind"], t["node_id"]) for t in doc["throttling"]] == [
        ("throttled", story["a"]),
        ("relieved", story["a"]),
    ]
    assert a["throttled_s"] == 100 and a["throttle_events"] == 2
    assert doc["gap_cap_s"] == TIMEOUT and doc["efficiency"] is None


def test_totals_equal_the_registry_aggregates(
    net: Localnet, cli: Cli, story: dict[str, Any]
) -> None:
    """The report, from events alone, equals the registry's own per-class totals."""
    doc = cli.json("energy", "report", *window(story))
    totals = net.contracts.registry.functions.energyTotals()
    end, start = (totals.call(block_identifier=story[k]) for k in ("to", "from"))
    assert end[0] - start[0] == doc["network"]["energy_j"]
    assert end[1] - start[1] == doc["network"]["measured_j"]
    names = {bytes(GPU): "GPU-A100-80G", bytes(CPU): "CPU-EPYC-64"}
    classes = {c["class"]: c for c in doc["classes"]}
    for key, after, before in zip(end[2], end[3], start[3], strict=True):
        if bytes(key) in names:
            assert after - before == classes[names[bytes(key)]]["energy_j"]


def test_efficiency_gain_with_its_inputs(cli: Cli, story: dict[str, Any]) -> None:
    doc = cli.json("energy", "report", *window(story), "--baseline-kwh", "0.2")
    e = doc["efficiency"]
    # (0.2 - 0.0958333) / 0.2 = 1 - 345,000 / 720,000 = 25/48
    assert (e["gain"], e["centralised_kwh"], e["decentralised_kwh"]) == (
        "0.520833",
        "0.2",
        "0.095833",
    )
    assert e["contributor_pue"] == "1" and e["contributor_pue_assumed"] is True
    text = cli.ok(
        "energy", "report", *window(story), "--baseline-pue", "1.5", "--contributor-pue", "1.2"
    ).stdout
    # (1.5 - 1.2) / 1.5 with the same IT energy
    assert "20 % = (E_c - E_d) / E_c, a model, not a measurement, from:" in text
    # E_c = 0.0958333 x 1.5, E_d = 0.0958333 x 1.2
    assert "0.14375 kWh = IT energy x data-centre PUE 1.5 (--baseline-pue)" in text
    assert "0.115 kWh = IT energy x contributors' PUE 1.2 (--contributor-pue, assumed)" in text
    plain = cli.ok("energy", "report", *window(story)).stdout
    assert "not shown: name a centralised baseline with --baseline-kwh" in plain


def test_text_report(cli: Cli, story: dict[str, Any]) -> None:
    out = cli.ok("energy", "report", *window(story)).stdout
    assert "0.095833 kWh (345,000 J), mixed: 2 of 4 heartbeats measured, 68 % of the energy" in out
    assert "declared, 75 % by node count (2 live nodes, 2 declaring; goal 80 % by 2030" in out
    assert "throttling events (2):" in out
    assert "10m (the heartbeat timeout: a silent node's last reading is credited" in out
    # task 1: 35,000 + 200,000 of its 255,000 x 2/3 are measured: 156,667 of 170,000 J
    assert "mixed: 2 of 3 heartbeats measured, 92 % of the energy" in out


def test_dates_map_to_blocks(cli: Cli, story: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    def iso(offset: int) -> str:
        return datetime.fromtimestamp(story["t0"] + offset, UTC).isoformat()

    # from T0+102: the last block before it is the CPU node's heartbeat at T0+101, the baseline
    by_date = cli.json("energy", "report", "--from", iso(102), "--to", iso(1_301))
    by_block = cli.json("energy", "report", *window(story))
    assert (by_date["window"]["from_block"], by_date["window"]["to_block"]) == (
        story["from"],
        story["to"],
    )
    assert [n["energy_j"] for n in by_date["nodes"]] == [n["energy_j"] for n in by_block["nodes"]]
    assert [t["energy_j"] for t in by_date["tasks"]] == [t["energy_j"] for t in by_block["tasks"]]
    whole = cli.json("energy", "report")
    assert whole["network"]["energy_j"] == 345_000 + 30_000 + 10_000


def test_png_written(cli: Cli, story: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "plots" / "energy.png"
    doc = cli.json("energy", "report", *window(story), "--png", str(target))
    data = target.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000
    assert doc["png"] == str(target)


def test_json_round_trips(cli: Cli, story: dict[str, Any]) -> None:
    out = cli.ok("energy", "report", *window(story), "--json", "--baseline-kwh", "0.2").stdout
    doc = json.loads(out)
    assert json.loads(json.dumps(doc, indent=2)) == doc
    assert doc["schema"] == "verai.energy.report/1"
    for node in doc["nodes"]:
        assert isinstance(node["energy_j"], int) and isinstance(node["kwh"], str)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--baseline-kwh", "-5"), "--baseline-kwh: -5 is not above 0"),
        (("--baseline-kwh", "0"), "--baseline-kwh: 0 is not above 0"),
        (("--baseline-pue", "0.5"), "--baseline-pue: 0.5 is below 1"),
        (("--baseline-kwh", "1", "--baseline-pue", "1.5"), "name one centralised baseline"),
        (("--contributor-pue", "1.2"), "--contributor-pue: only with --baseline-kwh"),
        (("--baseline-kwh", "lots"), "--baseline-kwh: 'lots' is not a number"),
        (("--from", "yesterday"), "--from: 'yesterday' is not a block number or a date"),
        (("--from", "2001-01-01"), "--from: 2001-01-01 is before the deployment's first block"),
        (("--to", "2999-01-01"), "--to: 2999-01-01 is after the chain's head"),
        (("--to", "99999999"), "--to: block 99999999 is beyond the chain's head"),
    ],
)
def test_bad_inputs_are_one_line_errors(cli: Cli, args: tuple[str, ...], expected: str) -> None:
    assert expected in cli.refused("energy", "report", *args)


def test_inverted_range_is_one_line(cli: Cli, story: dict[str, Any]) -> None:
    line = cli.refused("energy", "report", "--from", str(story["to"]), "--to", str(story["from"]))
    assert f"--from {story['to']} is after --to {story['from']}" in line
    assert "inverted" in line
