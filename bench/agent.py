"""Node agent overhead: one checkpoint as the agent makes it (store put + CID + on-chain commit
through the persistent TxSender, mined) against the bare store put of the same bytes, and the
heartbeat's receipt gas with the agent's telemetry against the registry's 31.4k budget.

A real Anvil posing as BASE Sepolia (automine: a block per transaction, so the commit time here
is RPC and signing work, not waiting for a block; on BASE add about one 2 s block), the contracts
deployed from the compiled artifacts, a registered node and an assignment made by a committee
report. Sizes: the built-in model's state (16 features: 136 bytes), 64 KiB, 1 MiB.
Run: `.venv/bin/python bench/agent.py` (`make bench` runs every bench/*.py).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oracle.agent.heartbeat import heartbeat_args, heartbeat_inputs
from oracle.agent.registration import NodeOffer, ensure_registered
from oracle.agent.sender import SerialSender
from oracle.agent.telemetry import build_telemetry
from oracle.chain.tx import TxSender
from oracle.checkpoints import LocalStore, cid_bytes
from oracle.cid import cid_bytes_for
from oracle.reports import AllocationEntry, Report
from oracle.store import Database
from tests._localnet import GPU, VER, Localnet, start_localnet

SIZES = [136, 64 * 1024, 1024 * 1024]
CHECKPOINTS = 15
HEARTBEATS = 20
HEARTBEAT_SNAPSHOT = 31_414  # .gas-snapshot.json "NodeRegistry.heartbeat" (the "31.4k")
HEARTBEAT_BUDGET = 32_000  # README "Gas": NodeRegistry.heartbeat (telemetry only) <= 32,000


def setup(net: Localnet, folder: Path) -> tuple[SerialSender, int]:
    owner = net.account(3)
    c = net.contracts
    net.send(c.token.functions.mint(owner.address, 1_000 * VER), net.deployer)
    tx = TxSender(net.rpc, owner, net.chain_id, db=Database(folder / "agent.sqlite"))
    node = ensure_registered(c, tx, NodeOffer("GPU-A100-80G", 4, 2 * VER, 150 * VER)).node_id
    developer = net.account(7)
    net.fund(developer)
    net.send(c.market.functions.submitTask(GPU, 1, 4 * VER, 6 * 3600, "bench"), developer)
    task = int(c.market.functions.taskCount().call())
    report = Report(
        config_digest=net.config_digest(),
        round=net.next_round(),
        snapshot_block=net.head() - 1,
        inputs_digest=bytes(32),
        allocations=(AllocationEntry(task, node, 1, 2 * VER),),
    )
    net.transmit(report)
    return SerialSender(tx), node


def checkpoints(net: Localnet, sender: SerialSender, folder: Path) -> None:
    print(f"checkpoint overhead ({CHECKPOINTS} checkpoints per size, medians)")
    header = f"  {'state':>9} | {'bare put':>9} | {'put+CID+commit':>14} | {'ratio':>6} | "
    print(header + f"{'CID':>7} | {'commit':>8} | gas")
    step = 0
    for size in SIZES:
        bare_store = LocalStore(folder / f"bare-{size}")
        agent_store = LocalStore(folder / f"agent-{size}")
        bare, full, cids, commits, gases = [], [], [], [], []
        for _ in range(CHECKPOINTS):
            step += 1
            data = os.urandom(size)  # fresh bytes: no "already stored" shortcut
            start = time.perf_counter()
            bare_store.put(data)
            bare.append(time.perf_counter() - start)

            start = time.perf_counter()
            cid = agent_store.put(data)
            raw = cid_bytes(cid)
            stored = time.perf_counter()
            call = net.contracts.checkpoints.functions.commit(1, step, raw)
            outcome = sender.send(call, purpose="commit", key=f"commit:1:{step}")
            assert outcome.mined, outcome
            done = time.perf_counter()
            full.append(done - start)
            commits.append(done - stored)
            gases.append(int(outcome.gas_used or 0))
            start = time.perf_counter()
            cid_bytes_for(data)
            cids.append(time.perf_counter() - start)
        b, f = statistics.median(bare), statistics.median(full)
        print(
            f"  {size:>9,} | {b * 1e3:>7.2f}ms | {f * 1e3:>12.2f}ms | {f / b:>5.1f}x | "
            f"{statistics.median(cids) * 1e3:>5.2f}ms | {statistics.median(commits) * 1e3:>6.2f}ms"
            f" | {min(gases):,}-{max(gases):,}"
        )


def heartbeats(net: Localnet, sender: SerialSender, node: int) -> None:
    telemetry = build_telemetry("auto", tdp_watts=300, rapl_root=Path("/sys/class/powercap"))
    telemetry.start()
    inputs = heartbeat_inputs(net.contracts.registry)
    gases = []
    for _ in range(HEARTBEATS):
        reading = telemetry.read()
        call = net.contracts.registry.functions.heartbeat(*heartbeat_args(inputs, node, reading))
        outcome = sender.send(call, purpose="heartbeat")
        gases.append(int(outcome.gas_used or 0))
    names = ", ".join(f"{i['name']}" for i in inputs)
    flag = "measured" if telemetry.source.measured else "estimated"
    print(
        f"\nheartbeat({names}) receipt gas over {HEARTBEATS} heartbeats, telemetry from "
        f"{telemetry.source.name} ({flag})"
    )
    worst = max(gases)
    verdict = "within" if worst <= HEARTBEAT_BUDGET else "OVER"
    print(
        f"  min {min(gases):,}  median {int(statistics.median(gases)):,}  max {worst:,}: "
        f"{worst - HEARTBEAT_SNAPSHOT:+,} against the snapshot's {HEARTBEAT_SNAPSHOT:,}, "
        f"{verdict} the {HEARTBEAT_BUDGET:,} budget (calldata: 16 gas per non-zero byte of the "
        "load and watts, 4 per zero byte)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="verai-bench-agent-") as tmp:
        folder = Path(tmp)
        net = start_localnet(folder)
        try:
            sender, node = setup(net, folder)
            checkpoints(net, sender, folder)
            heartbeats(net, sender, node)
        finally:
            net.anvil.stop()


if __name__ == "__main__":
    main()
