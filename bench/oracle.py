"""Oracle service benchmark (ratios measured side by side in one run; never a test).

    flock /tmp/verai-heavy.lock python bench/oracle.py [--nodes 1000,10000]

1. compute per round: RoundInputs -> solve -> round document -> reports -> 3 signatures, at N
   nodes x 1k pending tasks (pure; one core);
2. reports and gas per round at 100 and 2,000 pending tasks (the fixed cut figures);
(The mirror-vs-views snapshot comparison is not measured here yet: see the README.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oracle import vrf
from oracle.reports import Domain
from oracle.service.document import build_document
from oracle.service.inputs import GasTable, NodeRow, Parameters, RoundInputs, TaskRow
from oracle.service.messages import digests_of, sign_reports
from oracle.service.solve import cut, solve
from scripts._committee import LOCAL_MEMBERS, LOCAL_VRF_SECRET

GPU = "0x" + "aa" * 32


def synthetic(nodes: int, tasks: int) -> RoundInputs:
    return RoundInputs(
        chain_id=84532, market="0x" + "11" * 20, verifier="0x" + "22" * 20,
        config_digest="0x" + "33" * 32,
        vrf_public_key="0x" + vrf.public_key(LOCAL_VRF_SECRET).hex(),
        first_round=1, service_index=0, snapshot_block=1, block_hash="0x" + "44" * 32,
        timestamp=1, parameters=Parameters(2_000, 5_000, 10_000_000, 3, GasTable()),
        nodes=tuple(NodeRow(i, GPU, 1, 8, 0, 10**15 + (i * 7919) % 1000, 0, 0)
                    for i in range(1, nodes + 1)),
        tasks=tuple(TaskRow(i, GPU, 1 + i % 4, 0, 2 * 10**15, i) for i in range(1, tasks + 1)),
    )  # fmt: skip


def compute(inputs: RoundInputs) -> tuple[float, int]:
    domain = Domain(84532, "0x" + "22" * 20)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        solution = solve(inputs, lambda a: vrf.prove(LOCAL_VRF_SECRET, a))
        document = build_document(inputs, solution)
        reports = document.reports()
        digests_of(reports, domain)
        for member in LOCAL_MEMBERS[:3]:
            sign_reports(reports, domain, member.key)
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", default="1000,10000")
    args = parser.parse_args()
    print("compute per round (snapshot inputs -> signed reports), 1k pending tasks")
    for n in (int(x) for x in args.nodes.split(",")):
        seconds, reports = compute(synthetic(n, 1_000))
        print(f"  {n:>6} nodes x 1000 tasks: {seconds * 1000:8.1f} ms, {reports} reports")
    print("reports and gas per round (fixed cut figures, gas cap 10,000,000)")
    for tasks in (100, 2_000):
        inputs = synthetic(4_000, tasks)
        solution = solve(inputs, lambda a: vrf.prove(LOCAL_VRF_SECRET, a))
        chunks = cut(solution, inputs.parameters)
        gas = sum(GasTable().report_gas(3, len(c.allocations), len(c.moves),
                                        len(c.reassignments)) for c in chunks)  # fmt: skip
        print(f"  {tasks:>5} pending tasks: {len(chunks)} reports, {gas:,} gas (figures)")


if __name__ == "__main__":
    main()
