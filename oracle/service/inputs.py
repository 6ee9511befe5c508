"""The inputs of one service round: everything read from the chain at the snapshot block, as a
plain value that serialises to canonical JSON (the published document holds it, so anyone can
re-solve the round). Pure: no chain or I/O imports; `reader.py` builds it from the mirror.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from operator import attrgetter
from typing import Any

# NodeRegistry.Status values (see oracle.chain.mirror)
NODE_ACTIVE, NODE_THROTTLED, NODE_FAILED = 1, 2, 3
NODE_STATUS_NAMES = ("exited", "active", "throttled", "failed", "exiting", "exited")
BPS = 10_000


@dataclass(frozen=True, slots=True)
class GasTable:
    """Upper bounds of the gas a report uses, per part, used to cut a round into reports under
    the gas cap. Never eth_estimateGas: every member must cut the same way, whatever its node
    says, and the cut is part of the signed result.

    MEASURED: receipt gas on Anvil of the service's own reports of 1, 10 and 50 allocations,
    moves and reassignments (the reassignments with 1, 8 and 32 candidates), every entry in its
    worst case (a task, node and candidates no other entry of the transaction touched), by
    bench/oracle.py "gas per report entry" (tests/service/_report_gas.py; table in the README
    "Oracle service" section). Each figure is the worst measured marginal cost (the base: the
    worst per-report intercept, plus the first report's write of the round slot from zero) +
    10 %, rounded up, the larger of two runs (the VRF tries differ from run to run). Measured per
    entry: allocation 73,240, move 92,733, reassignment 135,400 + 4,914 per candidate + 1,612
    per extra VRF try (bench/vrf.py's 1,100 + a calldata word); base 96,562 + 5,097 per
    signature. tests/service/test_report_gas.py checks on a real chain
    that reports cut to a gas cap fit it and never use more than these bounds say."""

    base: int = 107_000
    """transmit with no entries: intrinsic gas, calldata, config load, round update, event,
    and the first entry's cold accesses of the market and the registry."""
    per_signature: int = 5_700
    """calldata (64 bytes), ecrecover and the member walk of one signature."""
    allocation: int = 81_000
    move: int = 103_000
    reassignment: int = 150_000
    """one reassignment without candidates or extra hash-to-curve tries: the draw, the VRF
    verification at the first try, the pick and the new assignment."""
    per_candidate: int = 5_500
    """one candidate of a reassignment: calldata, hashing, its free units read on-chain."""
    per_try: int = 1_800
    """one extra hash-to-curve try of the VRF proof: a witness word and its check."""

    def reassignment_gas(self, candidates: int, tries: int) -> int:
        """A reassignment entry with `candidates` candidates whose VRF proof needed `tries`
        rejected hash-to-curve tries (its helpers carry one witness each)."""
        return self.reassignment + self.per_candidate * candidates + self.per_try * tries

    def report_gas(
        self,
        signatures: int,
        allocations: int,
        moves: int,
        reassignments: Sequence[tuple[int, int]] = (),
    ) -> int:
        """A report with that many signatures, allocations and moves, and reassignments given
        as (candidates, tries) each."""
        return (
            self.base
            + self.per_signature * signatures
            + self.allocation * allocations
            + self.move * moves
            + sum(self.reassignment_gas(c, t) for c, t in reassignments)
        )


MAX_CANDIDATES = 32
"""Candidates of one reassignment at most: its gas grows with each (see GasTable)."""
MAX_REASSIGNMENTS_PER_REPORT = 50
"""The largest report of reassignments measured: past it the transaction's memory (quadratic
in size) would grow beyond what the GasTable bounds were measured on."""


@dataclass(frozen=True, slots=True)
class Parameters:
    """How the round is solved; part of the document, so an auditor solves the same way."""

    theta_bps: int
    overload_margin_bps: int
    gas_cap: int
    threshold: int
    gas: GasTable = field(default_factory=GasTable)
    max_candidates: int = MAX_CANDIDATES


@dataclass(frozen=True, slots=True)
class NodeRow:
    id: int
    resource_class: str
    status: int
    capacity: int
    reserved: int
    price: int
    load_bps: int
    last_heartbeat_at: int
    watts: int = 0
    """Power of the node's last heartbeat (W): the larger of its `watts` and the power the
    registry credited on it (`RoundReader.credited_watts`). Read only when the round is energy-aware
    (`RoundInputs.energy_weight` > 0), the only case where it is an input of the solution;
    0 otherwise, and then not written to the document."""

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.reserved)

    @property
    def reserved_share_bps(self) -> int:
        return 0 if self.capacity <= 0 else self.reserved * BPS // self.capacity


@dataclass(frozen=True, slots=True)
class TaskRow:
    """An Open task (pending or running units) at the snapshot."""

    id: int
    resource_class: str
    pending: int
    running: int
    max_price: int
    seed: int


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    """A Running assignment."""

    id: int
    task: int
    node: int
    units: int


@dataclass(frozen=True, slots=True)
class FailedRow:
    """A Failed assignment waiting for its VRF reassignment; `attempt` is the VRF attempt the
    chain binds (see ReportVerifier)."""

    id: int
    task: int
    node: int
    units: int
    attempt: int


@dataclass(frozen=True, slots=True)
class RoundInputs:
    chain_id: int
    market: str
    verifier: str
    config_digest: str
    vrf_public_key: str
    first_round: int
    service_index: int
    snapshot_block: int
    block_hash: str
    timestamp: int
    parameters: Parameters
    nodes: tuple[NodeRow, ...] = ()
    tasks: tuple[TaskRow, ...] = ()
    running: tuple[AssignmentRow, ...] = ()
    failed: tuple[FailedRow, ...] = ()
    heartbeat_timeout: int = 0
    """NodeRegistry's heartbeat timeout at the snapshot: a node whose last heartbeat is older
    gets no new work (it is about to be reported failed); 0 = no such rule."""
    energy_weight: int = 0
    """ReportVerifier.energyWeight() at the snapshot: VER wei per kWh the allocation charges
    for each node's measured energy (see `oracle.service.solve.energy_surcharge`); 0 = the
    energy-aware mode is off. Written to the document only when > 0 (with the nodes' watts),
    so the documents of rounds with the mode off are byte for byte what they were before it
    existed."""

    @property
    def energy_aware(self) -> bool:
        return self.energy_weight > 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON value of the inputs: `_jsonable(dataclasses.asdict(self))`, built column-wise
        (asdict deep-copies every field of 10k rows one by one: ~80 ms; this takes a few)."""
        value: dict[str, Any] = {
            f.name: _jsonable(getattr(self, f.name))
            for f in fields(self)
            if f.name not in _TABLES and f.name != "parameters"
        }
        value["parameters"] = _jsonable(asdict(self.parameters))
        for name, row_type in _TABLES.items():
            value[name] = _table(getattr(self, name), row_type)
        if not self.energy_aware:
            del value["energy_weight"]
            for row in value["nodes"]:
                del row["watts"]
        return value

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RoundInputs:
        params = dict(raw["parameters"])
        gas = GasTable(**{k: int(v) for k, v in params.pop("gas").items()})
        return cls(
            chain_id=int(raw["chain_id"]),
            market=str(raw["market"]),
            verifier=str(raw["verifier"]),
            config_digest=str(raw["config_digest"]),
            vrf_public_key=str(raw["vrf_public_key"]),
            first_round=int(raw["first_round"]),
            service_index=int(raw["service_index"]),
            snapshot_block=int(raw["snapshot_block"]),
            block_hash=str(raw["block_hash"]),
            timestamp=int(raw["timestamp"]),
            parameters=Parameters(**{k: int(v) for k, v in params.items()}, gas=gas),
            nodes=tuple(NodeRow(**_ints(n, "resource_class")) for n in raw["nodes"]),
            tasks=tuple(TaskRow(**_ints(t, "resource_class")) for t in raw["tasks"]),
            running=tuple(AssignmentRow(**_ints(a)) for a in raw["running"]),
            failed=tuple(FailedRow(**_ints(f)) for f in raw["failed"]),
            heartbeat_timeout=int(raw.get("heartbeat_timeout", 0)),
            energy_weight=int(raw.get("energy_weight", 0)),
        )


_TABLES: dict[str, type] = {
    "nodes": NodeRow,
    "tasks": TaskRow,
    "running": AssignmentRow,
    "failed": FailedRow,
}
_SAFE = 2**53


def _table(rows: tuple[Any, ...], row_type: type) -> list[dict[str, Any]]:
    """`[_jsonable(asdict(row)) for row in rows]` for rows of flat int/str dataclasses: the
    values are read column by column and only a column holding an integer beyond 2**53 is
    converted value by value (the others are already what `_jsonable` would give)."""
    names = tuple(f.name for f in fields(row_type))
    values = list(map(attrgetter(*names), rows))
    if not values:
        return []
    big = [
        i
        for i, column in enumerate(zip(*values, strict=True))
        if isinstance(column[0], int) and (max(column) >= _SAFE or min(column) <= -_SAFE)
    ]
    if big:
        converted = []
        for row in values:
            items = list(row)
            for i in big:
                items[i] = _jsonable(items[i])
            converted.append(items)
        return [dict(zip(names, row, strict=True)) for row in converted]
    return [dict(zip(names, row, strict=True)) for row in values]


def _ints(row: dict[str, Any], *text: str) -> dict[str, Any]:
    return {k: (v if k in text else int(v)) for k, v in row.items()}


def _jsonable(value: Any) -> Any:
    """Integers beyond 2**53 as decimal strings (JSON readers lose them otherwise)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
