"""p·S > G, in integers (oracle/verification/economics.py)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from oracle.verification.economics import (
    CheatEconomics,
    EconomicsError,
    expected_intervals_until_caught,
)

VER = 10**18


def test_deterrence_is_p_times_s_above_g() -> None:
    # p = 5 %, S = 100 VER: cheating loses in expectation while G < 5 VER
    assert CheatEconomics(500, 100 * VER, 4 * VER).deters
    assert not CheatEconomics(500, 100 * VER, 5 * VER).deters  # equal: does not lose
    assert CheatEconomics(500, 100 * VER, 5 * VER).smallest_deterring_bps == 501
    assert CheatEconomics(10_000, VER, 2 * VER).smallest_deterring_bps is None
    assert CheatEconomics(0, VER, 0).deters is False and CheatEconomics(1, 0, 0).deters is False
    assert CheatEconomics(500, 100 * VER, 4 * VER).expected_loss_per_cheat_wei == Fraction(
        5 * VER - Fraction(95, 100) * 4 * VER
    )


def test_expected_intervals_until_caught_is_one_over_p_q() -> None:
    assert expected_intervals_until_caught(1_000) == 10
    assert expected_intervals_until_caught(2_000, 5_000) == 10
    assert expected_intervals_until_caught(10_000) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: CheatEconomics(10_001, 1, 1), "probability_bps must be in"),
        (lambda: CheatEconomics(100, -1, 1), "slash_wei must be a non-negative integer"),
        (lambda: CheatEconomics(100, 1, 1.5), "gain_wei must be a non-negative integer"),
        (lambda: expected_intervals_until_caught(0), "probability_bps must be in"),
        (lambda: expected_intervals_until_caught(100, 0), "cheat_share_bps must be in"),
    ],
)
def test_bad_parameters_are_refused_by_name(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EconomicsError, match=message):
        call()
