"""The VRF input of an assignment attempt and the weighted pick, identical to
``contracts/libraries/Sortition.sol``.

* ``vrf_alpha(chain_id, market, task_id, task_seed, attempt)`` =
  ``abi.encode(uint256 chainId, address market, uint256 taskId, bytes32 seed, uint64 attempt)``
  (160 bytes): the alpha the oracle proves with ``oracle.vrf.prove``.
* ``reassignment_attempt(assignment_id, draw)`` = ``draw << 32 | assignment_id``: the attempt of
  a reassignment of a failed assignment, where ``draw`` is ``TaskMarket.drawsOf(assignment_id)``
  (every reassignment entry the chain verified consumed one draw, applied or skipped, so a
  published VRF output is never drawn again).
* ``pick(beta, attempt, weights)``: ``r = uint256(keccak256(beta ‖ uint256 attempt)) mod Σw``, then
  the first index whose cumulative weight exceeds ``r``. ``weights`` follow the canonical (sorted)
  candidate list of the signed report; a weight-0 candidate is never chosen.

Pure: no chain or I/O imports (eth_abi / eth_utils only encode and hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from oracle.errors import OracleError

__all__ = ["SortitionError", "pick", "reassignment_attempt", "vrf_alpha"]

UINT256_MAX: Final = 2**256 - 1
UINT32_MAX: Final = 2**32 - 1
UINT64_MAX: Final = 2**64 - 1
BETA_LENGTH: Final = 32
SEED_LENGTH: Final = 32
ADDRESS_LENGTH: Final = 20


class SortitionError(OracleError):
    """Bad input to ``pick`` or ``vrf_alpha``; the message names the field and the value."""


def pick(beta: bytes, attempt: int, weights: Sequence[int]) -> int:
    """The index chosen among ``weights`` for VRF output ``beta`` and attempt ``attempt``.

    Raises :class:`SortitionError` for an empty list, all-zero weights, a weight or a total outside
    uint256 (the contract would revert or panic), a beta that is not 32 bytes or an attempt
    outside uint256.
    """
    if not isinstance(beta, bytes | bytearray) or len(beta) != BETA_LENGTH:
        raise SortitionError(f"beta must be 32 bytes, got {beta!r}")
    _check_uint(attempt, UINT256_MAX, "attempt")
    if len(weights) == 0:
        raise SortitionError("weights is empty: there is no candidate to pick")
    total = 0
    for i, weight in enumerate(weights):
        _check_uint(weight, UINT256_MAX, f"weights[{i}]")
        total += weight
    if total == 0:
        raise SortitionError(f"weights are all zero ({len(weights)} candidates)")
    if total > UINT256_MAX:
        raise SortitionError(f"the total weight {total} overflows uint256")
    r = int.from_bytes(keccak(bytes(beta) + attempt.to_bytes(32, "big")), "big") % total
    for index, weight in enumerate(weights):
        if r < weight:
            return index
        r -= weight
    raise AssertionError("unreachable: r < total weight")  # pragma: no cover


def reassignment_attempt(assignment_id: int, draw: int) -> int:
    """``draw << 32 | assignment_id``: the attempt of draw ``draw`` (``TaskMarket.drawsOf``) of a
    reassignment of ``assignment_id``, as ``TaskMarket.drawReassignment`` returns it."""
    _check_uint(assignment_id, UINT32_MAX, "assignment_id")
    _check_uint(draw, UINT32_MAX, "draw")
    return draw << 32 | assignment_id


def vrf_alpha(
    chain_id: int, market: str | bytes, task_id: int, task_seed: bytes, attempt: int
) -> bytes:
    """abi.encode(uint256 chainId, address market, uint256 taskId, bytes32 seed, uint64 attempt).

    ``market`` is a 0x-prefixed hex address (any case) or 20 raw bytes.
    """
    _check_uint(chain_id, UINT256_MAX, "chain_id")
    _check_uint(task_id, UINT256_MAX, "task_id")
    _check_uint(attempt, UINT64_MAX, "attempt")
    if not isinstance(task_seed, bytes | bytearray) or len(task_seed) != SEED_LENGTH:
        raise SortitionError(f"task_seed must be 32 bytes, got {task_seed!r}")
    address = _address_bytes(market)
    return bytes(
        encode(
            ["uint256", "address", "uint256", "bytes32", "uint64"],
            [chain_id, address, task_id, bytes(task_seed), attempt],
        )
    )


def _check_uint(value: object, maximum: int, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise SortitionError(f"{field} must be an integer in [0, {maximum}], got {value!r}")


def _address_bytes(market: object) -> bytes:
    if isinstance(market, bytes | bytearray):
        raw = bytes(market)
    elif isinstance(market, str) and market[:2] in ("0x", "0X"):
        try:
            raw = bytes.fromhex(market[2:])
        except ValueError:
            raise SortitionError(f"market {market!r} is not a hex address") from None
    else:
        raise SortitionError(f"market must be a 0x hex address or 20 bytes, got {market!r}")
    if len(raw) != ADDRESS_LENGTH:
        raise SortitionError(f"market must be 20 bytes, got {len(raw)} ({market!r})")
    return raw
