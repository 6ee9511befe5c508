"""Energy in the agent's heartbeats (issue 13), as real agent processes on a real Anvil with the
registry's energy accounting: a node with a hardware energy counter (RAPL: a sysfs-like fake
tree whose counter a thread advances at a fixed power, wrapping at max_energy_range_uj) sends it
with `heartbeat(nodeId, loadBps, watts, energyJ)` and the registry shows it measured; the counter
keeps growing across a restart, a reboot that reset the hardware counter, and a lost SQLite
file; a counter below the chain's starts a new baseline with one estimated heartbeat instead of
a revert loop; the declared renewable share is sent once. NVML (a fake module, no GPU here)
drives the same calls in-process. Receipt gas of both overloads is measured and printed."""

from __future__ import annotations

import itertools
import re
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from oracle.agent import reads
from oracle.agent.heartbeat import HeartbeatCalls
from oracle.agent.telemetry.estimate import EstimateSource
from oracle.agent.telemetry.nvml import NvmlSource
from oracle.agent.telemetry.reading import Reading
from oracle.agent.telemetry.sources import Telemetry
from oracle.chain.events import decode_logs
from scripts._processes import ProcessError, wait_until
from tests._localnet import GPU, VER, Localnet
from tests.agent._agents import Agent
from tests.agent._fakes import FakeGpu, FakeNvml, rapl_tree, set_energy
from tests.agent.conftest import MakeAgent

pytestmark = pytest.mark.e2e

MAX_RANGE_UJ = 2**32  # 4,295 J: at 300 W the fake counter wraps every 14 s, inside the test
# The registry's heartbeat budget (tests/contracts/test_energy.py): above the 32,000
# (the exact per-class totals cost one more warm SSTORE of the class word; reason given there)
HEARTBEAT_GAS_BUDGET = 34_500  # issue 13: a second slot (the class totals) is written


class FakeLoad:
    """Advances the fake package counter at `watts`, wrapping like the kernel's."""

    def __init__(self, root: Path, watts: float, start_uj: int = 1_000_000_000) -> None:
        self.root, self.watts, self.uj = root, watts, start_uj
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                self.uj = (self.uj + int(self.watts * (now - last) * 1e6)) % MAX_RANGE_UJ
                set_energy(self.root, "intel-rapl:0", self.uj)
            last = now

    def reset(self, uj: int) -> None:
        """A reboot: the hardware counter starts again from a small value."""
        with self._lock:
            self.uj = uj
            set_energy(self.root, "intel-rapl:0", uj)

    def __enter__(self) -> FakeLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _rapl_agent(agents: MakeAgent, index: int, tmp_path: Path, **settings: Any) -> Agent:
    root = rapl_tree(tmp_path / f"powercap-{index}", packages={0: (1_000_000_000, MAX_RANGE_UJ)})
    return agents(index, telemetry="rapl", rapl_root=str(root), **settings).mint(1_000 * VER)


def _beats(net: Localnet, node_id: int) -> list[dict[str, Any]]:
    """The node's HeartbeatRecorded events with their receipt gas."""
    address = net.contracts.registry.address
    raws = net.rpc.request(
        "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": address}]
    )
    beats = []
    for event in decode_logs(raws, {address.lower(): "NodeRegistry"}):
        if event.name != "HeartbeatRecorded" or event.args["nodeId"] != node_id:
            continue
        receipt = net.rpc.request("eth_getTransactionReceipt", [event.tx_hash])
        beats.append({**event.args, "gas": int(receipt["gasUsed"], 16), "tx": event.tx_hash})
    return beats


def _counter_lines(text: str) -> list[int]:
    return [
        int(m.replace(",", "")) for m in re.findall(r"heartbeat  load .* counter ([\d,]+) J", text)
    ]


def _wait_counter_beats(agent: Agent, count: int, timeout: float = 60) -> list[int]:
    def enough() -> list[int] | None:
        counters = _counter_lines(agent.output())
        return counters if len(counters) >= count else None

    try:
        found = wait_until(enough, timeout=timeout, what=f"{count} counter heartbeats of the agent")
    except ProcessError as exc:
        tail = "\n".join(agent.output().splitlines()[-30:])
        raise ProcessError(f"{exc}; last output of the agent:\n{tail}") from None
    assert isinstance(found, list)
    return found


def _gas_line(name: str, values: list[int]) -> str:
    return f"{name}: {min(values):,}-{max(values):,} (median {statistics.median(values):,.0f})"


def test_agent_sends_its_rapl_counter_across_restarts_reboots_and_lost_state(
    localnet: Localnet, agents: MakeAgent, tmp_path: Path
) -> None:
    net, registry = localnet, localnet.contracts.registry
    agent = _rapl_agent(agents, 3, tmp_path)
    root = Path(agent.settings["rapl_root"])
    with FakeLoad(root, watts=300) as load:
        agent.start()
        node = agent.wait_registered()
        first = _wait_counter_beats(agent, 4)
        energy = reads.energy(net.contracts, node)
        assert energy.measured and energy.counter_j >= first[-1] > first[0] > 0
        assert agent.stop() == 0
        stopped_at = reads.energy(net.contracts, node).counter_j

        # ------------------------------------------------ reboot: the hardware counter reset
        load.reset(2_000_000)
        agent.start()
        second = _wait_counter_beats(agent, 3)
        # continues from the persisted counter (its first reading adds ~0 J), never below
        assert second[0] >= stopped_at and second[-1] > stopped_at
        assert agent.stop() == 0
        second_out = agent.output()
        before_loss = reads.energy(net.contracts, node).counter_j

        # ------------------------------------------------ the agent's SQLite file is lost
        for path in (agent.home / "work").glob("agent.sqlite*"):
            path.unlink()
        agent.start()
        adopted = agent.wait_for(r"the chain holds energy counter ([\d,]+) J", timeout=60)
        assert int(adopted.group(1).replace(",", "")) == before_loss
        third = _wait_counter_beats(agent, 2)
        assert third[0] >= before_loss and third[-1] > before_loss
        assert agent.stop() == 0
        third_out = agent.output()

    for text in (second_out, third_out):
        assert "refused" not in text and "heartbeat failed" not in text, text
    beats = _beats(net, node)
    counters = [b["counterJ"] for b in beats]
    sent = [c for c in counters if c]
    assert sent == sorted(sent), counters  # never backwards
    assert counters.index(sent[0]) <= 2  # a counter from the first heartbeats on
    assert all(c for c in counters[counters.index(sent[0]) :]), counters  # none dropped after
    energy = reads.energy(net.contracts, node)
    assert energy.measured and energy.counter_j == counters[-1]
    totals = registry.functions.energyTotals().call()
    index = list(totals[2]).index(GPU)
    assert totals[4][index] > 0 and totals[3][index] == energy.energy_j  # measured part, class

    steady = [b["gas"] for prev, b in itertools.pairwise(beats) if prev["counterJ"]]
    assert steady and max(steady) <= HEARTBEAT_GAS_BUDGET, steady
    print(
        "\nheartbeat(nodeId, loadBps, watts, energyJ) receipt gas, counter after a counter: "
        + _gas_line("", steady).removeprefix(": ")
        + f"; {len(sent)} counter heartbeats, last counter {counters[-1]:,} J, "
        f"{energy.energy_j / 3.6e6:.6f} kWh credited"
    )


def test_a_counter_below_the_chains_starts_a_new_baseline_with_one_estimated_beat(
    localnet: Localnet, agents: MakeAgent, tmp_path: Path
) -> None:
    net = localnet
    agent = _rapl_agent(agents, 4, tmp_path, heartbeat_interval=2.0)
    with FakeLoad(Path(agent.settings["rapl_root"]), watts=200):
        agent.start()
        node = agent.wait_registered()
        _wait_counter_beats(agent, 2)
        # another sender with the owner's key (a second machine, a restored backup) sends a
        # counter far above the agent's, right after one of the agent's heartbeats
        count = len(_counter_lines(agent.output()))
        _wait_counter_beats(agent, count + 1)
        heartbeat = net.contracts.registry.get_function_by_signature(
            "heartbeat(uint256,uint256,uint256,uint256)"
        )

        def inject() -> str | None:
            """A counter 10^9 J ahead; the registry moves its baseline by what it credits, at
            most 2^24 - 1 W x the interval: nothing when it lands in the agent's beat's second,
            so it is sent again until the baseline moved."""
            before = reads.energy(net.contracts, node).counter_j
            ahead = before + 10**9
            tx = net.send(heartbeat(node, 100, 200, ahead), net.account(4))["transactionHash"]
            moved = reads.energy(net.contracts, node).counter_j > before + 10**6
            return str(tx) if moved else None

        injected = wait_until(inject, timeout=30, what="an injected counter moving the baseline")
        agent.wait_for(r"the registry refused energy counter [\d,]+ J: it holds", timeout=30)
        recovered = _wait_counter_beats(agent, count + 3)
        assert agent.process is not None and agent.process.alive()
        assert agent.stop() == 0
    beats = _beats(net, node)
    counters = [b["counterJ"] for b in beats]
    # the injected beat: its baseline moved by what the registry credited (at most 2^24 - 1 W x
    # its interval), still far above the agent's own counter
    at = next(i for i, b in enumerate(beats) if b["tx"].lower() == str(injected).lower())
    assert counters[at] > counters[at - 1] + 10**6, counters
    assert counters[at + 1] == 0, counters  # the one estimated heartbeat: a new baseline
    assert all(c > 0 for c in counters[at + 2 :]), counters  # counters again, new baseline
    assert recovered[-1] == counters[-1]
    energy = reads.energy(net.contracts, node)
    assert energy.measured and energy.counter_j == counters[-1] < counters[at]


def test_agent_declares_its_renewable_share_once_and_nvml_counters_reach_the_registry(
    localnet: Localnet, agents: MakeAgent
) -> None:
    net, registry = localnet, localnet.contracts.registry
    uri = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    agent = agents(5, telemetry="estimate", renewable_bps=8000, renewable_evidence_uri=uri)
    agent.mint(1_000 * VER).start()
    node = agent.wait_registered()
    agent.wait_for(r"declared renewable share 80 % \(was 0 %\), evidence ipfs://", timeout=30)
    agent.wait_for(r"heartbeat .* gas", timeout=30)
    assert agent.stop() == 0
    assert reads.energy(net.contracts, node).renewable_bps == 8000

    agent.start()  # same settings: nothing to declare
    agent.wait_for(r"renewable share 80 % \(declared\)", timeout=30)
    agent.wait_for(r"heartbeat .* gas", timeout=30)
    assert agent.stop() == 0
    assert "declared renewable share" not in agent.output()

    agent.settings["renewable_bps"] = 6500
    agent.start()
    agent.wait_for(r"declared renewable share 65 % \(was 80 %\)", timeout=30)
    assert agent.stop() == 0
    events = [
        e.args
        for e in decode_logs(
            net.rpc.request(
                "eth_getLogs",
                [{"fromBlock": "0x0", "toBlock": "latest", "address": registry.address}],
            ),
            {registry.address.lower(): "NodeRegistry"},
        )
        if e.name == "RenewableShareDeclared"
    ]
    assert [(e["shareBps"], e["evidenceURI"]) for e in events] == [(8000, uri), (6500, uri)]

    estimated = [b["gas"] for b in _beats(net, node)]
    assert all(b["counterJ"] == 0 for b in _beats(net, node))
    assert max(estimated[1:]) <= HEARTBEAT_GAS_BUDGET, estimated

    # ------------------------------------------------ NVML (fake module) counters, in-process
    gpus = [FakeGpu(energy_mj=7_000_000, power_mw=1), FakeGpu(energy_mj=3_000, power_mw=1)]
    clock = [1000.0]
    telemetry = Telemetry(
        [NvmlSource(FakeNvml(gpus), lambda: clock[0]), EstimateSource(300, lambda: clock[0])],
        load=lambda: 0.5,
        energy_base_j=reads.energy(net.contracts, node).counter_j,
    )
    telemetry.start()
    calls = HeartbeatCalls(registry)
    owner = net.account(5)
    counter_gas = []
    for round_ in range(4):
        clock[0] += 30
        net.mine(seconds=30)
        gpus[0].energy_mj += 9_000_000  # 300 W for 30 s
        gpus[1].energy_mj += 3_000_000
        if round_ == 2:
            gpus[1].energy_mj = 1_500_000  # the driver reloaded: the GPU's counter restarted
        reading = telemetry.read()
        call, sent = calls.call(node, reading, counter=True)
        assert sent and reading.energy_j is not None
        receipt = net.send(call, owner)
        counter_gas.append(int(receipt["gasUsed"], 16))
        energy = reads.energy(net.contracts, node)
        assert energy.measured and energy.counter_j == reading.energy_j
    assert max(counter_gas[1:]) <= HEARTBEAT_GAS_BUDGET, counter_gas

    # ------------------------------------------------ estimated heartbeats that credit energy
    plain_gas = []
    for _ in range(3):
        net.mine(seconds=30)
        reading = Reading(
            load_bps=5000, watts=250, energy_j=None, source="estimate", measured=False
        )
        call, sent = calls.call(node, reading, counter=True)  # no counter: the 3-argument one
        assert not sent
        plain_gas.append(int(net.send(call, owner)["gasUsed"], 16))
    energy = reads.energy(net.contracts, node)
    assert not energy.measured and energy.counter_j == 0
    assert max(plain_gas) <= HEARTBEAT_GAS_BUDGET, plain_gas
    print(
        "\nheartbeat(nodeId, loadBps, watts) receipt gas (estimated): crediting 250 W x 30 s "
        + _gas_line("", plain_gas[1:]).removeprefix(": ")
        + f" (the first after a counter {plain_gas[0]:,}), crediting nothing (0 W) "
        + _gas_line("", estimated[1:]).removeprefix(": ")
        + "; heartbeat(nodeId, loadBps, watts, energyJ) from NVML: first counter after none "
        f"{counter_gas[0]:,}, then " + _gas_line("", counter_gas[1:]).removeprefix(": ")
    )
