"""Reports of a known shape mined on a real chain, for their receipt gas: n allocations, n moves
or n reassignments with c candidates, every entry in its worst case (a task, a node and an
assignment no other entry of the transaction touched). Each scenario runs in a resource class of
its own on one shared chain, so the scenarios never see each other's nodes. The reports are the
service's own: `LocalRounds` reads the chain into a mirror, solves and cuts as a member does.
Used by tests/service/test_report_gas.py and bench/oracle.py."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from oracle.reports import Domain, Report, encode_signatures, sign_report, sort_signatures
from oracle.service.inputs import GasTable
from oracle.service.solve import tries
from scripts._committee import LOCAL_MEMBERS
from tests._localnet import VER, Localnet
from tests.service._network import LocalRounds, NodeSpec, Population, RoundRun, TaskSpec

PRICE = VER
WATT_LIMIT = 400
LONG = 6 * 3600  # tasks outlive the clock jumps of a failure (heartbeat timeout + grace)
ACTIVE, FAILED = 1, 3
_CLASS_NUMBERS = itertools.count(1)  # class names unique in the process: labs may share a chain


@dataclass
class Measured:
    kind: str
    entries: int
    candidates: int
    gas: int
    reports: int
    tries: list[int] = field(default_factory=list)
    run: RoundRun | None = None


class GasLab:
    def __init__(self, net: Localnet, folder: Path, *, gas_cap: int = 29_000_000) -> None:
        self.net = net
        self.pop = Population(net)
        self.rounds = LocalRounds(net, folder, gas_cap=gas_cap)

    # ------------------------------------------------------------------ helpers
    def new_class(self) -> bytes:
        return self.new_classes(1)[0]

    def new_classes(self, n: int) -> list[bytes]:
        """n resource classes nobody used (minimum stake 10 VER, watt limit WATT_LIMIT)."""
        keys = []
        for _ in range(n):
            keys.append(keccak(text=f"GAS-LAB-{next(_CLASS_NUMBERS)}"))
        registry = self.net.contracts.registry.functions
        sender = self.pop.sender
        sender.send_all(
            [sender.raw(self.net.deployer, registry.setClassConfig(k, 10 * VER, WATT_LIMIT),
                        300_000) for k in keys],
            f"configuring {n} classes",
        )  # fmt: skip
        return keys

    def _round(self) -> RoundRun:
        run = self.rounds.run()
        assert not run.skipped, f"entries skipped: {run.skipped}"
        return run

    def _measured(self, kind: str, n: int, c: int, run: RoundRun) -> Measured:
        got = {
            "allocation": len(run.solution.allocation.entries),
            "move": len(run.solution.moves),
            "reassignment": len(run.solution.reassignments),
        }
        assert got[kind] == n and sum(got.values()) == n, (kind, n, got)
        assert len(run.reports) == 1, f"{len(run.reports)} reports for {n} {kind}s"
        return Measured(
            kind, n, c, run.gas[0], len(run.reports),
            [tries(r) for r in run.solution.reassignments], run,
        )  # fmt: skip

    def _running(self, key: bytes, n: int) -> list[int]:
        """n nodes of class `key` with one running 1-unit assignment each; returns the nodes."""
        nodes = self.pop.register_nodes([NodeSpec(1, PRICE, key) for _ in range(n)])
        self.pop.submit_tasks([TaskSpec(1, PRICE, key, LONG) for _ in range(n)])
        run = self._round()
        assert len(run.solution.allocation.entries) == n
        return nodes

    # ------------------------------------------------------------------ scenarios
    def allocations(self, n: int) -> Measured:
        """n 1-unit tasks onto n fresh 1-unit nodes: one allocation per task and node."""
        key = self.new_class()
        self.pop.register_nodes([NodeSpec(1, PRICE, key) for _ in range(n)])
        self.pop.submit_tasks([TaskSpec(1, PRICE, key, LONG) for _ in range(n)])
        return self._measured("allocation", n, 0, self._round())

    def moves(self, n: int) -> Measured:
        """n nodes, each running one assignment, go over the class watt limit (Throttled): each
        assignment moves to its own fresh 1-unit node."""
        key = self.new_class()
        sources = self._running(key, n)
        self.pop.register_nodes([NodeSpec(1, PRICE, key) for _ in range(n)])
        self.pop.heartbeat(sources, watts=WATT_LIMIT * 3)
        return self._measured("move", n, 0, self._round())

    def reassignments(self, n: int, candidates: int) -> Measured:
        """n nodes, each running one assignment in a class of its own, stop heartbeating and
        are failed and settled; each assignment is reassigned by VRF among `candidates` live
        nodes of its class, so no two entries share a candidate (each one's free units are a
        storage read nobody made before in the transaction: the worst case)."""
        keys = self.new_classes(n)
        failing = self.pop.register_nodes([NodeSpec(1, PRICE, k) for k in keys])
        self.pop.submit_tasks([TaskSpec(1, PRICE, k, LONG) for k in keys])
        alive = self.pop.register_nodes(
            [NodeSpec(2, PRICE, k) for k in keys for _ in range(candidates)]
        )
        # each class's failing node has the lowest id: the allocation's tie-break picks it
        run = self._round()
        assert {e.node for e in run.solution.allocation.entries} == set(failing), "setup"
        self.fail(failing, alive)
        return self._measured("reassignment", n, candidates, self._round())

    def fail(self, nodes: list[int], alive: list[int]) -> None:
        """Fails `nodes` the way the registry allows (a suspicion after the heartbeat timeout,
        the failure after the grace when the registry has one) and settles their running
        assignments; `alive` heartbeat after every clock jump."""
        c = self.net.contracts
        params = c.registry.functions.parameters().call()
        timeout, grace = int(params[0]), int(params[4]) if len(params) > 4 else 0
        reporter = self.net.account(7)
        for jump in (timeout + 1, grace + 1):
            self.net.mine(seconds=jump)
            self.pop.heartbeat(alive)
            pending = [n for n in nodes if self._status(n) != FAILED]
            if not pending:
                break
            self.pop.sender.send_all(
                [self.pop.sender.raw(reporter, c.registry.functions.reportFailure(n), 400_000)
                 for n in pending],
                f"reporting {len(pending)} nodes",
            )  # fmt: skip
        assert all(self._status(n) == FAILED for n in nodes)
        running = self._running_assignments(nodes)
        self.pop.sender.send_all(
            [self.pop.sender.raw(reporter, c.market.functions.settleNodeFailure(n, ids),
                                 3_000_000) for n, ids in running.items()],
            f"settling {len(running)} failed nodes",
        )  # fmt: skip

    def _status(self, node: int) -> int:
        return int(self.net.contracts.registry.functions.getNode(node).call()[2])

    def _running_assignments(self, nodes: list[int]) -> dict[int, list[int]]:
        self.rounds.ingestor.catch_up()
        block = self.rounds.ingestor.cursor()[0]
        wanted = set(nodes)
        found: dict[int, list[int]] = {}
        for a in self.rounds.mirror.running_assignments_at(block):
            if a.node_id in wanted:
                found.setdefault(a.node_id, []).append(a.id)
        return found

    def empty(self, signatures: int) -> int:
        """Receipt gas of a report with no entries carrying `signatures` member signatures."""
        net = self.net
        domain = Domain(net.chain_id, net.record.contracts["ReportVerifier"])
        report = Report(net.config_digest(), net.next_round(), net.head() - 1, b"\x07" * 32)
        sigs = sort_signatures(
            report, domain, [sign_report(report, domain, m.key) for m in LOCAL_MEMBERS]
        )[:signatures]
        call = net.contracts.verifier.functions.transmit(report.as_abi(), encode_signatures(sigs))
        receipt: dict[str, Any] = net.send(call, net.account(19))
        return int(receipt["gasUsed"], 16)


def bound(gas: GasTable, m: Measured, signatures: int = 3) -> int:
    """What the cut charges for the measured report."""
    if m.kind == "allocation":
        return gas.report_gas(signatures, m.entries, 0)
    if m.kind == "move":
        return gas.report_gas(signatures, 0, m.entries)
    return gas.report_gas(signatures, 0, 0, [(m.candidates, t) for t in m.tries])


@dataclass(frozen=True)
class Baseline:
    """Receipt gas of reports without entries: the first one on a new chain (it writes the
    round slot from zero), then with 3 and with 4 signatures."""

    first: int
    three: int
    four: int

    @property
    def per_signature(self) -> int:
        return self.four - self.three


def measure_baseline(lab: GasLab) -> Baseline:
    return Baseline(lab.empty(3), lab.empty(3), lab.empty(4))


def _up(value: float, step: int) -> int:
    return int(-(-value // step) * step)


# One extra hash-to-curve try of a VRF proof: bench/vrf.py measures VRF verification at 48,135 /
# 49,211 / 51,411 gas for TAI counters 0 / 1 / 3 (about 1,100 a try), plus the try's witness
# word in calldata (32 bytes, all non-zero: 512 gas).
PER_TRY = 1_100 + 512


def _slope(points: list[tuple[int, float]]) -> float:
    """The worst marginal cost of one more entry between consecutive measured sizes."""
    ordered = sorted(points)
    return max((g2 - g1) / (n2 - n1) for (n1, g1), (n2, g2) in itertools.pairwise(ordered))


def worst_costs(baseline: Baseline, runs: list[Measured]) -> dict[str, float]:
    """The measured worst cases, GasTable field by field. Per kind, the worst marginal cost of
    an entry between consecutive report sizes; for reassignments after taking PER_TRY off for
    each extra VRF try, per candidate count, then split into a fixed part and a per-candidate
    part by the worst slope between candidate counts. The base is the worst per-report
    intercept (gas - entries x marginal cost) of any measured report, plus what the first report
    on a chain pays for writing the round slot from zero, less its three signatures."""
    per_entry: dict[str, float] = {}
    intercepts: list[float] = [float(baseline.three)]
    for kind in ("allocation", "move"):
        points = [(m.entries, float(m.gas)) for m in runs if m.kind == kind]
        per_entry[kind] = _slope(points)
        intercepts += [g - per_entry[kind] * n for n, g in points]
    by_candidates: dict[int, float] = {}
    for c in sorted({m.candidates for m in runs if m.kind == "reassignment"}):
        points = [
            (m.entries, float(m.gas - PER_TRY * sum(m.tries)))
            for m in runs
            if m.kind == "reassignment" and m.candidates == c
        ]
        by_candidates[c] = _slope(points)
        intercepts += [g - by_candidates[c] * n for n, g in points]
    per_candidate = _slope(list(by_candidates.items()))
    return {
        "base": max(intercepts) + (baseline.first - baseline.three) - 3 * baseline.per_signature,
        "per_signature": float(baseline.per_signature),
        "allocation": per_entry["allocation"],
        "move": per_entry["move"],
        "reassignment": max(v - per_candidate * c for c, v in by_candidates.items()),
        "per_candidate": per_candidate,
        "per_try": float(PER_TRY),
    }


def derive(baseline: Baseline, runs: list[Measured], margin: float = 0.10) -> GasTable:
    """Upper bounds: the measured worst cases (`worst_costs`) + `margin`, rounded up."""
    worst = worst_costs(baseline, runs)
    k = 1 + margin
    fine = ("per_signature", "per_candidate", "per_try")
    return GasTable(**{n: _up(v * k, 100 if n in fine else 1_000) for n, v in worst.items()})
