"""Which checkpoint intervals are re-executed, and by whom.

* ``sample_alpha(chain_id, market, assignment_id, step)`` =
  ``abi.encode(uint256 chainId, address market, uint256 assignmentId, uint64 step, bytes32 tag)``
  with ``tag = keccak256("verai.verify.sample")``: the VRF input of interval (assignment, step),
  the interval from step ``step - 1``'s checkpoint to step ``step``'s. Only the committee's secret
  key turns it into an output, so a worker cannot know at commit time whether it is checked.
* ``is_sampled(beta, probability_bps)``: ``uint256(keccak256(beta ‖ tag)) mod 10000 <
  probability_bps``; every member computes the same answer from the published proof.
* ``verifier_candidates`` / ``pick_verifier``: the verifier is a node of the worker's class, not
  the worker's node and not another node of its owner, drawn by ``oracle.sortition.pick`` over
  the canonical (sorted by node id) candidate list weighted by free units, as a reassignment
  is; ``attempt`` counts the replacements of verifiers that did not answer in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from oracle.errors import OracleError
from oracle.sortition import pick

__all__ = [
    "Candidate",
    "SamplingError",
    "is_sampled",
    "pick_verifier",
    "sample_alpha",
    "sampling_draw",
    "verifier_candidates",
]

MAX_BPS: Final = 10_000
SAMPLE_TAG: Final = keccak(text="verai.verify.sample")
UINT64_MAX: Final = 2**64 - 1
UINT256_MAX: Final = 2**256 - 1


class SamplingError(OracleError):
    """Bad input to the sampling functions; the message names the field and the value."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node as the verifier draw sees it, read at the report's pinned block."""

    node_id: int
    owner: str
    resource_class: bytes
    free_units: int
    active: bool


def sample_alpha(chain_id: int, market: str, assignment_id: int, step: int) -> bytes:
    """The VRF input of the interval ending at checkpoint `step` of `assignment_id`."""
    _check_uint(chain_id, UINT256_MAX, "chain_id")
    _check_uint(assignment_id, UINT256_MAX, "assignment_id")
    _check_uint(step, UINT64_MAX, "step")
    if step == 0:
        raise SamplingError("step must be >= 1: interval s runs from checkpoint s - 1 to s")
    try:
        address = bytes.fromhex(market.removeprefix("0x"))
    except (AttributeError, ValueError):
        raise SamplingError(f"market must be a 0x-prefixed address, got {market!r}") from None
    if len(address) != 20:
        raise SamplingError(f"market must be 20 bytes, got {market!r}")
    return bytes(
        encode(
            ["uint256", "address", "uint256", "uint64", "bytes32"],
            [chain_id, "0x" + address.hex(), assignment_id, step, SAMPLE_TAG],
        )
    )


def sampling_draw(beta: bytes) -> int:
    """The uniform number in [0, 10000) that VRF output `beta` draws for the sampling test."""
    if not isinstance(beta, bytes | bytearray) or len(beta) != 32:
        raise SamplingError(f"beta must be 32 bytes, got {beta!r}")
    return int.from_bytes(keccak(bytes(beta) + SAMPLE_TAG), "big") % MAX_BPS


def is_sampled(beta: bytes, probability_bps: int) -> bool:
    """Whether the interval whose VRF output is `beta` is re-executed at probability p (bps)."""
    _check_uint(probability_bps, MAX_BPS, "probability_bps")
    return sampling_draw(beta) < probability_bps


def verifier_candidates(
    nodes: Sequence[Candidate], worker: Candidate
) -> tuple[list[Candidate], list[int]]:
    """The canonical candidate list (sorted by node id) and its weights (free units): nodes of
    the worker's class, Active, neither the worker's node nor its owner's other nodes; a node
    without free units is listed with weight 0 (it is never drawn)."""
    worker_owner = worker.owner.lower()
    eligible = sorted(
        (
            n
            for n in nodes
            if n.resource_class == worker.resource_class
            and n.active
            and n.node_id != worker.node_id
            and n.owner.lower() != worker_owner
        ),
        key=lambda n: n.node_id,
    )
    ids = [n.node_id for n in eligible]
    if len(set(ids)) != len(ids):
        raise SamplingError(f"node ids repeat among the candidates: {ids}")
    weights = []
    for n in eligible:
        _check_uint(n.free_units, 2**32 - 1, f"free_units of node {n.node_id}")
        weights.append(n.free_units)
    return eligible, weights


def pick_verifier(
    beta: bytes, attempt: int, nodes: Sequence[Candidate], worker: Candidate
) -> Candidate:
    """The verifier of the interval with VRF output `beta` at attempt `attempt` (0 first, one
    more per replaced verifier). Raises SamplingError when no node can verify: the interval is
    then left unverified, never checked by the worker itself or its owner."""
    _check_uint(attempt, UINT64_MAX, "attempt")
    eligible, weights = verifier_candidates(nodes, worker)
    if sum(weights) == 0:
        raise SamplingError(
            f"no node can verify node {worker.node_id}'s interval: none of its class with free "
            f"units outside its owner ({len(eligible)} other nodes of the class listed)"
        )
    return eligible[pick(bytes(beta), attempt, weights)]


def _check_uint(value: object, maximum: int, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise SamplingError(f"{field} must be an integer in [0, {maximum}], got {value!r}")
