"""Plain-text tables for the scripts' output."""

from __future__ import annotations

from collections.abc import Sequence

VER = 10**18


def ver(amount: int) -> str:
    """VER wei as a readable VER amount (up to 4 decimals, exact when shorter)."""
    whole, frac = divmod(int(amount), VER)
    if frac == 0:
        return f"{whole:,}"
    text = f"{frac:018d}".rstrip("0")
    return f"{whole:,}.{text[:4]}" + ("…" if len(text) > 4 else "")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(_is_number(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(headers))
    ]

    def fmt(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(row, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cells[0]), rule, *(fmt(r) for r in cells[1:])])


def _is_number(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("…", "").replace("-", "").isdigit()
