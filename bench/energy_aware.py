"""Benchmark: what the energy-aware mode changes in a round's allocation (issue 13 item 3).

Run by `make bench` (`.venv/bin/python bench/energy_aware.py`); `--quick` for a smoke run.

On a generated network (two classes, nodes with a spread of measured watts per unit and of
prices, cheap nodes tending to be the power-hungry ones, as older boards are; tasks asking for
up to 60 % of the capacity, 40 % in the full run, with price caps), the service's own `solve`
is run with the mode off (ReportVerifier.energyWeight() = 0: the structured path) and on at
several weights (VER per kWh: the mcf path with the energy surcharges), side by side in one run.
For each it prints, per served unit-hour, the energy (Wh, from the nodes' watts / capacity) and
the price paid (VER), the served units, and the ratios on / off; then the extra VER paid per kWh
saved, the compute time of the round (off vs on) and whether two members' documents are
byte-identical.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oracle import vrf
from oracle.service.document import build_document
from oracle.service.inputs import GasTable, NodeRow, Parameters, RoundInputs, TaskRow
from oracle.service.solve import Solution, energy_costs, solve

VER = 10**18
CLASSES = ("0x" + "a1" * 32, "0x" + "b2" * 32)
KEY = (0x1D3A).to_bytes(32, "big")  # a VRF key for the proofs (these rounds need none)
WEIGHTS = (VER // 10, VER // 2, VER, 2 * VER, 5 * VER)


def say(text: str = "") -> None:
    print(text, flush=True)


def network(nodes: int, tasks: int, seed: int) -> RoundInputs:
    rng = random.Random(seed)
    rows = []
    for i in range(1, nodes + 1):
        capacity = rng.randint(1, 8)
        per_unit = rng.randint(60, 600)  # W per unit of capacity, measured
        # cheaper boards draw more: price falls with the watts per unit, plus noise; prices in
        # whole milli-VER (what owners set), 0.4 to 3 VER per unit-hour
        price = 3_000 - per_unit * 3 + rng.randint(-300, 300)
        rows.append(
            NodeRow(
                id=i, resource_class=CLASSES[i % 2], status=1, capacity=capacity, reserved=0,
                price=max(400, price) * VER // 1_000, load_bps=0, last_heartbeat_at=1_000,
                watts=per_unit * capacity + rng.randint(0, capacity - 1),
            )
        )  # fmt: skip
    supply = {c: sum(n.capacity for n in rows if n.resource_class == c) for c in CLASSES}
    demand = {c: int(0.6 * supply[c]) for c in CLASSES}
    task_rows = []
    t = 0
    while len(task_rows) < tasks and any(d > 0 for d in demand.values()):
        t += 1
        cls = CLASSES[t % 2]
        units = min(rng.randint(1, 8), demand[cls])
        if units <= 0:
            continue
        demand[cls] -= units
        cap = rng.choice((2, 3, 3, 4)) * VER  # most tasks can pay any node, some not all
        task_rows.append(TaskRow(t, cls, pending=units, running=0, max_price=cap, seed=t))
    return RoundInputs(
        chain_id=84532, market="0x" + "11" * 20, verifier="0x" + "22" * 20,
        config_digest="0x" + "33" * 32, vrf_public_key="0x" + vrf.public_key(KEY).hex(),
        first_round=1, service_index=0, snapshot_block=100, block_hash="0x" + "44" * 32,
        timestamp=1_000,
        parameters=Parameters(theta_bps=10_000, overload_margin_bps=5_000, gas_cap=30_000_000,
                              threshold=3, gas=GasTable()),
        nodes=tuple(rows), tasks=tuple(task_rows),
    )  # fmt: skip


def prove(alpha: bytes) -> bytes:
    return vrf.prove(KEY, alpha)


def figures(inputs: RoundInputs, s: Solution) -> tuple[int, float, float]:
    """(served units, Wh per served unit-hour, VER paid per served unit-hour)."""
    nodes = {n.id: n for n in inputs.nodes}
    served = s.allocation.served_units
    wh = sum(e.units * nodes[e.node].watts / nodes[e.node].capacity for e in s.allocation.entries)
    return served, wh / served, s.allocation.cost / VER / served


def timed(inputs: RoundInputs, repeats: int) -> tuple[float, Solution]:
    times, last = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        last = solve(inputs, prove)
        times.append(time.perf_counter() - start)
    assert last is not None
    return statistics.median(times), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small network, one repeat")
    args = parser.parse_args()
    nodes, tasks, repeats = (120, 60, 1) if args.quick else (1_000, 400, 3)
    base = network(nodes, tasks, seed=13)
    demand = sum(t.pending for t in base.tasks)
    supply = sum(n.capacity for n in base.nodes)
    say(
        f"energy-aware allocation: {nodes} nodes ({supply} units, 60..600 W per unit, "
        f"0.4..3 VER per unit-hour), {len(base.tasks)} tasks ({demand} units), 2 classes"
    )
    solve(replace(base, energy_weight=VER), prove)  # warm-up: OR-tools' first import
    off_time, off = timed(base, repeats)
    served0, wh0, ver0 = figures(base, off)
    say()
    say(
        f"{'weight VER/kWh':>15} {'served':>7} {'Wh/unit-h':>10} {'VER/unit-h':>11} "
        f"{'energy on/off':>14} {'price on/off':>13} {'VER per kWh saved':>18} "
        f"{'solve ms':>9}"
    )
    say(f"{'0 (off)':>15} {served0:>7} {wh0:>10.1f} {ver0:>11.4f} {'1.000':>14} {'1.000':>13} "
        f"{'':>18} {off_time * 1e3:>9.1f}")  # fmt: skip
    for weight in WEIGHTS:
        inputs = replace(base, energy_weight=weight)
        on_time, on = timed(inputs, repeats)
        assert on.energy == "applied", on.energy
        served, wh, ver = figures(inputs, on)
        assert served == served0  # the mode never changes what is served
        assert on.allocation.served() == off.allocation.served()
        saved_kwh = (wh0 - wh) * served / 1_000
        extra = (ver - ver0) * served
        per_kwh = f"{extra / saved_kwh:.3f}" if saved_kwh > 0.001 * wh0 * served / 1_000 else "-"
        say(f"{weight / VER:>15g} {served:>7} {wh:>10.1f} {ver:>11.4f} {wh / wh0:>14.3f} "
            f"{ver / ver0:>13.3f} {per_kwh:>18} {on_time * 1e3:>9.1f}")  # fmt: skip
    # determinism: two members building the round from their own copies of the inputs
    weight = VER
    first = RoundInputs.from_dict(
        {**base.to_dict(), "energy_weight": weight,
         "nodes": [{**n, "watts": row.watts} for n, row in
                   zip(base.to_dict()["nodes"], base.nodes, strict=True)]}
    )  # fmt: skip
    second = RoundInputs.from_dict(first.to_dict())
    a = build_document(first, solve(first, prove))
    b = build_document(second, solve(second, prove))
    pairs = sum(1 for t in first.tasks for n in first.nodes if n.resource_class == t.resource_class)
    say()
    say(f"two members' documents at 1 VER/kWh: {'byte-identical' if a.data == b.data else 'DIFFER'}"
        f" ({len(a.data):,} bytes, CID {a.cid[:16]}...); {len(energy_costs(first))} nodes with an "
        f"energy cost, surcharges on up to {pairs:,} pairs")  # fmt: skip
    assert a.data == b.data


if __name__ == "__main__":
    main()
