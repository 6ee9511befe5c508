"""Oracle service benchmark (issue 11): every ratio measured side by side in one run; never a test.

    flock /tmp/verai-heavy.lock python bench/oracle.py [--quick] [--skip-latency]

1. Snapshot building at 1k and 10k nodes with 1k pending tasks on a real Anvil: the event
   mirror (`snapshot_from_mirror` after ingestion, and the member's full `RoundReader.inputs`)
   against the per-call view path (`read_snapshot`, one eth_call per node and per task through
   web3.py). The view path is run in full when that takes under a minute (and its snapshot
   compared with the mirror's), else timed on a sample of calls and extrapolated (said so).
2. Compute per round (inputs -> solve -> round document -> reports -> digests -> 3 members'
   signatures, one core) at 1k and 10k nodes x 1k tasks: the service's path against the library
   path it replaced (eth-account typed data for every digest and every signature,
   dataclasses.asdict), with the bytes compared (document, digests, signatures).
3. Gas per report entry: receipts of the service's reports of 1, 10 and 50 allocations, moves
   and reassignments (1, 8, 32 candidates), every entry in its worst case; the bounds derived
   from them against the GasTable figures in oracle/service/inputs.py.
4. Reports and gas per round at 100 and 2,000 pending tasks (on the 10k-node chain): receipt
   gas of every report against what the cut charged.
5. Event -> report mined latency in blocks, Anvil with a 2 s block time and a real 4-member
   committee (`verai oracle run` processes): blocks from a task's submission reaching the
   confirmation depth to its allocation being mined.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oracle import vrf
from oracle.chain.snapshot import read_snapshot, snapshot_from_mirror
from oracle.reports import Domain, report_digest, sign_report
from oracle.service.digest import report_digests, sign_digests
from oracle.service.document import SCHEMA, build_document, canonical, chunk_dicts, solution_dict
from oracle.service.inputs import GasTable, NodeRow, Parameters, RoundInputs, TaskRow, _jsonable
from oracle.service.solve import cut, solve, tries
from scripts._committee import LOCAL_MEMBERS, LOCAL_THRESHOLD, LOCAL_VRF_SECRET
from tests._localnet import VER, start_localnet
from tests.service._network import LocalRounds, NodeSpec, Population, TaskSpec
from tests.service._report_gas import GasLab, bound, derive, measure_baseline, worst_costs

GPU = "0x" + "aa" * 32
FULL_VIEW_RUN_SECONDS = 60


def prove(alpha: bytes) -> bytes:
    return vrf.prove(LOCAL_VRF_SECRET, alpha)


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ----------------------------------------------------------------------------- 1. snapshots
class Views:
    """A contract as `read_snapshot` wants it (ape style: `view(*args, block_identifier=B)`
    returning structs with attribute access) over web3.py: one eth_call per view call."""

    def __init__(self, w3: Any, address: str, abi: list[dict[str, Any]]) -> None:
        self._contract = w3.eth.contract(address=address, abi=abi, decode_tuples=True)
        self.calls = 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        function = getattr(self._contract.functions, name)

        def call(*args: Any, block_identifier: int) -> Any:
            self.calls += 1
            return function(*args).call(block_identifier=block_identifier)

        return call


def snapshots(net: Any, rounds: LocalRounds, label: str) -> None:
    started = time.perf_counter()
    rounds.ingestor.catch_up(timeout=600)
    ingest = time.perf_counter() - started
    block = rounds.ingestor.cursor()[0]
    timestamp = net.timestamp(block)
    mirror_snapshot = snapshot_from_mirror(rounds.mirror, block, timestamp)
    nodes, tasks = len(mirror_snapshot.nodes), len(mirror_snapshot.tasks)
    mirror_s = median_seconds(lambda: snapshot_from_mirror(rounds.mirror, block, timestamp), 5)
    params = Parameters(2_000, 5_000, 10_000_000, LOCAL_THRESHOLD)
    latest = rounds.reader.view().latest_round
    inputs_s = median_seconds(lambda: rounds.reader.inputs(latest + 1, block, params), 3)
    c = net.contracts
    registry = Views(net.rpc.w3, c.registry.address, c.registry.abi)
    market = Views(net.rpc.w3, c.market.address, c.market.abi)
    sample = min(200, nodes)
    at = {"block_identifier": block}
    per_call = median_seconds(
        lambda: [registry.getNode(i, **at) for i in range(1, sample + 1)], 3
    ) / sample  # fmt: skip
    calls = 2 + nodes + int(market.taskCount(**at))
    estimate = per_call * calls
    if estimate <= FULL_VIEW_RUN_SECONDS:
        started = time.perf_counter()
        view_snapshot = read_snapshot(registry, market, block)
        views_s = time.perf_counter() - started
        same = "the same snapshot" if view_snapshot == mirror_snapshot else "SNAPSHOTS DIFFER"
        how = f"full run, {same}"
    else:
        views_s = estimate
        how = f"extrapolated: {sample} calls timed, {per_call * 1000:.2f} ms each x {calls} calls"
    print(f"  {label}: {nodes} nodes, {tasks} pending tasks at block {block}")
    print(f"    mirror ingestion (once, {block} blocks): {ingest:8.2f} s")
    print(f"    snapshot_from_mirror:          {mirror_s * 1000:8.1f} ms")
    print(f"    RoundReader.inputs (member):   {inputs_s * 1000:8.1f} ms")
    print(f"    read_snapshot via web3 views:  {views_s:8.2f} s   ({how})")
    print(f"    ratio views / mirror:          {views_s / mirror_s:8.0f} x")


# ------------------------------------------------------------------------ 2. compute per round
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


DOMAIN = Domain(84532, "0x" + "22" * 20)
KEYS = [m.key for m in LOCAL_MEMBERS[:3]]


def service_round(inputs: RoundInputs) -> tuple[bytes, tuple[bytes, ...], list[tuple[bytes, ...]]]:
    document = build_document(inputs, solve(inputs, prove))
    digests = report_digests(document.reports(), DOMAIN)
    return document.data, digests, [sign_digests(digests, key) for key in KEYS]


def reference_round(
    inputs: RoundInputs,
) -> tuple[bytes, tuple[bytes, ...], list[tuple[bytes, ...]]]:
    """The same round through the library paths the service used before."""
    solution = solve(inputs, prove)
    chunks = cut(solution, inputs.parameters)
    data = canonical(
        {
            "schema": SCHEMA,
            "inputs": _jsonable(asdict(inputs)),
            "solution": solution_dict(solution),
            "reports": chunk_dicts(inputs.first_round, chunks),
        }
    )
    reports = build_document(inputs, solution).reports()
    digests = tuple(report_digest(r, DOMAIN) for r in reports)
    signatures = [tuple(sign_report(r, DOMAIN, key).compact() for r in reports) for key in KEYS]
    return data, digests, signatures


def compute(node_counts: list[int]) -> None:
    print("compute per round (inputs -> solve -> document -> reports -> digests -> 3 signatures)")
    for n in node_counts:
        inputs = synthetic(n, 1_000)
        same = service_round(inputs) == reference_round(inputs)
        ours = median_seconds(lambda inputs=inputs: service_round(inputs), 5)
        before = median_seconds(lambda inputs=inputs: reference_round(inputs), 3)
        reports = len(build_document(inputs, solve(inputs, prove)).chunks)
        print(f"  {n:>6} nodes x 1000 tasks: service {ours * 1000:7.1f} ms, library path "
              f"{before * 1000:7.1f} ms ({before / ours:.1f} x), {reports} reports, "
              f"{'byte-identical' if same else 'OUTPUTS DIFFER'}")  # fmt: skip


# ------------------------------------------------------------------------------ 3. gas per entry
def gas_per_entry(folder: Path) -> None:
    print("gas per report entry (receipt gas of the service's reports, Anvil, worst cases)")
    net = start_localnet(folder / "gas-chain")
    try:
        lab = GasLab(net, folder / "gas-lab")
        baseline = measure_baseline(lab)
        print(f"  report without entries: first on the chain {baseline.first:,}, then "
              f"{baseline.three:,} (3 signatures), {baseline.four:,} (4 signatures)")  # fmt: skip
        runs = []
        for n in (1, 10, 50):
            runs += [lab.allocations(n), lab.moves(n)]
        for c in (1, 8, 32):
            runs += [lab.reassignments(n, c) for n in (1, 10, 50)]
        table, worst = derive(baseline, runs), worst_costs(baseline, runs)
        committed = GasTable()
        print(f"  {'kind':<13}{'entries':>8}{'cands':>6}{'VRF tries':>10}{'receipt gas':>13}"
              f"{'per entry':>11}{'charged':>12}{'used':>7}")  # fmt: skip
        for m in runs:
            charged = bound(committed, m)
            print(f"  {m.kind:<13}{m.entries:>8}{m.candidates:>6}{sum(m.tries):>10}{m.gas:>13,}"
                  f"{(m.gas - baseline.three) / m.entries:>11,.0f}{charged:>12,}"
                  f"{m.gas / charged:>6.0%}")  # fmt: skip
        over = [m for m in runs if m.gas > bound(committed, m)]
        print(f"  every report within what the cut charged: {'yes' if not over else 'NO'}")
        print("  measured worst case | + 10 %, rounded up | GasTable in code")
        for name, value in worst.items():
            print(f"    {name:<14}{value:>10,.0f} |{getattr(table, name):>9,} |"
                  f"{getattr(committed, name):>9,}")  # fmt: skip
    finally:
        net.anvil.stop()


# --------------------------------------------------------------------- 4. reports and gas per round
def round_gas(net: Any, rounds: LocalRounds, pop: Population, tasks: int, key: bytes) -> None:
    pop.submit_tasks([TaskSpec(1 + i % 4, 3 * VER, key) for i in range(tasks)])
    started = time.perf_counter()
    run = rounds.run()
    seconds = time.perf_counter() - started
    gas = rounds.gas
    charged = [
        gas.report_gas(LOCAL_THRESHOLD, len(r.allocations), len(r.moves),
                       [(len(e.candidates), tries(e)) for e in r.reassignments])
        for r in run.reports
    ]  # fmt: skip
    used = run.gas
    worst = max(u / c for u, c in zip(used, charged, strict=True))
    print(f"  {tasks:>5} pending tasks: {len(run.reports)} reports, "
          f"{run.solution.entry_count} entries, receipt gas {sum(used):,} "
          f"(largest report {max(used):,}, cap {rounds.gas_cap:,}), charged by the cut "
          f"{sum(charged):,} (a report used at most {worst:.0%} of its charge), "
          f"{len(run.skipped)} skipped; computed and sent in {seconds:.1f} s")  # fmt: skip


# ------------------------------------------------------------------------------ 5. latency
def latency(folder: Path, samples: int) -> None:
    from tests.e2e._committee_harness import make_committee

    print("event -> report mined latency (Anvil, 2 s blocks, 4 `verai oracle run` members, "
          "confirmations 1)")  # fmt: skip
    net = start_localnet(folder / "latency-chain", block_time=2)
    committee = make_committee(net, folder / "latency-committee", transmit_delay=0)
    try:
        for m in committee.members:
            m.process.start()
        for m in committee.members:
            m.process.wait_for_output(r"oracle member started", timeout=60)
        committee.register_node(1, capacity=64, price=VER)
        rows = []
        for _ in range(samples):
            task = committee.submit_task(5, units=1, max_price=2 * VER)
            submitted = int(committee.events("TaskMarket", "TaskSubmitted")[-1].block_number)
            deadline = time.monotonic() + 120
            while not committee.assignments_of(task):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"task {task} not allocated within 120 s")
                time.sleep(0.2)
            mined = int(committee.assignments_of(task)[0]["block"])
            depth = submitted + 1  # the block in which the submission reached 1 confirmation
            seconds = net.timestamp(mined) - net.timestamp(submitted)
            rows.append((mined - submitted, mined - depth, seconds))
        for i, (blocks, after_depth, seconds) in enumerate(rows):
            print(f"  task {i + 1}: mined {blocks} blocks after its submission, {after_depth} "
                  f"after it reached the confirmation depth ({seconds} s)")  # fmt: skip
        worst = max(r[1] for r in rows)
        print(f"  worst: {worst} blocks after the confirmation depth (goal <= 2): "
              f"{'met' if worst <= 2 else 'NOT met'}")  # fmt: skip
    finally:
        committee.stop_all()
        net.anvil.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k nodes only, fewer samples")
    parser.add_argument("--skip-latency", action="store_true", help="no committee processes")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="verai-bench-oracle-"))
    counts = [1_000] if args.quick else [1_000, 10_000]

    print("snapshot building, 1k pending tasks (Anvil, automine)")
    net = start_localnet(folder / "snapshot-chain")
    try:
        pop = Population(net)
        rounds = LocalRounds(net, folder / "snapshot-mirror")
        started = time.perf_counter()
        pop.register_nodes([NodeSpec(8, VER + i % 1000) for i in range(counts[0])])
        pop.submit_tasks([TaskSpec(1 + i % 4, 3 * VER) for i in range(1_000)])
        print(f"  ({counts[0]} nodes and 1000 tasks put on the chain in "
              f"{time.perf_counter() - started:.0f} s)")  # fmt: skip
        snapshots(net, rounds, f"{counts[0]} nodes")
        if len(counts) > 1:
            started = time.perf_counter()
            extra = counts[1] - counts[0]
            pop.register_nodes([NodeSpec(8, VER + i % 1000) for i in range(extra)])
            print(f"  ({extra} more nodes in {time.perf_counter() - started:.0f} s)")
            snapshots(net, rounds, f"{counts[1]} nodes")
        print()
        compute(counts)
        print()
        print(f"reports and gas per round ({len(pop.owners)} nodes, gas cap 10,000,000, "
              "measured receipts)")  # fmt: skip
        rounds.run()  # the 1,000 tasks above
        from tests._localnet import GPU as GPU_KEY

        for tasks in (100, 2_000):
            round_gas(net, rounds, pop, tasks, GPU_KEY)
    finally:
        net.anvil.stop()
    print()
    gas_per_entry(folder)
    if not args.skip_latency:
        print()
        latency(folder, 3 if args.quick else 6)


if __name__ == "__main__":
    main()
