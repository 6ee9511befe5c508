"""Whether cheating pays: with sampling probability p, slash S and per-interval gain G, a worker
that commits a wrong CID for an interval gains G when unchecked and loses S when checked, so
cheating loses in expectation when p·S > G. Integer units throughout (p in bps, S and G in wei),
so every member and the CLI print the same verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from oracle.errors import OracleError

MAX_BPS: Final = 10_000


class EconomicsError(OracleError):
    """A parameter out of range; the message names it and its value."""


@dataclass(frozen=True, slots=True)
class CheatEconomics:
    probability_bps: int  # p, the sampling probability of an interval
    slash_wei: int  # S, what a caught worker loses (its stake x the slash fraction)
    gain_wei: int  # G, the largest payment of one checkpoint interval among open tasks

    def __post_init__(self) -> None:
        if isinstance(self.probability_bps, bool) or not 0 <= self.probability_bps <= MAX_BPS:
            raise EconomicsError(
                f"probability_bps must be in [0, 10000], got {self.probability_bps!r}"
            )
        for name in ("slash_wei", "gain_wei"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise EconomicsError(f"{name} must be a non-negative integer, got {value!r}")

    @property
    def deters(self) -> bool:
        """p·S > G, compared in integers: p_bps·S > G·10000."""
        return self.probability_bps * self.slash_wei > self.gain_wei * MAX_BPS

    @property
    def expected_loss_per_cheat_wei(self) -> Fraction:
        """p·S − (1 − p)·G: what one cheated interval costs the worker on average (> 0 deters
        a bit more strongly than p·S > G, which ignores the gain lost when caught)."""
        p = Fraction(self.probability_bps, MAX_BPS)
        return p * self.slash_wei - (1 - p) * self.gain_wei

    @property
    def smallest_deterring_bps(self) -> int | None:
        """The least p (bps) with p·S > G at this S and G, or None when even p = 100 % fails."""
        if self.slash_wei == 0:
            return None
        least = self.gain_wei * MAX_BPS // self.slash_wei + 1
        return least if least <= MAX_BPS else None


def expected_intervals_until_caught(
    probability_bps: int, cheat_share_bps: int = MAX_BPS
) -> Fraction:
    """1 / (p·q): the mean number of intervals until a worker that cheats on a share q of its
    intervals (independently) has one of them sampled (a geometric law)."""
    for name, value in (("probability_bps", probability_bps), ("cheat_share_bps", cheat_share_bps)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_BPS:
            raise EconomicsError(f"{name} must be in (0, 10000], got {value!r}")
    return Fraction(MAX_BPS * MAX_BPS, probability_bps * cheat_share_bps)
