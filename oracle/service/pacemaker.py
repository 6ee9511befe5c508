"""Who leads a round and in which order members transmit: pure functions of the committee
config digest, the round and the attempt, so every member computes the same answer alone.

* Leader of (round, attempt): members are ordered by address (as the on-chain config lists
  them); the leader is ``members[(offset + service_index + attempt) mod n]`` with ``offset =
  keccak(config digest) mod n`` and ``service_index`` the number of service rounds the chain
  accepted before this one. Consecutive service rounds therefore have different leaders when
  n > 1, whatever number of reports each emitted; a silent leader is replaced by the next member
  (attempt + 1).
* Transmission order of a round: a Fisher-Yates permutation of the members driven by
  ``keccak(config digest ‖ uint64 round ‖ counter)``; position k waits k × stage delay after the
  attested report is held.
* Keeper order of a duty: the same permutation keyed by the duty's name, so one member acts at a
  time and the others only step in when it did not.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils.crypto import keccak


def _canonical(members: Sequence[str]) -> list[str]:
    return sorted(members, key=lambda a: int(a, 16))


def leader(config_digest: bytes, service_index: int, attempt: int, members: Sequence[str]) -> str:
    """The member that proposes at `attempt` of the service round numbered `service_index`."""
    ordered = _canonical(members)
    if not ordered:
        raise ValueError("a committee without members has no leader")
    offset = int.from_bytes(keccak(config_digest), "big") % len(ordered)
    return ordered[(offset + service_index + attempt) % len(ordered)]


def permutation(seed: bytes, members: Sequence[str]) -> list[str]:
    """The members in the order of a Fisher-Yates shuffle driven by keccak(seed ‖ counter)."""
    order = _canonical(members)
    for i in range(len(order) - 1, 0, -1):
        draw = int.from_bytes(keccak(seed + i.to_bytes(4, "big")), "big")
        j = draw % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def transmission_order(config_digest: bytes, round: int, members: Sequence[str]) -> list[str]:
    """Who transmits the report of `round` first, second, ..."""
    return permutation(config_digest + round.to_bytes(8, "big"), members)


def keeper_order(config_digest: bytes, duty: str, members: Sequence[str]) -> list[str]:
    """Who performs keeper `duty` (e.g. "fail:12") first, second, ..."""
    return permutation(config_digest + b"keeper:" + duty.encode(), members)


def position(order: Sequence[str], member: str) -> int:
    """`member`'s place in `order` (case-insensitive addresses); ValueError if absent."""
    lowered = [m.lower() for m in order]
    return lowered.index(member.lower())
