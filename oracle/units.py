"""VER amounts as people write them: "2.5" VER or "2500000000000000000" wei, both exact.

Pure: integers only (no floats touch an amount)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from oracle.errors import OracleError

VER = 10**18
DECIMALS = 18


class AmountError(OracleError):
    """An amount that is not a non-negative VER figure."""


def parse_ver(text: str, *, field: str = "amount") -> int:
    """Wei from "2.5" / "2.5 VER" / "0.000001" (VER, up to 18 decimals) or "123wei"."""
    raw = str(text).strip().replace("_", "")
    lowered = raw.lower()
    try:
        if lowered.endswith("wei"):
            value = int(lowered[:-3].strip())
        else:
            number = Decimal(lowered.removesuffix("ver").strip())
            if not number.is_finite():
                raise InvalidOperation
            scaled = number * VER
            if scaled != scaled.to_integral_value():
                raise AmountError(f"{field}: {text!r} has more than {DECIMALS} decimals")
            value = int(scaled)
    except (InvalidOperation, ValueError):
        raise AmountError(
            f"{field}: {text!r} is not an amount (examples: 2.5, 2.5 VER, 10wei)"
        ) from None
    if value < 0:
        raise AmountError(f"{field}: {text!r} is negative")
    return value


def format_ver(wei: int, *, places: int = 4) -> str:
    """ "2.5" for 2.5e18 wei: exact when it has at most `places` decimals, else cut with "…"."""
    whole, frac = divmod(int(wei), VER)
    if frac == 0:
        return f"{whole:,}"
    digits = f"{frac:018d}".rstrip("0")
    if len(digits) <= places:
        return f"{whole:,}.{digits}"
    return f"{whole:,}.{digits[:places]}…"
