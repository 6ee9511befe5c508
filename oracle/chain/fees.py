"""EIP-1559 fees: what to offer from `eth_feeHistory`, how to raise them for a replacement.

Pure: integers in wei. A replacement must raise BOTH fields by at least 12.5 % (geth asks 10 %
on both; some clients 12.5 %) or the node rejects it as underpriced; it also never offers less
than what the market asks now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oracle.errors import OracleError

BUMP_NUMERATOR = 1125  # x 1.125
BUMP_DENOMINATOR = 1000


class FeeCeilingReached(OracleError):
    """The fee needed is above the configured ceiling: the transaction waits instead."""


@dataclass(frozen=True, slots=True, order=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def as_tx(self) -> dict[str, int]:
        return {
            "maxFeePerGas": self.max_fee_per_gas,
            "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
        }


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _median(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0


def suggest(history: Mapping[str, Any], *, min_priority: int = 1, base_multiplier: int = 2) -> Fees:
    """Fees from an `eth_feeHistory(blocks, "latest", [percentile])` result: the median of the
    recent tips at that percentile (at least `min_priority`), and a max fee of
    `base_multiplier` x the next block's base fee plus that tip, so the transaction stays
    includable through several full blocks."""
    base_fees = [_int(v) for v in history.get("baseFeePerGas") or [0]]
    next_base = base_fees[-1]
    rewards = [_int(r[0]) for r in history.get("reward") or [] if r]
    priority = max(min_priority, _median(rewards))
    return Fees(base_multiplier * next_base + priority, priority)


def bump(previous: Fees, market: Fees) -> Fees:
    """Replacement fees: both fields >= previous x 1.125 (rounded up) and >= the market's."""

    def raised(value: int) -> int:
        return -(-value * BUMP_NUMERATOR // BUMP_DENOMINATOR)

    priority = max(raised(previous.max_priority_fee_per_gas), market.max_priority_fee_per_gas)
    max_fee = max(raised(previous.max_fee_per_gas), market.max_fee_per_gas, priority)
    return Fees(max_fee, priority)


def within(fees: Fees, ceiling: int) -> Fees:
    """`fees` unchanged when the max fee is at most `ceiling`; FeeCeilingReached otherwise."""
    if fees.max_fee_per_gas > ceiling:
        raise FeeCeilingReached(
            f"the fee needed, {fees.max_fee_per_gas} wei/gas, is above the ceiling of "
            f"{ceiling} wei/gas (raise it with VERAI_FEE_CEILING_WEI if this is intended)"
        )
    return fees
