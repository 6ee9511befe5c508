"""Benchmark: allocation and balancing engine against the seed's algorithms and OR-tools.

Run by `make bench` (`.venv/bin/python bench/allocation.py`); `--quick` for a smoke run. Every
ratio is measured in this run, on this machine: medians of repeated runs (7-21 for the fast
engine, 1-5 for the slow references), with the garbage collector paused while timing, as
`timeit` does. On a shared machine short timings vary run to run; rerun before concluding.

Sections
  1. single demand (the seed's problem): structured path vs the seed's LP on linprog/HiGHS;
  2. transportation: structured path vs OR-tools min-cost flow vs the HiGHS reference LP
     (IPM + crossover, stopped after 60 s);
  3. balancer vs the seed's redistribute_load (reconstructed, oracle.balancing);
  4. balancer move count vs the exact minimum from OR-tools CP-SAT on small instances;
  5. peak memory of the largest cases (fresh processes);
  6. the issue's targets, met or not.
"""

from __future__ import annotations

import argparse
import functools
import gc
import multiprocessing
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._instances import uniform_load_state
from oracle.allocation import Node, Snapshot, Task, allocate, serve_single_demand
from oracle.balancing import (
    Assignment,
    LoadNode,
    LoadState,
    apply_moves,
    balance,
    band_report,
    band_windows,
    reference_redistribute,
)

LP_TIME_LIMIT = 60.0
TARGETS: list[tuple[str, str, bool | None]] = []


def say(text: str = "") -> None:
    print(text, flush=True)


def median_time(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time in seconds over ``repeats`` runs, and the last result. As in
    ``timeit``, the garbage collector is paused while a run is timed (for every contestant)."""
    times = []
    result = None
    for _ in range(repeats):
        result = None
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times), result


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    say("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    say("  ".join("-" * w for w in widths))
    for row in rows:
        say("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def target(name: str, measured: str, met: bool | None) -> None:
    TARGETS.append((name, measured, met))


# ------------------------------------------------------------------------------------ 1. single
def seed_linprog(
    prices: np.ndarray,
    caps: np.ndarray,
    demand: int,
    method: str = "highs-ipm",
    presolve: bool = False,
) -> np.ndarray:
    """The seed's LP (min p.x, sum x >= D, 0 <= x <= cap) on HiGHS (the seed used 'simplex').

    Default: interior point + crossover without presolve, HiGHS' fastest setting on this
    problem here (its presolve alone takes seconds once prices are mostly distinct)."""
    from scipy.optimize import linprog

    n = prices.size
    result = linprog(
        prices.astype(np.float64),
        A_ub=-np.ones((1, n)),
        b_ub=[-float(demand)],
        bounds=np.column_stack((np.zeros(n), caps.astype(np.float64))),
        method=method,
        options={"presolve": presolve},
    )
    if result.status != 0:
        raise RuntimeError(f"linprog failed: {result.message}")
    return np.asarray(result.x)


def single_demand(sizes: list[int]) -> None:
    say("== 1. single demand: structured path vs the seed's LP on linprog/HiGHS ==")
    say("   prices 1e15 + k*1e9 wei (k < 1e6), free units 1..16, demand 60 % of supply")
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        prices = 10**15 + rng.integers(0, 10**6, n) * 10**9
        caps = rng.integers(1, 17, n)
        demand = int(caps.sum() * 6 // 10)
        repeats = 21 if n <= 10**5 else 7
        ours, served = median_time(
            functools.partial(serve_single_demand, prices, caps, demand), repeats
        )
        ref, x = median_time(
            functools.partial(seed_linprog, prices, caps, demand), 5 if n <= 10**5 else 1
        )
        exact = int(np.dot(served.astype(object), prices.astype(object)))
        lp_cost = float(np.dot(x, prices.astype(np.float64)))
        same = abs(lp_cost - exact) <= 1e-9 * exact
        ratio = ref / ours
        rows.append(
            [f"{n:.0e}", fmt_time(ours), fmt_time(ref), f"{ratio:.0f}x", "yes" if same else "NO"]
        )
        say(f"   ... n={n:.0e} done")
        if n == 10**5:
            target(
                "structured >= 100x linprog/HiGHS, single demand, n=1e5",
                f"{ratio:.0f}x",
                ratio >= 100,
            )
    table(["n", "structured", "linprog/HiGHS", "ratio", "same optimum"], rows)
    say("   (linprog/HiGHS = method='highs-ipm' with crossover, presolve off: its fastest setting)")
    rng = np.random.default_rng(10**4)
    prices = 10**15 + rng.integers(0, 10**6, 10**4) * 10**9
    caps = rng.integers(1, 17, 10**4)
    for method in ("highs", "highs-ipm"):
        elapsed, _ = median_time(
            functools.partial(
                seed_linprog, prices, caps, int(caps.sum() * 6 // 10), method, presolve=True
            ),
            1,
        )
        say(f"   for comparison, n=1e4 with method='{method}' and presolve on: {fmt_time(elapsed)}")
    # The seed's own call, once: method='simplex' at n = 1000.
    from scipy.optimize import linprog

    rng = np.random.default_rng(1000)
    prices = rng.integers(10, 1000, 1000).astype(np.float64)
    caps = rng.integers(1, 100, 1000).astype(np.float64)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = linprog(
            prices,
            A_ub=-np.ones((1, 1000)),
            b_ub=[-caps.sum() * 0.6],
            bounds=list(zip([0] * 1000, caps, strict=True)),
            method="simplex",
        )
    say(
        f"   the seed's own call (method='simplex', n=1e3): "
        f"{fmt_time(time.perf_counter() - start)}, success={result.success} "
        f"(status {result.status}: {result.message[:60]}...)"
    )
    say()


# ------------------------------------------------------------------------------------ 2. transport
def transport_instance(n: int, m: int, pairs: int, seed: int) -> Snapshot:
    """Nodes and tasks split evenly over classes of about ``2 * pairs / m`` nodes; each task's
    cap admits a uniform 1..2*pairs/m cheapest nodes of its class, so the eligible pairs add up
    to about ``pairs`` and every node is eligible for some task. Demands are drawn in order of
    eligible-set size and capped so that every prefix of a class's tasks fits in 80 % of its
    nodes' free units (Hall's condition): every task can be fully served, so all three paths
    solve the same single LP."""
    rng = np.random.default_rng(seed)
    span = max(1, 2 * pairs // m)
    classes = max(1, round(n / span))
    names = tuple(f"GPU-{c:02d}" for c in range(classes))
    nodes: list[Node] = []
    tasks: list[Task] = []
    for c, name in enumerate(names):
        count = n // classes + (1 if c < n % classes else 0)
        jobs = m // classes + (1 if c < m % classes else 0)
        prices = 10**15 + rng.integers(0, 10**6, count) * 10**9
        free = rng.integers(1, 17, count)
        order = np.argsort(prices, kind="stable")
        reach = np.cumsum(free[order])
        k = np.clip(rng.integers(1, span, jobs), 1, count)
        caps = prices[order][k - 1]
        typical = max(2, int(reach[-1] * 0.5 / jobs))
        units = np.zeros(jobs, dtype=np.int64)
        wanted = 0
        for j in np.argsort(k, kind="stable").tolist():
            room = int(reach[k[j] - 1] * 8 // 10) - wanted
            units[j] = max(0, min(int(rng.integers(1, 2 * typical)), room))
            wanted += int(units[j])
        base = len(nodes)
        nodes.extend(
            Node(base + i, name, int(f), int(p))
            for i, (f, p) in enumerate(zip(free, prices, strict=True))
        )
        first_task = 10**6 + len(tasks)
        tasks.extend(
            Task(first_task + j, name, int(u), int(cap))
            for j, (u, cap) in enumerate(zip(units, caps, strict=True))
        )
    return Snapshot(classes=names, nodes=tuple(nodes), tasks=tuple(tasks))


def eligible_pairs(snapshot: Snapshot) -> int:
    count = 0
    for name in snapshot.classes:
        prices = np.sort(
            np.asarray([n.price for n in snapshot.nodes if n.resource_class == name], np.int64)
        )
        caps = np.asarray(
            [t.max_price for t in snapshot.tasks if t.resource_class == name and t.units > 0],
            dtype=np.int64,
        )
        count += int(np.searchsorted(prices, caps, side="right").sum())
    return count


def transportation(cases: list[tuple[int, int, int]]) -> None:
    say("== 2. transportation: structured vs OR-tools min-cost flow vs HiGHS LP (IPM+crossover) ==")
    rows = []
    for n, m, pairs in cases:
        snapshot = transport_instance(n, m, pairs, seed=n + m)
        arcs = eligible_pairs(snapshot)
        say(f"   ... ({n}, {m}, {arcs} pairs): structured")
        ours, structured = median_time(functools.partial(allocate, snapshot, "structured"), 9)
        say(f"   ... ({n}, {m}, {arcs} pairs): OR-tools min-cost flow")
        mcf_time, mcf = median_time(functools.partial(allocate, snapshot, "mcf"), 3)
        say(f"   ... ({n}, {m}, {arcs} pairs): HiGHS LP (limit {LP_TIME_LIMIT:.0f} s)")
        try:
            lp_time, lp = median_time(
                functools.partial(allocate, snapshot, "lp", lp_time_limit=LP_TIME_LIMIT), 1
            )
            lp_text = fmt_time(lp_time)
            lp_ratio = f"{lp_time / ours:.0f}x"
            lp_same = lp.cost == structured.cost and lp.served_units == structured.served_units
        except Exception as exc:  # time limit: the LP did not finish
            lp_text = f"> {LP_TIME_LIMIT:.0f} s ({type(exc).__name__})"
            lp_ratio = "-"
            lp_same = None
        mcf_same = mcf.cost == structured.cost and mcf.served_units == structured.served_units
        same = "yes" if mcf_same and lp_same is not False else "NO"
        rows.append(
            [
                f"({n}, {m}, {arcs // 1000}k)",
                fmt_time(ours),
                fmt_time(mcf_time),
                f"{mcf_time / ours:.0f}x",
                lp_text,
                lp_ratio,
                same + ("" if lp_same is not None else " (mcf)"),
            ]
        )
        if (n, m) == (20_000, 2_000):
            ratio = mcf_time / ours
            target("structured >= 10x OR-tools MCF at 20000 x 2000", f"{ratio:.0f}x", ratio >= 10)
    table(
        [
            "(nodes, tasks, pairs)",
            "structured",
            "OR-tools MCF",
            "MCF/struct",
            "HiGHS LP",
            "LP/struct",
            "same optimum",
        ],
        rows,
    )
    say()


# ------------------------------------------------------------------------------------ 3. balancer
def balancer(sizes: list[int], seed_sizes: set[int]) -> None:
    say("== 3. balancer vs the seed's redistribute_load (θ = 10 % of load, nodes of 100 units) ==")
    say("   loads uniform 0..100 units in assignments of 1..30 units; the seed gets the loads")
    rows = []
    for n in sizes:
        build_start = time.perf_counter()
        state = uniform_load_state(n, seed=n)
        build = time.perf_counter() - build_start
        repeats = 15 if n <= 10**4 else 9
        ours, moves = median_time(functools.partial(balance, state), repeats)
        after = band_report(apply_moves(state, moves))
        before = band_report(state)
        moved = sum(m.units for m in moves)
        used = state.used()
        loads = [float(used[node.id]) for node in state.nodes]
        mean = sum(loads) / n
        if n in seed_sizes:
            say(f"   ... n={n:.0e}: the seed's rule (quadratic)")
            ref, seed = median_time(
                functools.partial(reference_redistribute, loads, 10.0), 3 if n <= 10**4 else 1
            )
            seed_dev = max(abs(x - mean) for x in seed.loads)
            seed_out = sum(abs(x - mean) > 10.0 for x in seed.loads)
            ratio = ref / ours
            seed_cols = [
                fmt_time(ref),
                f"{ratio:.0f}x",
                f"{seed_dev:.2f} %",
                str(seed_out),
                f"{seed.moved:.0f}",
            ]
            if n == 10**4:
                target("balancer >= 20x the seed at n=1e4", f"{ratio:.0f}x", ratio >= 20)
            if n == 10**5:
                target("balancer >= 1000x the seed at n=1e5", f"{ratio:.0f}x", ratio >= 1000)
            target(
                f"balancer moves less load than the seed (n={n:.0e})",
                f"{moved} vs {seed.moved:.0f}",
                moved < seed.moved,
            )
        else:
            seed_cols = ["(skipped)", "-", "-", "-", "-"]
        target(
            f"balancer leaves no node outside θ (n={n:.0e})",
            f"{after.outside} outside",
            after.outside == 0,
        )
        rows.append(
            [
                f"{n:.0e}",
                str(before.outside),
                fmt_time(ours),
                *seed_cols[:2],
                f"{after.max_deviation_bps / 100:.2f} %",
                seed_cols[2],
                str(after.outside),
                seed_cols[3],
                str(moved),
                seed_cols[4],
                str(len(moves)),
            ]
        )
        say(f"   ... n={n:.0e} done (LoadState built and validated in {fmt_time(build)})")
    table(
        [
            "n",
            "outside before",
            "balance",
            "seed",
            "ratio",
            "max|L-L̄| after",
            "seed",
            "outside after",
            "seed",
            "units moved",
            "seed",
            "moves",
        ],
        rows,
    )
    say()


# ------------------------------------------------------------------------------------ 4. CP-SAT
def min_moves_cpsat(state: LoadState) -> int | None:
    """Exact minimum number of assignments whose node changes so every active node ends in its
    window (final state only; capacity as a final constraint). None when infeasible."""
    from ortools.sat.python import cp_model

    windows = band_windows(state)
    nodes = [n for n in state.nodes if n.status == "active"]
    model = cp_model.CpModel()
    place: dict[tuple[int, int], Any] = {}
    for a in state.assignments:
        for node in nodes:
            place[a.id, node.id] = model.NewBoolVar(f"x_{a.id}_{node.id}")
        model.AddExactlyOne(place[a.id, node.id] for node in nodes)
    for node in nodes:
        load = sum(a.units * place[a.id, node.id] for a in state.assignments)
        lo, hi = windows[node.id]
        model.Add(load >= lo)
        model.Add(load <= min(hi, node.capacity))
    model.Minimize(sum(1 - place[a.id, a.node] for a in state.assignments))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 20.0
    solver.parameters.num_workers = 2
    status = solver.Solve(model)
    if status == cp_model.OPTIMAL:
        return round(solver.ObjectiveValue())
    if status == cp_model.INFEASIBLE:
        return None
    raise RuntimeError(f"CP-SAT did not prove optimality: {solver.StatusName(status)}")


def small_balancer_instance(seed: int) -> LoadState:
    rng = random.Random(seed)
    count = rng.randint(6, 10)
    nodes = tuple(LoadNode(i, "GPU", 20) for i in range(count))
    assignments = []
    for i in range(count):
        left = rng.randint(0, 20)
        while left > 0:
            units = min(left, rng.randint(1, 8))
            assignments.append(Assignment(len(assignments), len(assignments), i, units))
            left -= units
    return LoadState(nodes=nodes, assignments=tuple(assignments), theta_bps=1_000)


def cpsat_gap(count: int) -> None:
    say("== 4. balancer move count vs the exact minimum (OR-tools CP-SAT), small instances ==")
    say("   6-10 nodes of 20 units, loads uniform 0..20 in assignments of 1..8 units, θ = 10 %")
    reachable = reached = optimal = 0
    gaps: list[int] = []
    greedy_moves: list[int] = []
    exact_moves: list[int] = []
    for seed in range(count):
        state = small_balancer_instance(seed)
        best = min_moves_cpsat(state)
        moves = balance(state, exact_budget=0)
        in_band = band_report(apply_moves(state, moves)).outside == 0
        if best is None:
            continue
        reachable += 1
        if in_band:
            reached += 1
            gaps.append(len(moves) - best)
            greedy_moves.append(len(moves))
            exact_moves.append(best)
            optimal += len(moves) == best
    rows = [
        [
            str(count),
            str(reachable),
            str(reached),
            f"{statistics.mean(greedy_moves):.2f}" if greedy_moves else "-",
            f"{statistics.mean(exact_moves):.2f}" if exact_moves else "-",
            f"{100 * optimal / max(1, reached):.0f} %",
            str(max(gaps, default=0)),
            f"{100 * (sum(greedy_moves) / max(1, sum(exact_moves)) - 1):.1f} %",
        ]
    ]
    table(
        [
            "instances",
            "band reachable",
            "greedy reached",
            "greedy moves",
            "min moves",
            "greedy optimal",
            "max gap",
            "extra moves",
        ],
        rows,
    )
    say("   (greedy = balance(..., exact_budget=0); CP-SAT counts final placements, a lower bound")
    say(
        "    on sequential moves; 'greedy moves'/'min moves' are means over instances both reached)"
    )
    say()


# ------------------------------------------------------------------------------------ 5. memory
def _peak_child(case: str, queue: Any) -> None:
    job: Callable[[], Any]
    if case == "single-1e6":
        rng = np.random.default_rng(10**6)
        prices = 10**15 + rng.integers(0, 10**6, 10**6) * 10**9
        caps = rng.integers(1, 17, 10**6)
        job = functools.partial(serve_single_demand, prices, caps, int(caps.sum() * 6 // 10))
    elif case.startswith("transport"):
        snapshot = transport_instance(20_000, 2_000, 800_000, seed=22_000)
        job = functools.partial(allocate, snapshot, case.split("-")[1])
    else:
        job = functools.partial(balance, uniform_load_state(10**5, seed=10**5))
    status = Path("/proc/self/status")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _kib(status.read_text(), "VmRSS")
    job()
    queue.put((before, _kib(status.read_text(), "VmHWM")))


def _kib(text: str, key: str) -> int:
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def memory() -> None:
    say("== 5. peak memory of the largest cases (fresh process; peak RSS while solving) ==")
    context = multiprocessing.get_context("spawn")
    rows = []
    for case, label in (
        ("single-1e6", "single demand n=1e6, structured"),
        ("transport-structured", "20000 x 2000 (800k pairs), structured"),
        ("transport-mcf", "20000 x 2000 (800k pairs), OR-tools MCF"),
        ("balance-1e5", "balancer n=1e5"),
    ):
        queue = context.Queue()
        child = context.Process(target=_peak_child, args=(case, queue))
        child.start()
        before, peak = queue.get()
        child.join()
        rows.append([label, f"{peak / 1024:.0f} MiB", f"+{(peak - before) / 1024:.0f} MiB"])
        say(f"   ... {label} done")
    table(["case", "peak RSS", "above the input"], rows)
    say()


# ------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes only (smoke run, < 1 min)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if args.quick:
        single_demand([10**3, 10**4])
        transportation([(1_000, 100, 20_000)])
        balancer([10**3, 10**4], {10**3, 10**4})
        cpsat_gap(20)
    else:
        say("full run: several minutes (the seed's quadratic balancer takes about a minute at 1e5)")
        say()
        single_demand([10**3, 10**4, 10**5, 10**6])
        transportation([(1_000, 100, 20_000), (5_000, 500, 500_000), (20_000, 2_000, 800_000)])
        balancer([10**3, 10**4, 10**5], {10**3, 10**4, 10**5})
        cpsat_gap(100)
        memory()
    say("== targets (issue 7) ==")
    for name, measured, met in TARGETS:
        verdict = "met" if met else ("NOT met" if met is False else "n/a")
        say(f"   [{verdict:>7}] {name}: {measured}")
    say(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
