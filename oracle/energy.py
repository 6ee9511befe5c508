"""Energy arithmetic over heartbeat telemetry. Pure: integers in, integers out, no chain or I/O.

A heartbeat reports a node's power draw in watts at its block time. Between two heartbeats the
earlier reading holds (a step function): that is all a node tells the chain, and it is what the
node is accountable for.

The gap cap. A reading holds for at most `gap_cap` seconds. A node that falls silent is not
credited with its last reading for the whole silence (a node that died at 400 W would otherwise
"draw" 400 W until someone noticed): after `gap_cap` seconds without a newer heartbeat its power
counts as 0 until the next one. The dashboard passes the registry's `heartbeatTimeout`, the
silence after which the chain itself treats a node as failed, so a node is credited exactly as
long as the network considers it alive.

Energy is in joules (watt-seconds), exact; 1 kWh = 3,600,000 J. Several readings with the same
timestamp (one block) are all kept in order; only the last one of that instant lasts.

The energy report (`verai energy report`) builds on these functions.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from oracle.errors import OracleError

JOULES_PER_KWH = 3_600_000
RENEWABLE_GOAL = Fraction(80, 100)  # the network's goal: 80 % of its energy from renewables
BPS = 10_000

K = TypeVar("K", bound=Hashable)


class EnergyError(OracleError):
    """A telemetry series that cannot be integrated (out of order, negative, bad window)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One heartbeat's power: `watts` from `timestamp` (seconds) on."""

    timestamp: int
    watts: int


def _checked(readings: Sequence[Reading], gap_cap: int) -> None:
    if gap_cap < 0:
        raise EnergyError(f"gap_cap must be >= 0 seconds, got {gap_cap}")
    previous: int | None = None
    for index, reading in enumerate(readings):
        if reading.watts < 0:
            raise EnergyError(f"reading {index} has negative power {reading.watts} W")
        if previous is not None and reading.timestamp < previous:
            raise EnergyError(
                f"reading {index} at {reading.timestamp} is earlier than the one before it "
                f"({previous}): readings must be in time order"
            )
        previous = reading.timestamp


def _spans(readings: Sequence[Reading], gap_cap: int) -> Iterable[tuple[int, int, int]]:
    """(from, until, watts) of each reading: until the next reading or `gap_cap` seconds after
    it, whichever comes first."""
    for index, reading in enumerate(readings):
        until = reading.timestamp + gap_cap
        if index + 1 < len(readings):
            until = min(until, readings[index + 1].timestamp)
        if until > reading.timestamp:
            yield reading.timestamp, until, reading.watts


def energy_joules(readings: Sequence[Reading], *, start: int, end: int, gap_cap: int) -> int:
    """Joules drawn within [start, end) by a node whose heartbeats are `readings` (in time
    order; a reading before `start` still counts for the part of its span inside the window)."""
    if end < start:
        raise EnergyError(f"window ends ({end}) before it starts ({start})")
    _checked(readings, gap_cap)
    total = 0
    for since, until, watts in _spans(readings, gap_cap):
        overlap = min(until, end) - max(since, start)
        if overlap > 0:
            total += watts * overlap
    return total


def power_at(readings: Sequence[Reading], moment: int, *, gap_cap: int) -> int:
    """Watts a node draws at `moment`: its latest reading at or before it, 0 once that reading
    is more than `gap_cap` seconds old (or before the first reading)."""
    _checked(readings, gap_cap)
    for since, until, watts in _spans(readings, gap_cap):
        if since <= moment < until:
            return watts
    return 0


def power_steps(
    series: Mapping[K, Sequence[Reading]], *, gap_cap: int, start: int, end: int
) -> list[tuple[int, int]]:
    """The total power of several nodes over [start, end] as a step function: (time, watts)
    points, each value holding until the next point. The first point is at `start`, the last
    at `end`; consecutive points never repeat a value."""
    if end < start:
        raise EnergyError(f"window ends ({end}) before it starts ({start})")
    changes: dict[int, int] = {}
    level = 0
    for readings in series.values():
        _checked(readings, gap_cap)
        for since, until, watts in _spans(readings, gap_cap):
            if until <= start or since > end:
                continue
            if since <= start:
                level += watts
            else:
                changes[since] = changes.get(since, 0) + watts
            if until <= end:
                changes[until] = changes.get(until, 0) - watts
    points = [(start, level)]
    for moment in sorted(changes):
        level += changes[moment]
        if moment == start:
            continue
        if level != points[-1][1]:
            points.append((moment, level))
    if points[-1][0] != end:
        points.append((end, points[-1][1]))
    return points


def kwh(joules: int) -> Fraction:
    """Exact kilowatt-hours of `joules`."""
    return Fraction(joules, JOULES_PER_KWH)


def renewable_share(energy: Mapping[K, int], declared_bps: Mapping[K, int]) -> Fraction | None:
    """The energy-weighted renewable share of the nodes in `energy` (joules by node), from the
    share each node declared (basis points, 0..10000). A node that declared nothing counts as
    0 % renewable. None when no node drew any energy (no share to speak of)."""
    total = sum(energy.values())
    if total == 0:
        return None
    renewable = Fraction(0)
    for node, joules in energy.items():
        bps = declared_bps.get(node, 0)
        if not 0 <= bps <= BPS:
            raise EnergyError(f"node {node!r} declares {bps} bps renewable, outside 0..{BPS}")
        renewable += Fraction(joules * bps, BPS)
    return renewable / total


# ----------------------------------------------------------------------------- the seed's formula
class BaselineError(EnergyError):
    """An efficiency gain asked against a baseline that cannot be one (zero or negative)."""


Quantity = int | Fraction


def _quantity(value: object, name: str) -> Fraction:
    # Exact inputs only: a float would bring its binary rounding into a published figure.
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise EnergyError(f"{name} must be an int or a Fraction (exact), got {value!r}")
    return Fraction(value)


def efficiency_gain(centralised_kwh: Quantity, decentralised_kwh: Quantity) -> Fraction:
    """The seed's efficiency gain of the network over a centralised baseline:
    (E_c - E_d) / E_c, with E_c the energy the same work takes centralised and E_d the energy it
    took on the network (any one unit, kWh by convention). 1000 kWh against 600 kWh is 2/5
    (40 %); a network that used more than the baseline has a negative gain.

    A baseline of zero or less is refused (BaselineError): there is no gain against nothing,
    and returning 0 would read as "no better, no worse"."""
    centralised = _quantity(centralised_kwh, "centralised_kwh")
    decentralised = _quantity(decentralised_kwh, "decentralised_kwh")
    if centralised <= 0:
        raise BaselineError(
            f"the centralised baseline must be above 0 kWh, got {_plain(centralised)}: "
            "an efficiency gain is relative to the energy the same work takes centralised"
        )
    if decentralised < 0:
        raise EnergyError(f"decentralised energy cannot be negative, got {_plain(decentralised)}")
    return (centralised - decentralised) / centralised


def _plain(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else decimal_string(value, 6)


# ----------------------------------------------------------------------------- display
def decimal_string(value: Fraction | int, places: int) -> str:
    """`value` rounded half away from zero to `places` decimals, trailing zeros dropped:
    decimal_string(Fraction(1, 3), 3) == "0.333", decimal_string(Fraction(5, 2), 0) == "3"."""
    value = Fraction(value)
    scale = 10**places
    magnitude = abs(value) * scale
    units = int(magnitude)
    if magnitude - units >= Fraction(1, 2):
        units += 1
    whole, frac = divmod(units, scale)
    text = str(whole)
    if places and frac:
        text += "." + f"{frac:0{places}d}".rstrip("0")
    return ("-" if value < 0 and units else "") + text


def kwh_string(joules: int | Fraction, places: int = 6) -> str:
    """kWh of `joules` as a decimal string (6 places: to the milliwatt-hour)."""
    return decimal_string(Fraction(joules) / JOULES_PER_KWH, places)


# ----------------------------------------------------------------------------- credited spans
@dataclass(frozen=True, slots=True)
class Span:
    """What the registry credited at one heartbeat: `joules` over [since, until) (seconds)."""

    since: int
    until: int
    joules: int

    @property
    def power(self) -> Fraction:
        """Mean watts over the span (0 for an empty span)."""
        length = self.until - self.since
        return Fraction(self.joules, length) if length > 0 else Fraction(0)


def credited_span(previous_at: int, at: int, joules: int, gap_cap: int) -> Span:
    """The interval a heartbeat at `at` was credited for, as NodeRegistry credits it: back to
    the node's previous heartbeat (or its registration, `previous_at`), at most `gap_cap`
    seconds (the heartbeat timeout). The registry multiplies the heartbeat's own watts by that
    interval (estimated) or takes the counter's increase (measured), so for an estimated
    heartbeat the span's mean power is exactly the watts it reported."""
    if at < previous_at:
        raise EnergyError(f"heartbeat at {at} is earlier than the one before it ({previous_at})")
    if gap_cap < 0:
        raise EnergyError(f"gap_cap must be >= 0 seconds, got {gap_cap}")
    if joules < 0:
        raise EnergyError(f"a heartbeat cannot credit negative energy ({joules} J)")
    return Span(at - min(at - previous_at, gap_cap), at, joules)


def span_steps(spans: Iterable[Span], *, start: int, end: int) -> list[tuple[int, Fraction]]:
    """The summed mean power of `spans` over [start, end] as a step function: (time, watts)
    points, each value holding until the next point; first point at `start`, last at `end`,
    consecutive points never repeat a value. Spans are clipped to the window."""
    if end < start:
        raise EnergyError(f"window ends ({end}) before it starts ({start})")
    changes: dict[int, Fraction] = {}
    for span in spans:
        since, until = max(span.since, start), min(span.until, end)
        if until <= since or span.joules == 0:
            continue
        power = span.power
        changes[since] = changes.get(since, Fraction(0)) + power
        changes[until] = changes.get(until, Fraction(0)) - power
    level = Fraction(0)
    points: list[tuple[int, Fraction]] = [(start, level)]
    for moment in sorted(changes):
        level += changes[moment]
        if moment == start:
            points[0] = (start, level)
        elif level != points[-1][1]:
            points.append((moment, level))
    if points[-1][0] != end:
        points.append((end, points[-1][1]))
    return points
