"""`verai audit`: anyone re-solves a round from its published document and compares it with
what the chain applied, entry by entry. Needs no key.

For a round R: the ReportAccepted event of R gives the inputs digest; the document is fetched
by the CID it names (raw codec, else dag-pb) from the store, which re-hashes it; then
1. the document is re-solved from its inputs with `structured` and rebuilt: it must be byte-
   identical to the published one (same solution, same cut, same VRF picks);
2. `mcf` and `lp` must serve the same units per task at the same cost and keep the same moves
   and reassignments (their entries may differ among equal optima);
   in an energy-aware round (inputs.energy_weight > 0) the pair costs carry energy surcharges,
   so `mcf` (the members' path there) is the reference of 1., `structured` does not apply, and
   `lp` must reach the same served units and the same price + energy objective; a round that
   fell back to prices alone (`ENERGY_FALLBACK`, decided from the mcf bound whatever the path)
   is compared on the price cost, and an `lp` re-solve whose costs exceed its float64 range
   (CostOverflow) is reported not applicable;
3. every report of the service round rebuilt from the document must have the digest the chain
   accepted (ReportAccepted.reportDigest);
4. in each report's transaction, every entry either created the matching assignment
   (AssignmentCreated: task, node, units, price, resumes-from) or was skipped (EntrySkipped).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from oracle import sortition
from oracle.allocation import Allocation, CostOverflow
from oracle.chain.abi import event_by_name
from oracle.chain.contracts import Contracts
from oracle.chain.events import ChainEvent, decode_logs
from oracle.checkpoints import CheckpointError
from oracle.cid import onchain_to_cid
from oracle.reports import Domain, report_digest
from oracle.service.document import DocumentError, build_document, parse_document, published_proofs
from oracle.service.errors import ServiceError
from oracle.service.solve import ENERGY_FALLBACK, Solution, energy_costs, objective, solve
from oracle.service.transmitter import reason_name

RAW, DAG_PB = 0x55, 0x70


class AuditError(ServiceError):
    """The audit could not run (no such round, document not found)."""


class Store(Protocol):
    def get(self, cid: str) -> bytes: ...


@dataclass
class RoundAudit:
    round: int
    rounds: list[int] = field(default_factory=list)
    cid: str = ""
    checks: list[tuple[bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)

    def check(self, ok: bool, text: str) -> None:
        self.checks.append((ok, text))


def accepted_events(contracts: Contracts, from_block: int) -> list[ChainEvent]:
    """Every ReportAccepted of the verifier from `from_block`, in chain order."""
    topic = "0x" + event_by_name("ReportVerifier", "ReportAccepted").topic0.hex()
    raw = contracts.rpc.request(
        "eth_getLogs",
        [{"fromBlock": hex(from_block), "toBlock": "latest",
          "address": str(contracts.verifier.address), "topics": [topic]}],
    )  # fmt: skip
    return decode_logs(raw, contracts.names_by_address())


def _fetch(store: Store, digest: bytes) -> tuple[str, bytes]:
    problems = []
    for codec in (RAW, DAG_PB):
        cid = onchain_to_cid(codec, digest)
        try:
            return cid, store.get(cid)
        except CheckpointError as exc:
            problems.append(str(exc))
    raise AuditError(f"document 0x{digest.hex()} not found: " + "; ".join(problems))


def _served(allocation: Allocation) -> dict[int, int]:
    return allocation.served()


def audit_round(
    contracts: Contracts,
    store: Store,
    round: int,
    *,
    events: list[ChainEvent] | None = None,
    paths: Iterable[str] = ("structured", "mcf", "lp"),
) -> RoundAudit:
    events = events if events is not None else accepted_events(contracts, 0)
    target = next((e for e in events if int(e.args["round"]) == round), None)
    if target is None:
        raise AuditError(f"round {round}: no ReportAccepted event on chain")
    audit = RoundAudit(round)
    digest = bytes(target.args["inputsDigest"])
    group = [e for e in events if bytes(e.args["inputsDigest"]) == digest]
    audit.rounds = [int(e.args["round"]) for e in group]
    try:
        audit.cid, data = _fetch(store, digest)
    except AuditError as exc:
        audit.check(False, str(exc))
        return audit
    audit.check(True, f"document {audit.cid} fetched; its digest is the report's inputsDigest")
    try:
        inputs, published, published_reports = parse_document(data)
    except DocumentError as exc:
        audit.check(False, str(exc))
        return audit
    proofs = published_proofs(published)
    by_alpha: dict[bytes, bytes] = {}
    tasks = {t.id: t for t in inputs.tasks}
    for failed in inputs.failed:
        if failed.id in proofs and failed.task in tasks:
            alpha = sortition.vrf_alpha(
                inputs.chain_id,
                inputs.market,
                failed.task,
                tasks[failed.task].seed.to_bytes(32, "big"),
                failed.attempt,
            )
            by_alpha[alpha] = proofs[failed.id]

    def prove(alpha: bytes) -> bytes:
        if alpha not in by_alpha:
            raise AuditError("the document publishes no VRF proof for a reassignment it needs")
        return by_alpha[alpha]

    energy = inputs.energy_aware
    reference_path = "mcf" if energy else "structured"
    costs = energy_costs(inputs)
    chosen = list(paths)
    if energy and "structured" in chosen:
        chosen.remove("structured")
        audit.check(True, "structured: not applicable (energy-aware round, pair surcharges)")
        if "mcf" not in chosen:
            chosen.insert(0, "mcf")
    solutions: dict[str, Solution] = {}
    for path in chosen:
        try:
            solutions[path] = solve(inputs, prove, path=path)  # type: ignore[arg-type]
        except CostOverflow as exc:
            if not energy or path == reference_path:
                audit.check(False, f"{path}: re-solve failed: {type(exc).__name__}: {exc}")
            else:  # lp's float64 bound (2**53) is below mcf's on a small surcharged network
                audit.check(True, f"{path}: not applicable (the costs exceed its range: {exc})")
        except Exception as exc:  # a solver failure is a finding, not a crash
            audit.check(False, f"{path}: re-solve failed: {type(exc).__name__}: {exc}")
    reference = solutions.get(reference_path)
    if reference is None:
        return audit
    rebuilt = build_document(inputs, reference)
    audit.check(
        rebuilt.data == data,
        f"{reference_path}: re-solved document is byte-identical to the published one"
        if rebuilt.data == data
        else f"{reference_path}: re-solved document DIFFERS from the published one",
    )
    if energy:
        audit.check(True, f"energy-aware round: {inputs.energy_weight} wei/kWh, "
                          f"{reference.energy or 'no allocation'}")  # fmt: skip
    # a round that fell back to prices alone (ENERGY_FALLBACK) minimised the price only: its
    # paths agree on the price paid, not on the energy cost of their equal-price optima
    surcharged = energy and reference.energy != ENERGY_FALLBACK
    measure = "price + energy cost" if surcharged else "cost"
    for path, other in solutions.items():
        if path == reference_path:
            continue
        want, value = (
            (objective(reference.allocation, costs), objective(other.allocation, costs))
            if surcharged
            else (reference.allocation.cost, other.allocation.cost)
        )
        same = (
            _served(other.allocation) == _served(reference.allocation)
            and value == want
            and other.energy == reference.energy
            and other.moves == reference.moves
            and other.reassignments == reference.reassignments
        )
        audit.check(
            same,
            f"{path}: same served units per task ({reference.allocation.served_units}) and "
            f"{measure} ({want} wei/h)" if same
            else f"{path}: served units or {measure} DIFFER from {reference_path}",
        )  # fmt: skip
    reports = {r.round: r for r in rebuilt.reports()}
    domain = Domain(inputs.chain_id, inputs.verifier)
    names = contracts.names_by_address()
    for event in group:
        rnd = int(event.args["round"])
        report = reports.get(rnd)
        if report is None:
            audit.check(False, f"round {rnd}: the document has no report for it")
            continue
        expected = report_digest(report, domain)
        audit.check(
            expected == bytes(event.args["reportDigest"]),
            f"round {rnd}: report digest 0x{expected.hex()[:16]}… matches the chain"
            if expected == bytes(event.args["reportDigest"])
            else f"round {rnd}: report digest DIFFERS from the chain's",
        )
        receipt: dict[str, Any] = contracts.rpc.request(
            "eth_getTransactionReceipt", [event.tx_hash]
        )
        logs = decode_logs(receipt.get("logs", []), names)
        created = [e for e in logs if e.name == "AssignmentCreated"]
        skipped = {
            int(e.args["index"]): reason_name("0x" + bytes(e.args["reason"]).hex())
            for e in logs
            if e.name == "EntrySkipped" and int(e.args["round"]) == rnd
        }
        expected_entries: list[tuple[str, tuple[int, ...]]] = []
        for a in report.allocations:
            expected_entries.append(("allocation", (a.task_id, a.node_id, a.units, a.price, 0)))
        for m in report.moves:
            expected_entries.append(("move", (m.assignment_id, m.to_node_id)))
        for r in report.reassignments:
            expected_entries.append(("reassignment", (r.assignment_id, r.node_id)))
        queue = list(created)
        mismatches = []
        for index, (kind, values) in enumerate(expected_entries):
            if index in skipped:
                continue
            if not queue:
                mismatches.append(f"entry {index} ({kind}) created no assignment")
                continue
            got = queue.pop(0).args
            if kind == "allocation":
                actual: tuple[int, ...] = (
                    int(got["taskId"]), int(got["nodeId"]), int(got["units"]),
                    int(got["pricePerUnitHour"]), int(got["resumesFrom"]),
                )  # fmt: skip
            else:
                actual = (int(got["resumesFrom"]), int(got["nodeId"]))
            if actual != values:
                mismatches.append(f"entry {index} ({kind}) expected {values}, chain {actual}")
        if queue:
            mismatches.append(f"{len(queue)} assignments created that no entry explains")
        applied = len(expected_entries) - len(skipped)
        detail = f"{applied} applied"
        if skipped:
            reasons: dict[str, int] = {}
            for name in skipped.values():
                reasons[name] = reasons.get(name, 0) + 1
            detail += ", skipped: " + ", ".join(f"{n} x{c}" for n, c in sorted(reasons.items()))
        audit.check(
            not mismatches,
            f"round {rnd}: {len(expected_entries)} entries, {detail}, each as the chain applied it"
            if not mismatches
            else f"round {rnd}: " + "; ".join(mismatches),
        )
    _ = published_reports
    return audit
