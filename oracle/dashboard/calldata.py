"""The entries of a committee report, read back from its `transmit` calldata with the committed
ReportVerifier ABI (events carry only counts). Pure.

Fields are looked up by their ABI names, not positions, and unpacked as IReportVerifier
documents them: allocation = taskId (64) | nodeId (64) | units (32) | price (96); move =
assignmentId (64) | toNodeId (64); reassignment = assignmentId (64) | nodeId (64), candidates =
nodeId (64) | weight (32). Entry indexes (those of `EntrySkipped`) run over the allocations,
then the moves, then the reassignments.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_utils.crypto import keccak

from oracle.chain.abi import canonical_type, load_abi, signature

U32 = 2**32 - 1
U64 = 2**64 - 1
U96 = 2**96 - 1


@dataclass(frozen=True)
class Entry:
    index: int
    kind: str  # "allocation" | "move" | "reassignment"
    task_id: int | None = None
    node_id: int | None = None
    units: int | None = None
    price: int | None = None
    assignment_id: int | None = None
    candidates: tuple[tuple[int, int], ...] = ()  # (node id, weight)


@dataclass(frozen=True)
class TransmittedReport:
    round: int
    snapshot_block: int
    config_digest: bytes
    inputs_digest: bytes
    entries: tuple[Entry, ...]
    signatures: int  # how many 64-byte signatures came with it


@functools.cache
def _transmit() -> tuple[bytes, list[str], list[dict[str, Any]]]:
    entry = next(
        e
        for e in load_abi("ReportVerifier")
        if e.get("type") == "function" and e.get("name") == "transmit"
    )
    inputs = entry["inputs"]
    return keccak(text=signature(entry))[:4], [canonical_type(p) for p in inputs], inputs


def _named(value: Any, param: dict[str, Any]) -> Any:
    """An ABI-decoded value with its tuples turned into dicts keyed by component name."""
    kind = str(param["type"])
    if kind == "tuple":
        return {c["name"]: _named(v, c) for c, v in zip(param["components"], value, strict=True)}
    if kind.startswith("tuple[") or (kind.endswith("]") and "components" in param):
        inner = dict(param, type=kind[: kind.rindex("[")])
        return [_named(v, inner) for v in value]
    return value


def decode_transmit(calldata: bytes) -> TransmittedReport | None:
    """The report a `transmit` call carried; None when the calldata is not one (the report was
    sent through another contract, or the ABI changed since)."""
    selector, types, inputs = _transmit()
    if calldata[:4] != selector:
        return None
    try:
        values = decode(types, calldata[4:])
    except Exception:  # eth_abi raises several unrelated types for malformed data
        return None
    args = {p["name"]: _named(v, p) for p, v in zip(inputs, values, strict=True)}
    report = args["report"]
    entries: list[Entry] = []
    for word in report.get("allocations", []):
        entries.append(
            Entry(
                len(entries),
                "allocation",
                task_id=word >> 192,
                node_id=(word >> 128) & U64,
                units=(word >> 96) & U32,
                price=word & U96,
            )
        )
    for word in report.get("moves", []):
        entries.append(
            Entry(len(entries), "move", assignment_id=(word >> 64) & U64, node_id=word & U64)
        )
    for item in report.get("reassignments", []):
        word = int(item["packed"])
        entries.append(
            Entry(
                len(entries),
                "reassignment",
                assignment_id=(word >> 64) & U64,
                node_id=word & U64,
                candidates=tuple(((c >> 32) & U64, c & U32) for c in item.get("candidates", [])),
            )
        )
    return TransmittedReport(
        round=int(report["round"]),
        snapshot_block=int(report["snapshotBlock"]),
        config_digest=bytes(report["configDigest"]),
        inputs_digest=bytes(report["inputsDigest"]),
        entries=tuple(entries),
        signatures=len(bytes(args.get("signatures", b""))) // 64,
    )
