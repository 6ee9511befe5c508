"""Reports as JSON on the committee network, parsed strictly (every field checked, unknown
keys rejected), so a malformed message is a 400, never a crash. Pure."""

from __future__ import annotations

from typing import Any

from oracle.reports import (
    AllocationEntry,
    Candidate,
    MoveEntry,
    ReassignmentEntry,
    Report,
    ReportError,
)
from oracle.service.errors import RejectedMessage


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def report_to_json(report: Report) -> dict[str, Any]:
    return {
        "config_digest": _hex(report.config_digest),
        "round": report.round,
        "snapshot_block": report.snapshot_block,
        "inputs_digest": _hex(report.inputs_digest),
        "allocations": [hex(a.packed()) for a in report.allocations],
        "moves": [hex(m.packed()) for m in report.moves],
        "reassignments": [
            {
                "packed": hex(r.packed()),
                "candidates": [hex(c.packed()) for c in r.candidates],
                "proof": _hex(r.proof),
                "helpers": _helpers_json(r.helpers),
            }
            for r in report.reassignments
        ],
    }


def _helpers_json(helpers: Any) -> Any:
    if helpers is None:
        return None
    u, c, s, counter, witness = helpers
    return [[str(u[0]), str(u[1])], [str(c[0]), str(c[1])], [str(s[0]), str(s[1])],
            str(counter), [str(w) for w in witness]]  # fmt: skip


def bad(message: str) -> RejectedMessage:
    return RejectedMessage("malformed", message, 400)


def expect(raw: object, kind: type, where: str) -> Any:
    if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
        raise bad(f"{where} must be a {kind.__name__}")
    return raw


def keys(raw: object, allowed: set[str], where: str) -> dict[str, Any]:
    obj = expect(raw, dict, where)
    extra = set(obj) - allowed
    missing = allowed - set(obj)
    if extra or missing:
        raise bad(f"{where}: unknown keys {sorted(extra)}, missing keys {sorted(missing)}")
    return obj  # type: ignore[no-any-return]


def hex_bytes(raw: object, where: str, length: int | None = None) -> bytes:
    text = expect(raw, str, where)
    if not text.startswith("0x") or len(text) > 2 + 2 * 4096:
        raise bad(f"{where} must be 0x-hex")
    try:
        value = bytes.fromhex(text[2:])
    except ValueError:
        raise bad(f"{where} is not hex") from None
    if length is not None and len(value) != length:
        raise bad(f"{where} must be {length} bytes, got {len(value)}")
    return value


def hex_word(raw: object, where: str) -> int:
    text = expect(raw, str, where)
    if not text.startswith("0x") or len(text) > 66:
        raise bad(f"{where} must be a 0x-hex word")
    try:
        return int(text, 16)
    except ValueError:
        raise bad(f"{where} is not hex") from None


def dec(raw: object, where: str) -> int:
    text = expect(raw, str, where)
    if not text.isdigit() or len(text) > 78:
        raise bad(f"{where} must be a decimal string")
    return int(text)


def report_from_json(raw: object, where: str = "report") -> Report:
    obj = keys(
        raw,
        {"config_digest", "round", "snapshot_block", "inputs_digest", "allocations", "moves",
         "reassignments"},
        where,
    )  # fmt: skip
    try:
        reassignments = []
        for i, r in enumerate(expect(obj["reassignments"], list, f"{where}.reassignments")):
            at = f"{where}.reassignments[{i}]"
            entry = keys(r, {"packed", "candidates", "proof", "helpers"}, at)
            packed = hex_word(entry["packed"], f"{at}.packed")
            candidates = []
            for j, c in enumerate(expect(entry["candidates"], list, f"{at}.candidates")):
                word = hex_word(c, f"{at}.candidates[{j}]")
                candidates.append(Candidate((word >> 32) & (2**64 - 1), word & (2**32 - 1)))
            reassignments.append(
                ReassignmentEntry(
                    assignment_id=(packed >> 64) & (2**64 - 1),
                    node_id=packed & (2**64 - 1),
                    candidates=tuple(candidates),
                    proof=hex_bytes(entry["proof"], f"{at}.proof", 81),
                    helpers=_helpers_from_json(entry["helpers"], f"{at}.helpers"),
                )
            )
        return Report(
            config_digest=hex_bytes(obj["config_digest"], f"{where}.config_digest", 32),
            round=expect(obj["round"], int, f"{where}.round"),
            snapshot_block=expect(obj["snapshot_block"], int, f"{where}.snapshot_block"),
            inputs_digest=hex_bytes(obj["inputs_digest"], f"{where}.inputs_digest", 32),
            allocations=tuple(
                AllocationEntry.unpack(hex_word(w, f"{where}.allocations[{i}]"))
                for i, w in enumerate(expect(obj["allocations"], list, f"{where}.allocations"))
            ),
            moves=tuple(
                MoveEntry.unpack(hex_word(w, f"{where}.moves[{i}]"))
                for i, w in enumerate(expect(obj["moves"], list, f"{where}.moves"))
            ),
            reassignments=tuple(reassignments),
        )
    except ReportError as exc:
        raise bad(f"{where}: {exc}") from None


def _helpers_from_json(raw: object, where: str) -> Any:
    parts = expect(raw, list, where)
    if len(parts) != 5:
        raise bad(f"{where} must have 5 parts")
    points = []
    for k in range(3):
        pair = expect(parts[k], list, f"{where}[{k}]")
        if len(pair) != 2:
            raise bad(f"{where}[{k}] must be a pair")
        points.append((dec(pair[0], f"{where}[{k}][0]"), dec(pair[1], f"{where}[{k}][1]")))
    counter = dec(parts[3], f"{where}[3]")
    witness = [dec(w, f"{where}[4][{i}]") for i, w in enumerate(expect(parts[4], list, where))]
    return (points[0], points[1], points[2], counter, witness)
