"""How values look on the page: VER amounts, ages, times, shares, classes, CIDs. Pure; the
templates use these as filters (and Jinja escapes whatever they return)."""

from __future__ import annotations

import time
from fractions import Fraction

from oracle.cid import InvalidCid, cid_from_bytes
from oracle.units import format_ver


def ver(wei: int) -> str:
    return f"{format_ver(int(wei))} VER"


def eth(wei: int) -> str:
    """A gas fee in ETH, to the gwei."""
    whole, frac = divmod(int(wei), 10**18)
    digits = f"{frac:018d}"[:9].rstrip("0")
    return f"{whole}.{digits} ETH" if digits else f"{whole} ETH"


def price(wei: int) -> str:
    return f"{format_ver(int(wei))} VER/unit-h"


def age(seconds: int | None) -> str:
    """A duration as people say it: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if seconds is None:
        return "never"
    s = int(seconds)
    if s < 0:
        return f"in {age(-s)}"
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(s // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def utc(timestamp: int | None) -> str:
    if not timestamp:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(timestamp)))


def percent(value: Fraction | float | None, places: int = 0) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{places}f} %"


def bps(value: int) -> str:
    """Basis points as a percent to the basis point: 8000 -> "80 %", 7250 -> "72.5 %"."""
    return f"{int(value) / 100:.2f}".rstrip("0").rstrip(".") + " %"


def kwh(value: Fraction | float) -> str:
    amount = float(value)
    if amount == 0:
        return "0 kWh"
    if amount < 10:
        return f"{amount:.3f} kWh"
    return f"{amount:,.1f} kWh"


def watts(value: int) -> str:
    amount = int(value)
    return f"{amount / 1000:.1f} kW" if amount >= 10_000 else f"{amount} W"


def short(value: str, keep: int = 6) -> str:
    """0x1234…cdef for addresses and hashes (the page shows the full value on hover)."""
    text = str(value)
    return text if len(text) <= 2 * keep + 2 else f"{text[: keep + 2]}…{text[-keep:]}"


def cid_text(raw: bytes | str | None) -> str:
    """The CIDv1 text of binary CID bytes (or of 0x-hex); the hex itself if it is no CID."""
    if raw is None:
        return "—"
    data = bytes.fromhex(raw.removeprefix("0x")) if isinstance(raw, str) else bytes(raw)
    try:
        return cid_from_bytes(data)
    except InvalidCid:
        return "0x" + data.hex()


def class_label(key: bytes, names: dict[bytes, str]) -> str:
    """The class's name from the deployment record, else its key shortened."""
    return names.get(bytes(key)) or short("0x" + bytes(key).hex(), 4)


FILTERS = {
    "ver": ver,
    "price": price,
    "eth": eth,
    "age": age,
    "utc": utc,
    "percent": percent,
    "bps": bps,
    "kwh": kwh,
    "watts": watts,
    "short": short,
    "cid": cid_text,
}
