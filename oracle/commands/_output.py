"""What the wallet commands print: tables, JSON documents, amounts, confirmations, and the
one-line errors (exit code 2, nothing sent).

JSON conventions (documented in README.md, "verai --json"): every document has a `schema`
("verai.<command>/1"); amounts are decimal strings of wei under their name, with the same amount
in VER under `<name>_ver` (exact decimal string); times are unix seconds; ids are integers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from oracle.explain import VER, duration, timestamp


class CliError(click.ClickException):
    """A refusal the user can fix: one line on stderr, exit code 2, nothing sent."""

    exit_code = 2


class Aborted(click.ClickException):
    """The user said no at a confirmation: exit code 1, nothing sent."""

    exit_code = 1


def fail(message: str) -> NoReturn:
    raise CliError(" ".join(message.split()))


# ----------------------------------------------------------------------------- amounts
def ver_decimal(wei: int) -> str:
    """Exact VER as a plain decimal string: "2.5", "0.000000000000000123", "1000"."""
    whole, frac = divmod(int(wei), VER)
    sign = "-" if wei < 0 else ""
    if wei < 0:
        whole, frac = divmod(-int(wei), VER)
    return f"{sign}{whole}" if not frac else f"{sign}{whole}.{f'{frac:018d}'.rstrip('0')}"


def show_ver(wei: int) -> str:
    """For tables: "2.5 VER"; up to 6 decimals, then "…" (JSON keeps the exact figure)."""
    text = ver_decimal(abs(int(wei)))
    whole, _, frac = text.partition(".")
    grouped = f"{int(whole):,}"
    if frac:
        grouped += "." + (frac if len(frac) <= 6 else frac[:6] + "…")
    return ("-" if wei < 0 else "") + grouped + " VER"


def show_eth(wei: int) -> str:
    """ETH to 8 decimals, rounded up (a fee shown is never below the one paid)."""
    step = 10**10
    rounded = -(-int(wei) // step) * step
    text = ver_decimal(rounded)
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "") + " ETH"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def show_price(wei: int) -> str:
    return f"{show_ver(wei)}/unit-h"


def amount(document: dict[str, Any], name: str, wei: int, unit: str = "ver") -> None:
    """Sets `name` (wei, decimal string) and `name_<unit>` (VER or ETH, decimal string)."""
    document[name] = str(int(wei))
    document[f"{name}_{unit}"] = ver_decimal(int(wei))


def show_time(value: int, now: int | None) -> str:
    return timestamp(value, now) if value else "-"


def show_age(value: int, now: int) -> str:
    if not value:
        return "never"
    return f"{duration(max(0, now - value))} ago"


# ----------------------------------------------------------------------------- output
def emit_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def note(message: str) -> None:
    """Progress and side remarks: on stderr, so stdout stays the command's result."""
    click.echo(message, err=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: str = "") -> str:
    """Aligned columns; the headers named in `right` (comma-separated) are right-aligned."""
    right_set = {h.strip() for h in right.split(",") if h.strip()}
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        out = []
        for header, value, width in zip(headers, values, widths, strict=True):
            out.append(value.rjust(width) if header in right_set else value.ljust(width))
        return "  ".join(out).rstrip()

    return "\n".join([line(list(headers)), *(line(r) for r in cells)])


def fields(pairs: Sequence[tuple[str, object]], indent: int = 2) -> str:
    """ "label   value" lines with the labels aligned."""
    width = max((len(label) for label, _ in pairs), default=0)
    pad = " " * indent
    return "\n".join(f"{pad}{label.ljust(width)}  {value}" for label, value in pairs)


def confirm(question: str, yes: bool) -> None:
    """Asks on the terminal unless --yes; a "no" (or no answer) aborts with nothing sent."""
    if yes:
        return
    if not click.confirm(question, default=False, err=True):
        raise Aborted("aborted: nothing was sent")


def is_tty() -> bool:
    return sys.stdout.isatty()
