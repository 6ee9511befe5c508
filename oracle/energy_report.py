"""The energy report (`verai energy report`) from a deployment's event history. Pure: plain
dataclasses of events in, an `EnergyReport` out; no chain, no I/O (the command reads the wallet's
event cache, `oracle/energy_png.py` draws the plots).

Definitions (the README's "Energy report" section says the same):

* Energy per node over a window of blocks (from, to]: the registry's running total `energyJ`
  at the node's last heartbeat at or before `to`, minus the one at its last heartbeat at or
  before `from` (exact integer joules). It is the sum of what each heartbeat in the window was
  credited: the heartbeat's watts x the time since the node's previous heartbeat, that time
  capped at the heartbeat timeout (the gap cap: a silent node is not credited with its last
  reading for the whole silence), or the increase of the node's own energy counter.
* Measured / estimated: a heartbeat carrying the node's counter (`counterJ` != 0, NVML or
  RAPL) is measured, one without is estimated (watts x time). A node, class, task or network is
  "measured" when all its heartbeats in the window were, "estimated" when none was, "mixed"
  otherwise (with the counts and the measured joules), "none" without a heartbeat.
* Per task: the energy a heartbeat credited is spread evenly over the span it was credited for;
  each part of that span is split over the node's assignments running then, in proportion to
  their units; a part in which the node ran no assignment is idle (reported, never attributed
  to a task). Integer joules per node: the largest-remainder rounding of those exact shares,
  so tasks + idle add up to the node's energy exactly.
* Renewable share, always *declared* (owners' statements, not measurements): by node count is
  the mean of the shares declared by the nodes live at `to` (Active, Throttled or Exiting), each
  node weighted equally, a node that declared nothing counting as 0 %, against the seed's goal
  of 80 % by 2030; by energy weights each heartbeat's credited joules by the share its node had
  declared at that heartbeat.
* Efficiency gain (E_c - E_d) / E_c (`oracle.energy.efficiency_gain`): E_d is the network's IT
  energy in the window x the contributors' PUE (default 1, an assumption), E_c is either the
  figure the user names (`baseline_kwh`) or the same IT energy x a data-centre PUE. A model,
  printed with every input.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from oracle.energy import (
    BPS,
    JOULES_PER_KWH,
    RENEWABLE_GOAL,
    EnergyError,
    Span,
    credited_span,
    decimal_string,
    efficiency_gain,
    kwh_string,
    renewable_share,
    span_steps,
)

SCHEMA = "verai.energy.report/1"
THROTTLED = 2
NODE_STATUS = ("None", "Active", "Throttled", "Failed", "Exiting", "Exited")
LIVE = frozenset({1, 2, 4})  # Active, Throttled, Exiting: a node the network still counts
RENEWABLE_GOAL_YEAR = 2030


# ----------------------------------------------------------------------------- inputs
@dataclass(frozen=True, slots=True)
class Position:
    """Where an event is in the chain: block, log index and the block's time."""

    block: int
    log_index: int
    timestamp: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.block, self.log_index)


@dataclass(frozen=True, slots=True)
class NodeRegistration:
    """NodeRegistered (the class as its label)."""

    at: Position
    node_id: int
    owner: str
    resource_class: str
    capacity: int


@dataclass(frozen=True, slots=True)
class HeartbeatEvent:
    """HeartbeatRecorded: `energy_j` is the node's total after it, `counter_j` != 0 measured."""

    at: Position
    node_id: int
    watts: int
    energy_j: int
    counter_j: int


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """NodeStatusChanged (status values of NodeRegistry.Status)."""

    at: Position
    node_id: int
    from_status: int
    to_status: int


@dataclass(frozen=True, slots=True)
class RenewableEvent:
    """RenewableShareDeclared."""

    at: Position
    node_id: int
    share_bps: int
    evidence_uri: str


@dataclass(frozen=True, slots=True)
class AssignmentRun:
    """An assignment from AssignmentCreated to AssignmentClosed (`ended` None: still running)."""

    assignment_id: int
    task_id: int
    node_id: int
    units: int
    started: Position
    ended: Position | None = None
    end_status: int | None = None
    resumes_from: int = 0


@dataclass(frozen=True, slots=True)
class TimeoutEvent:
    """ParametersSet's heartbeatTimeout: the gap cap of the heartbeats after it."""

    at: Position
    heartbeat_timeout: int


@dataclass(frozen=True)
class History:
    """Every event the report reads, each list in chain order."""

    registrations: Sequence[NodeRegistration]
    heartbeats: Sequence[HeartbeatEvent]
    statuses: Sequence[StatusEvent] = ()
    renewables: Sequence[RenewableEvent] = ()
    assignments: Sequence[AssignmentRun] = ()
    timeouts: Sequence[TimeoutEvent] = ()


@dataclass(frozen=True, slots=True)
class Window:
    """Blocks (from_block, to_block]: the energy credited after `from_block` up to `to_block`;
    the times bound the plots and the throttled durations."""

    from_block: int
    from_time: int
    to_block: int
    to_time: int

    def __post_init__(self) -> None:
        if self.to_block < self.from_block or self.to_time < self.from_time:
            raise EnergyError(
                f"window ends (block {self.to_block}) before it starts (block {self.from_block})"
            )

    def holds(self, at: Position) -> bool:
        return self.from_block < at.block <= self.to_block


@dataclass(frozen=True, slots=True)
class Baseline:
    """The centralised baseline the user names: `kwh` (E_c itself) or `pue` (E_c = IT energy x
    pue), and the contributors' PUE (E_d = IT energy x contributor_pue)."""

    kwh: Fraction | None = None
    pue: Fraction | None = None
    contributor_pue: Fraction = Fraction(1)

    def __post_init__(self) -> None:
        if (self.kwh is None) == (self.pue is None):
            raise EnergyError("a baseline is either a figure in kWh or a data-centre PUE")


# ----------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class Source:
    """How a figure was obtained: from the heartbeats that credited it."""

    heartbeats: int
    measured_heartbeats: int
    measured_j: int

    @property
    def label(self) -> str:
        if self.heartbeats == 0:
            return "none"
        if self.measured_heartbeats == self.heartbeats:
            return "measured"
        if self.measured_heartbeats == 0:
            return "estimated"
        return "mixed"

    def describe(self, energy_j: int) -> str:
        label = self.label
        if label != "mixed":
            return label
        share = "-"
        if energy_j:
            share = f"{decimal_string(Fraction(100 * self.measured_j, energy_j), 0)} %"
        return (
            f"mixed: {self.measured_heartbeats} of {self.heartbeats} heartbeats measured, "
            f"{share} of the energy"
        )

    def __add__(self, other: Source) -> Source:
        return Source(
            self.heartbeats + other.heartbeats,
            self.measured_heartbeats + other.measured_heartbeats,
            self.measured_j + other.measured_j,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.label,
            "heartbeats": self.heartbeats,
            "measured_heartbeats": self.measured_heartbeats,
            "measured_j": self.measured_j,
        }


NO_SOURCE = Source(0, 0, 0)


def _energy_json(energy_j: int, source: Source) -> dict[str, Any]:
    return {"energy_j": energy_j, "kwh": kwh_string(energy_j), **source.to_json()}


@dataclass(frozen=True)
class NodeEnergy:
    node_id: int
    resource_class: str
    owner: str
    status: str  # at the window's end
    energy_j: int
    source: Source
    idle_j: int
    declared_bps: int  # at the window's end
    evidence_uri: str
    throttle_events: int
    throttled_s: int
    mean_watts: Fraction  # energy / window length

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "class": self.resource_class,
            "owner": self.owner,
            "status": self.status,
            **_energy_json(self.energy_j, self.source),
            "idle_j": self.idle_j,
            "idle_kwh": kwh_string(self.idle_j),
            "mean_watts": decimal_string(self.mean_watts, 3),
            "declared_renewable_bps": self.declared_bps,
            "evidence_uri": self.evidence_uri,
            "throttle_events": self.throttle_events,
            "throttled_s": self.throttled_s,
        }


@dataclass(frozen=True)
class ClassEnergy:
    resource_class: str
    nodes: int
    energy_j: int
    source: Source
    idle_j: int
    renewable_by_energy: Fraction | None

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.resource_class,
            "nodes": self.nodes,
            **_energy_json(self.energy_j, self.source),
            "idle_j": self.idle_j,
            "idle_kwh": kwh_string(self.idle_j),
            "declared_renewable_share_by_energy": _share(self.renewable_by_energy),
        }


@dataclass(frozen=True)
class TaskEnergy:
    task_id: int
    resource_class: str
    assignments: tuple[int, ...]
    nodes: tuple[int, ...]
    energy_j: int
    source: Source
    unit_seconds: int  # units x running time inside the window

    @property
    def wh_per_unit_hour(self) -> Fraction | None:
        if not self.unit_seconds:
            return None
        return Fraction(self.energy_j, self.unit_seconds)  # J/s per unit = Wh per unit-hour

    def to_json(self) -> dict[str, Any]:
        per_unit = self.wh_per_unit_hour
        return {
            "task_id": self.task_id,
            "class": self.resource_class,
            "assignments": list(self.assignments),
            "nodes": list(self.nodes),
            **_energy_json(self.energy_j, self.source),
            "unit_seconds": self.unit_seconds,
            "wh_per_unit_hour": None if per_unit is None else decimal_string(per_unit, 3),
        }


@dataclass(frozen=True)
class ThrottleEvent:
    at: Position
    node_id: int
    resource_class: str
    from_status: int
    to_status: int

    @property
    def kind(self) -> str:
        return "throttled" if self.to_status == THROTTLED else "relieved"

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.at.block,
            "timestamp": self.at.timestamp,
            "node_id": self.node_id,
            "class": self.resource_class,
            "from": NODE_STATUS[self.from_status],
            "to": NODE_STATUS[self.to_status],
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Renewable:
    live_nodes: int
    declaring_nodes: int  # live nodes that declared a share above 0
    by_count: Fraction | None  # mean declared share of the live nodes
    by_energy: Fraction | None

    def to_json(self) -> dict[str, Any]:
        return {
            "declared": True,
            "live_nodes": self.live_nodes,
            "declaring_nodes": self.declaring_nodes,
            "by_node_count": _share(self.by_count),
            "by_energy": _share(self.by_energy),
            "goal": _share(RENEWABLE_GOAL),
            "goal_year": RENEWABLE_GOAL_YEAR,
            "definition": (
                "by_node_count: mean declared share of the nodes live at the window's end, "
                "each node weighted equally (none declared = 0); by_energy: each heartbeat's "
                "credited joules weighted by its node's declared share at that heartbeat"
            ),
        }


@dataclass(frozen=True)
class Efficiency:
    method: str  # "baseline-kwh" | "baseline-pue"
    it_j: int  # the network's IT energy in the window (what the heartbeats credited)
    contributor_pue: Fraction
    baseline_pue: Fraction | None
    centralised_kwh: Fraction
    decentralised_kwh: Fraction
    gain: Fraction

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "it_energy_j": self.it_j,
            "it_energy_kwh": kwh_string(self.it_j),
            "contributor_pue": decimal_string(self.contributor_pue, 6),
            "contributor_pue_assumed": True,
            "baseline_pue": _share(self.baseline_pue),
            "centralised_kwh": decimal_string(self.centralised_kwh, 6),
            "centralised_kwh_given": self.method == "baseline-kwh",
            "decentralised_kwh": decimal_string(self.decentralised_kwh, 6),
            "gain": decimal_string(self.gain, 6),
            "formula": "(E_c - E_d) / E_c",
        }


@dataclass(frozen=True)
class PowerSeries:
    """The credited mean power of one class over the window, a step function."""

    resource_class: str
    points: tuple[tuple[int, Fraction], ...]


@dataclass(frozen=True)
class EnergyReport:
    window: Window
    gap_cap: int | None  # the heartbeat timeout at the window's end
    energy_j: int
    source: Source
    idle_j: int
    nodes: tuple[NodeEnergy, ...]
    classes: tuple[ClassEnergy, ...]
    tasks: tuple[TaskEnergy, ...]
    throttling: tuple[ThrottleEvent, ...]
    renewable: Renewable
    efficiency: Efficiency | None
    power: tuple[PowerSeries, ...] = field(default=(), compare=False)

    def to_json(self, **header: Any) -> dict[str, Any]:
        """The report as one JSON document: integers as integers, kWh, shares and watts as
        decimal strings (kWh to 6 places; the joules beside them are exact)."""
        w = self.window
        return {
            "schema": SCHEMA,
            **header,
            "window": {
                "from_block": w.from_block,
                "from_timestamp": w.from_time,
                "to_block": w.to_block,
                "to_timestamp": w.to_time,
                "seconds": w.to_time - w.from_time,
            },
            "gap_cap_s": self.gap_cap,
            "network": {
                **_energy_json(self.energy_j, self.source),
                "idle_j": self.idle_j,
                "idle_kwh": kwh_string(self.idle_j),
            },
            "classes": [c.to_json() for c in self.classes],
            "nodes": [n.to_json() for n in self.nodes],
            "tasks": [t.to_json() for t in self.tasks],
            "throttling": [t.to_json() for t in self.throttling],
            "renewable": self.renewable.to_json(),
            "efficiency": None if self.efficiency is None else self.efficiency.to_json(),
        }


def _share(value: Fraction | None) -> str | None:
    return None if value is None else decimal_string(value, 6)


# ----------------------------------------------------------------------------- computation
def _latest(events: Sequence[Any], at: tuple[int, int]) -> Any | None:
    """The last of `events` (chain order, each with `.at`) at or before position `at`."""
    keys = [e.at.key for e in events]
    index = bisect.bisect_right(keys, at)
    return events[index - 1] if index else None


def _apportion(
    shares: Mapping[Any, Fraction], total: int, caps: Mapping[Any, int] | None = None
) -> dict[Any, int]:
    """Integers adding up to `total`, each the floor of its exact share plus one for the largest
    remainders (ties in key order): tasks + idle = the node's joules. With `caps`, no key gets
    more than its cap (a key at its cap passes its unit to the next remainder; a unit no key has
    room for is dropped): the measured joules of a task never exceed its joules."""
    floors = {k: min(int(v), caps.get(k, 0)) if caps is not None else int(v)
              for k, v in shares.items()}  # fmt: skip
    left = total - sum(floors.values())
    order = sorted(
        (k for k in shares
         if shares[k] > floors[k] and (caps is None or floors[k] < caps.get(k, 0))),
        key=lambda k: (-(shares[k] - floors[k]), str(k)),
    )  # fmt: skip
    for key in order[: max(left, 0)]:
        floors[key] += 1
    return floors


@dataclass
class _Credit:
    """One heartbeat in the window: what it credited and over which span."""

    heartbeat: HeartbeatEvent
    joules: int
    span: Span
    declared_bps: int

    @property
    def measured(self) -> bool:
        return self.heartbeat.counter_j != 0

    @property
    def source(self) -> Source:
        measured = self.measured
        return Source(1, int(measured), self.joules if measured else 0)


def _credits(history: History, window: Window) -> dict[int, list[_Credit]]:
    """The heartbeats of each node inside the window with the joules each one credited."""
    registered = {r.node_id: r for r in history.registrations}
    renewables: dict[int, list[RenewableEvent]] = defaultdict(list)
    for declaration in history.renewables:
        renewables[declaration.node_id].append(declaration)
    timeouts = list(history.timeouts)
    previous: dict[int, HeartbeatEvent] = {}
    credits: dict[int, list[_Credit]] = defaultdict(list)
    for beat in history.heartbeats:
        if beat.at.block > window.to_block:
            break
        node = registered.get(beat.node_id)
        if node is None:
            raise EnergyError(f"heartbeat of node {beat.node_id}, which never registered")
        before = previous.get(beat.node_id)
        previous[beat.node_id] = beat
        if not window.holds(beat.at):
            continue
        joules = beat.energy_j - (before.energy_j if before else 0)
        if joules < 0:
            raise EnergyError(
                f"node {beat.node_id}'s energy total went down at block {beat.at.block} "
                f"({before.energy_j if before else 0} -> {beat.energy_j} J)"
            )
        setting = _latest(timeouts, beat.at.key)
        since = before.at.timestamp if before else node.at.timestamp
        cap = setting.heartbeat_timeout if setting else beat.at.timestamp - since
        declared = _latest(renewables[beat.node_id], beat.at.key)
        credits[beat.node_id].append(
            _Credit(
                beat,
                joules,
                credited_span(since, beat.at.timestamp, joules, cap),
                declared.share_bps if declared else 0,
            )
        )
    return credits


def _split(
    credits: Sequence[_Credit], runs: Sequence[AssignmentRun]
) -> tuple[dict[int | None, Fraction], dict[int | None, Fraction], dict[int, Source]]:
    """Exact joules per assignment id (None: idle), the exact measured part of each, and the
    heartbeats that fed each assignment (its measured joules still 0: they are apportioned
    with the node's): each heartbeat's joules spread evenly over its credited span, each part
    of the span split over the assignments running then by units, or idle when none ran."""
    shares: dict[int | None, Fraction] = defaultdict(Fraction)
    measured: dict[int | None, Fraction] = defaultdict(Fraction)
    sources: dict[int, Source] = {}
    for credit in credits:
        span, joules = credit.span, credit.joules
        if joules == 0:
            continue
        length = span.until - span.since
        if length <= 0:  # cannot credit energy (watts x 0 s, a counter capped at 0): defensive
            shares[None] += joules
            if credit.measured:
                measured[None] += joules
            continue
        cuts = {span.since, span.until}
        for run in runs:
            for moment in (run.started.timestamp, run.ended.timestamp if run.ended else None):
                if moment is not None and span.since < moment < span.until:
                    cuts.add(moment)
        points = sorted(cuts)
        fed: set[int] = set()
        for left, right in itertools.pairwise(points):
            part = Fraction(joules * (right - left), length)
            running = [
                r
                for r in runs
                if r.started.timestamp <= left and (r.ended is None or r.ended.timestamp >= right)
            ]
            units = sum(r.units for r in running)
            if not units:
                shares[None] += part
                if credit.measured:
                    measured[None] += part
                continue
            for run in running:
                share = part * run.units / units
                shares[run.assignment_id] += share
                if credit.measured:
                    measured[run.assignment_id] += share
                fed.add(run.assignment_id)
        for assignment_id in fed:
            before = sources.get(assignment_id, NO_SOURCE)
            sources[assignment_id] = Source(
                before.heartbeats + 1, before.measured_heartbeats + int(credit.measured), 0
            )
    return shares, measured, sources


def _unit_seconds(run: AssignmentRun, window: Window) -> int:
    start = max(run.started.timestamp, window.from_time)
    end = min(run.ended.timestamp if run.ended else window.to_time, window.to_time)
    return run.units * max(0, end - start)


def _status_at(history: History, node_id: int, at: tuple[int, int]) -> int:
    status = 1  # Active from registration
    for change in history.statuses:
        if change.at.key > at:
            break
        if change.node_id == node_id:
            status = change.to_status
    return status


def _throttled_seconds(history: History, node_id: int, window: Window) -> int:
    """Seconds of the window the node spent Throttled."""
    total, since = 0, None
    for change in history.statuses:
        if change.node_id != node_id or change.at.block > window.to_block:
            continue
        if change.to_status == THROTTLED and since is None:
            since = change.at.timestamp
        elif change.from_status == THROTTLED and since is not None:
            total += max(0, min(change.at.timestamp, window.to_time) - max(since, window.from_time))
            since = None
    if since is not None:
        total += max(0, window.to_time - max(since, window.from_time))
    return total


def efficiency_of(it_j: int, baseline: Baseline) -> Efficiency:
    """The efficiency gain of the network's IT energy `it_j` against `baseline` (raises
    BaselineError on a non-positive baseline, e.g. a PUE baseline over no energy at all)."""
    it_kwh = Fraction(it_j, JOULES_PER_KWH)
    decentralised = it_kwh * baseline.contributor_pue
    if baseline.kwh is not None:
        centralised, method = baseline.kwh, "baseline-kwh"
    else:
        assert baseline.pue is not None
        centralised, method = it_kwh * baseline.pue, "baseline-pue"
    gain = efficiency_gain(centralised, decentralised)
    return Efficiency(
        method, it_j, baseline.contributor_pue, baseline.pue, centralised, decentralised, gain
    )


def build_report(
    history: History, window: Window, baseline: Baseline | None = None
) -> EnergyReport:
    """The report of `window` from `history` (see the module's definitions)."""
    credits = _credits(history, window)
    end_key = (window.to_block, 2**63)
    registered = [r for r in history.registrations if r.at.block <= window.to_block]
    runs_of: dict[int, list[AssignmentRun]] = defaultdict(list)
    for run in history.assignments:
        if run.started.block <= window.to_block:
            ended = run.ended if run.ended and run.ended.block <= window.to_block else None
            runs_of[run.node_id].append(run if ended is run.ended else _still_running(run))
    renewables: dict[int, list[RenewableEvent]] = defaultdict(list)
    for declaration in history.renewables:
        renewables[declaration.node_id].append(declaration)
    seconds = window.to_time - window.from_time
    throttles = [
        s for s in history.statuses
        if window.holds(s.at) and THROTTLED in (s.from_status, s.to_status)
    ]  # fmt: skip

    nodes: list[NodeEnergy] = []
    assignment_j: dict[int, int] = {}
    assignment_source: dict[int, Source] = {}
    for node in sorted(registered, key=lambda r: r.node_id):
        mine = credits.get(node.node_id, [])
        energy = sum(c.joules for c in mine)
        source = sum((c.source for c in mine), NO_SOURCE)
        shares, measured, sources = _split(mine, runs_of[node.node_id])
        whole = _apportion(shares, energy) if shares else {}
        for key, joules in whole.items():
            if key is not None:
                assignment_j[key] = joules
        # the node's measured joules apportioned like its joules, none above a share's joules
        measured_whole = _apportion(measured, source.measured_j, caps=whole)
        for assignment_id, fed in sources.items():
            assignment_source[assignment_id] = Source(
                fed.heartbeats, fed.measured_heartbeats, measured_whole.get(assignment_id, 0)
            )
        declared = _latest(renewables[node.node_id], end_key)
        node_throttles = [
            s for s in throttles if s.node_id == node.node_id
        ]  # fmt: skip
        nodes.append(
            NodeEnergy(
                node_id=node.node_id,
                resource_class=node.resource_class,
                owner=node.owner,
                status=NODE_STATUS[_status_at(history, node.node_id, end_key)],
                energy_j=energy,
                source=source,
                idle_j=whole.get(None, 0),
                declared_bps=declared.share_bps if declared else 0,
                evidence_uri=declared.evidence_uri if declared else "",
                throttle_events=len(node_throttles),
                throttled_s=_throttled_seconds(history, node.node_id, window),
                mean_watts=Fraction(energy, seconds) if seconds else Fraction(0),
            )
        )

    all_credits = [c for node_credits in credits.values() for c in node_credits]
    classes: list[ClassEnergy] = []
    for label in sorted({n.resource_class for n in nodes}):
        members = [n for n in nodes if n.resource_class == label]
        ids = {n.node_id for n in members}
        mine = [c for c in all_credits if c.heartbeat.node_id in ids]
        classes.append(
            ClassEnergy(
                resource_class=label,
                nodes=len(members),
                energy_j=sum(n.energy_j for n in members),
                source=sum((n.source for n in members), NO_SOURCE),
                idle_j=sum(n.idle_j for n in members),
                renewable_by_energy=_by_energy(mine),
            )
        )

    class_of = {n.node_id: n.resource_class for n in nodes}
    by_task: dict[int, list[AssignmentRun]] = defaultdict(list)
    for node_runs in runs_of.values():
        for run in node_runs:
            by_task[run.task_id].append(run)
    tasks: list[TaskEnergy] = []
    for task_id in sorted(by_task):
        runs = sorted(by_task[task_id], key=lambda r: r.assignment_id)
        in_window = [
            r for r in runs
            if r.assignment_id in assignment_j or _unit_seconds(r, window) > 0
        ]  # fmt: skip
        if not in_window:
            continue
        tasks.append(
            TaskEnergy(
                task_id=task_id,
                resource_class=class_of.get(runs[0].node_id, "?"),
                assignments=tuple(r.assignment_id for r in in_window),
                nodes=tuple(sorted({r.node_id for r in in_window})),
                energy_j=sum(assignment_j.get(r.assignment_id, 0) for r in in_window),
                source=sum(
                    (assignment_source.get(r.assignment_id, NO_SOURCE) for r in in_window),
                    NO_SOURCE,
                ),
                unit_seconds=sum(_unit_seconds(r, window) for r in in_window),
            )
        )

    throttling = tuple(
        ThrottleEvent(s.at, s.node_id, class_of.get(s.node_id, "?"), s.from_status, s.to_status)
        for s in throttles
    )

    live = [n for n in nodes if NODE_STATUS.index(n.status) in LIVE]
    renewable = Renewable(
        live_nodes=len(live),
        declaring_nodes=sum(1 for n in live if n.declared_bps > 0),
        by_count=(Fraction(sum(n.declared_bps for n in live), BPS * len(live)) if live else None),
        by_energy=_by_energy(all_credits),
    )

    energy = sum(n.energy_j for n in nodes)
    timeout = _latest(list(history.timeouts), end_key)
    power = tuple(
        PowerSeries(
            label,
            tuple(
                span_steps(
                    (c.span for c in all_credits if class_of[c.heartbeat.node_id] == label),
                    start=window.from_time,
                    end=window.to_time,
                )
            ),
        )
        for label in (c.resource_class for c in classes)
    )
    return EnergyReport(
        window=window,
        gap_cap=timeout.heartbeat_timeout if timeout else None,
        energy_j=energy,
        source=sum((n.source for n in nodes), NO_SOURCE),
        idle_j=sum(n.idle_j for n in nodes),
        nodes=tuple(nodes),
        classes=tuple(classes),
        tasks=tuple(tasks),
        throttling=throttling,
        renewable=renewable,
        efficiency=None if baseline is None else efficiency_of(energy, baseline),
        power=power,
    )


def _still_running(run: AssignmentRun) -> AssignmentRun:
    return AssignmentRun(
        run.assignment_id, run.task_id, run.node_id, run.units, run.started, None, None,
        run.resumes_from,
    )  # fmt: skip


def _by_energy(credits: Iterable[_Credit]) -> Fraction | None:
    items = list(credits)
    return renewable_share(
        {i: c.joules for i, c in enumerate(items)}, {i: c.declared_bps for i, c in enumerate(items)}
    )
