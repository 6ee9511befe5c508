"""The published round document (`verai.round/1`) and the reports it yields.

The document is canonical JSON (sorted keys, no spaces, integers beyond 2**53 as decimal
strings) holding the round's inputs, its solution (with the VRF proofs) and the cut into
reports. Its CIDv1 (raw codec up to 256 KiB, dag-pb above) gives every report's inputsDigest,
so anyone holding the document can re-solve the round and compare (`verai audit`). Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from oracle.cid import cid_for
from oracle.reports import (
    AllocationEntry,
    Candidate,
    MoveEntry,
    ReassignmentEntry,
    Report,
    inputs_digest,
)
from oracle.service.errors import ServiceError
from oracle.service.inputs import RoundInputs
from oracle.service.solve import Chunk, Solution, cut

SCHEMA = "verai.round/1"


class DocumentError(ServiceError):
    """A round document that does not parse or does not match what it claims."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _big(value: int) -> int | str:
    return value if abs(value) < 2**53 else str(value)


def solution_dict(solution: Solution) -> dict[str, Any]:
    value = _solution_dict(solution)
    if solution.energy:  # energy-aware rounds only: the others' documents stay as they were
        value["energy"] = solution.energy
    return value


def _solution_dict(solution: Solution) -> dict[str, Any]:
    return {
        "allocation": solution.allocation.to_dict(),
        "moves": [[m.assignment_id, m.to_node_id] for m in solution.moves],
        "reassignments": [
            {
                "assignment": r.assignment_id,
                "node": r.node_id,
                "candidates": [[c.node_id, c.weight] for c in r.candidates],
                "proof": "0x" + r.proof.hex(),
            }
            for r in solution.reassignments
        ],
        "no_new_work": list(solution.no_new_work),
    }


def chunk_dicts(first_round: int, chunks: tuple[Chunk, ...]) -> list[dict[str, Any]]:
    return [
        {
            "round": first_round + i,
            "allocations": [[t, n, u, _big(p)] for t, n, u, p in chunk.allocations],
            "moves": [[m.assignment_id, m.to_node_id] for m in chunk.moves],
            "reassignments": [r.assignment_id for r in chunk.reassignments],
        }
        for i, chunk in enumerate(chunks)
    ]


@dataclass(frozen=True)
class RoundDocument:
    """A built (or parsed) round: its inputs, solution, chunks and the document bytes."""

    inputs: RoundInputs
    solution: Solution
    chunks: tuple[Chunk, ...]
    data: bytes

    @property
    def cid(self) -> str:
        return cid_for(self.data)

    @property
    def inputs_digest(self) -> bytes:
        return inputs_digest(self.cid)

    def reports(self) -> tuple[Report, ...]:
        digest = self.inputs_digest
        config = bytes.fromhex(self.inputs.config_digest.removeprefix("0x"))
        return tuple(
            Report(
                config_digest=config,
                round=self.inputs.first_round + i,
                snapshot_block=self.inputs.snapshot_block,
                inputs_digest=digest,
                allocations=tuple(AllocationEntry(*a) for a in chunk.allocations),
                moves=chunk.moves,
                reassignments=chunk.reassignments,
            )
            for i, chunk in enumerate(self.chunks)
        )


def build_document(inputs: RoundInputs, solution: Solution) -> RoundDocument:
    chunks = cut(solution, inputs.parameters)
    body = {
        "schema": SCHEMA,
        "inputs": inputs.to_dict(),
        "solution": solution_dict(solution),
        "reports": chunk_dicts(inputs.first_round, chunks),
    }
    return RoundDocument(inputs, solution, chunks, canonical(body))


def parse_document(data: bytes) -> tuple[RoundInputs, dict[str, Any], list[dict[str, Any]]]:
    """(inputs, solution as published, reports as published) of a document; DocumentError when
    it is not a `verai.round/1` document."""
    try:
        body = json.loads(data)
        if not isinstance(body, dict) or body.get("schema") != SCHEMA:
            raise DocumentError(f"not a {SCHEMA} document (schema {body.get('schema')!r})")
        inputs = RoundInputs.from_dict(body["inputs"])
        solution = body["solution"]
        reports = body["reports"]
        if not isinstance(solution, dict) or not isinstance(reports, list):
            raise DocumentError("solution must be an object and reports a list")
    except DocumentError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"malformed round document: {type(exc).__name__}: {exc}") from None
    return inputs, solution, reports


def published_proofs(solution: dict[str, Any]) -> dict[int, bytes]:
    """Failed assignment id -> the VRF proof the document publishes for it."""
    proofs = {}
    for entry in solution.get("reassignments", []):
        proofs[int(entry["assignment"])] = bytes.fromhex(str(entry["proof"]).removeprefix("0x"))
    return proofs


def candidate_list(raw: list[list[int]]) -> tuple[Candidate, ...]:
    return tuple(Candidate(int(n), int(w)) for n, w in raw)


__all__ = [
    "SCHEMA",
    "DocumentError",
    "MoveEntry",
    "ReassignmentEntry",
    "RoundDocument",
    "build_document",
    "canonical",
    "parse_document",
    "published_proofs",
]
