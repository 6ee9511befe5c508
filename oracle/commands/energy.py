"""`verai energy report`: the network's energy over a window of blocks or dates, from chain data
alone (the event cache's logs: heartbeats with the registry's energy totals, renewable
declarations, status changes, assignments). The arithmetic is `oracle/energy_report.py`; the
plots are `oracle/energy_png.py`."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from oracle.commands._cache import CachedState
from oracle.commands._options import WalletOptions, json_option, wallet_command
from oracle.commands._output import emit_json, fail, fields, note, show_time, table
from oracle.commands._session import Session
from oracle.energy import EnergyError, decimal_string, kwh_string
from oracle.energy_report import (
    NODE_STATUS,
    AssignmentRun,
    Baseline,
    EnergyReport,
    HeartbeatEvent,
    History,
    NodeRegistration,
    Position,
    RenewableEvent,
    StatusEvent,
    TimeoutEvent,
    Window,
    build_report,
)
from oracle.explain import duration

DAY = 86_400


@click.group("energy")
def energy_group() -> None:
    """The network's energy: per node, class and task, renewable share, efficiency gain."""


# ----------------------------------------------------------------------------- option values
def _parse_point(value: str | None, option: str) -> int | tuple[int, int] | None:
    """A block number, or the span [since, until) in unix seconds of a date (a whole UTC day
    for YYYY-MM-DD, one instant for an ISO 8601 time; no zone means UTC)."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            since = int(day.timestamp())
            return (since, since + DAY)
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None:
        fail(
            f"{option}: {value!r} is not a block number or a date (YYYY-MM-DD or ISO 8601 "
            "such as 2026-03-01T12:00:00Z, UTC)"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    instant = int(moment.timestamp())
    return (instant, instant)


def _parse_quantity(value: str | None, option: str, *, least: int, what: str) -> Fraction | None:
    """An exact decimal (never a float) at least `least` (0: above 0)."""
    if value is None:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        fail(f"{option}: {value!r} is not a number")
    exact = Fraction(number)
    if least == 0 and exact <= 0:
        fail(f"{option}: {value} is not above 0 ({what})")
    if least and exact < least:
        fail(f"{option}: {value} is below {least} ({what})")
    return exact


def _baseline(kwh: str | None, pue: str | None, contributor: str | None) -> Baseline | None:
    if kwh is not None and pue is not None:
        fail("--baseline-kwh and --baseline-pue: name one centralised baseline, not both")
    pue_meaning = "a PUE is a facility's total energy over its IT energy"
    centralised = _parse_quantity(
        kwh, "--baseline-kwh", least=0, what="the energy the same work takes centralised, kWh"
    )
    data_centre = _parse_quantity(pue, "--baseline-pue", least=1, what=pue_meaning)
    contributors = _parse_quantity(contributor, "--contributor-pue", least=1, what=pue_meaning)
    if centralised is None and data_centre is None:
        if contributors is not None:
            fail("--contributor-pue: only with --baseline-kwh or --baseline-pue")
        return None
    return Baseline(
        kwh=centralised,
        pue=data_centre,
        contributor_pue=contributors if contributors is not None else Fraction(1),
    )


# ----------------------------------------------------------------------------- the history
def _events(
    state: CachedState, contract: str, names: tuple[str, ...]
) -> list[tuple[Position, str, dict[str, Any]]]:
    marks = ",".join("?" * len(names))
    rows = state.db.execute(
        "SELECT l.block_number, l.log_index, b.timestamp, l.event, l.args FROM logs l "
        "JOIN blocks b ON b.number = l.block_number "
        f"WHERE l.contract = ? AND l.event IN ({marks}) AND l.block_number <= ? "
        "ORDER BY l.block_number, l.log_index",
        (contract, *names, state.block),
    ).fetchall()
    return [
        (Position(int(block), int(index), int(stamp)), str(event), json.loads(args))
        for block, index, stamp, event, args in rows
    ]


def read_history(session: Session, state: CachedState) -> History:
    """Every event the report needs, from the cache's logs (never pruned) and block times."""
    registrations, heartbeats, statuses, renewables, timeouts = [], [], [], [], []
    registry_events = (
        "NodeRegistered",
        "HeartbeatRecorded",
        "NodeStatusChanged",
        "RenewableShareDeclared",
        "ParametersSet",
    )
    for at, name, a in _events(state, "NodeRegistry", registry_events):
        if name == "NodeRegistered":
            key = bytes.fromhex(str(a["resourceClass"]).removeprefix("0x"))
            registrations.append(
                NodeRegistration(
                    at,
                    int(a["nodeId"]),
                    str(a["owner"]),
                    session.class_label(key),
                    int(a["capacity"]),
                )
            )
        elif name == "HeartbeatRecorded":
            if "energyJ" not in a:
                continue  # a registry from before energy accounting (issue 13)
            heartbeats.append(
                HeartbeatEvent(
                    at, int(a["nodeId"]), int(a["watts"]), int(a["energyJ"]), int(a["counterJ"])
                )
            )
        elif name == "NodeStatusChanged":
            statuses.append(StatusEvent(at, int(a["nodeId"]), int(a["from"]), int(a["to"])))
        elif name == "RenewableShareDeclared":
            renewables.append(
                RenewableEvent(
                    at, int(a["nodeId"]), int(a["shareBps"]), str(a.get("evidenceURI", ""))
                )
            )
        else:
            timeouts.append(TimeoutEvent(at, int(a["heartbeatTimeout"])))
    created: dict[int, tuple[Position, dict[str, Any]]] = {}
    closed: dict[int, tuple[Position, int]] = {}
    market_events = ("AssignmentCreated", "AssignmentClosed")
    for at, name, a in _events(state, "TaskMarket", market_events):
        if name == "AssignmentCreated":
            created[int(a["assignmentId"])] = (at, a)
        else:
            closed[int(a["assignmentId"])] = (at, int(a["status"]))
    assignments = []
    for assignment_id, (at, a) in sorted(created.items()):
        end = closed.get(assignment_id)
        assignments.append(
            AssignmentRun(
                assignment_id,
                int(a["taskId"]),
                int(a["nodeId"]),
                int(a["units"]),
                at,
                end[0] if end else None,
                end[1] if end else None,
                int(a["resumesFrom"]),
            )
        )
    return History(registrations, heartbeats, statuses, renewables, assignments, timeouts)


def _block_time(session: Session, state: CachedState, block: int) -> int:
    row = state.db.execute("SELECT timestamp FROM blocks WHERE number = ?", (block,)).fetchone()
    if row is not None:
        return int(row[0])
    header = session.chain.rpc.request("eth_getBlockByNumber", [hex(block), False])
    return int(header["timestamp"], 16)


def _block_before(state: CachedState, moment: int, *, inclusive: bool) -> int | None:
    """The last block of the cache at `moment` (inclusive) or before it: every log of the
    deployment is in a stored block, so no event lies between it and `moment`."""
    operator = "<=" if inclusive else "<"
    row = state.db.execute(
        f"SELECT MAX(number) FROM blocks WHERE timestamp {operator} ? AND number <= ?",
        (moment, state.block),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def resolve_window(
    session: Session,
    state: CachedState,
    start: int | tuple[int, int] | None,
    end: int | tuple[int, int] | None,
    texts: tuple[str | None, str | None],
) -> Window:
    """Blocks (from, to] of the options: blocks as given, dates by the cache's block times.
    A date wholly before the deployment or after the head is refused; one that overlaps the
    chain is clamped to it."""
    first = session.chain.record.start_block
    first_time = _block_time(session, state, first)
    head, head_time = state.block, state.timestamp

    def block(value: int, option: str, text: str | None) -> int:
        if value > head:
            fail(f"{option}: block {text} is beyond the chain's head (block {head:,})")
        return value

    def outside(span: tuple[int, int], option: str, text: str | None) -> None:
        since, until = span
        if max(until, since + 1) <= first_time:
            fail(
                f"{option}: {text} is before the deployment's first block {first:,} "
                f"({show_time(first_time, None)})"
            )
        if since > head_time:
            fail(
                f"{option}: {text} is after the chain's head, block {head:,} "
                f"({show_time(head_time, None)})"
            )

    if start is None:
        from_block, from_time = max(first - 1, 0), first_time
    elif isinstance(start, int):
        from_block = block(start, "--from", texts[0])
        from_time = _block_time(session, state, from_block)
    else:
        outside(start, "--from", texts[0])
        from_time = max(start[0], first_time)
        before = _block_before(state, from_time, inclusive=False)
        from_block = before if before is not None else max(first - 1, 0)
    if end is None:
        to_block, to_time = head, head_time
    elif isinstance(end, int):
        to_block = block(end, "--to", texts[1])
        to_time = _block_time(session, state, to_block)
    else:
        outside(end, "--to", texts[1])
        last = end[1] - 1 if end[1] > end[0] else end[0]  # a day: its last second
        to_time = min(last, head_time)
        at = _block_before(state, to_time, inclusive=True)
        to_block = at if at is not None else max(first - 1, 0)
    if to_block < from_block or to_time < from_time:
        fail(
            f"--from {texts[0] or 'the deployment'} is after --to {texts[1] or 'the head'} "
            f"(block {from_block:,} > block {to_block:,}): the range is inverted"
        )
    return Window(from_block, from_time, to_block, to_time)


# ----------------------------------------------------------------------------- the command
@energy_group.command("report")
@click.option(
    "--from",
    "start",
    metavar="BLOCK|DATE",
    help="Start: a block number (its energy is the baseline) or a UTC date, YYYY-MM-DD (from "
    "00:00) or ISO 8601. Default: the deployment.",
)
@click.option(
    "--to",
    "end",
    metavar="BLOCK|DATE",
    help="End, included: a block number or a UTC date, YYYY-MM-DD (to 23:59:59) or ISO 8601. "
    "Default: the head.",
)
@click.option(
    "--baseline-kwh",
    metavar="KWH",
    help="The centralised baseline E_c you name: the energy the same work takes in a data "
    "centre, kWh (> 0). Gain = (E_c - E_d) / E_c, E_d = the network's IT energy x "
    "--contributor-pue.",
)
@click.option(
    "--baseline-pue",
    metavar="PUE",
    help="Instead of --baseline-kwh: E_c = the network's IT energy x this data-centre PUE "
    "(>= 1), against E_d = the same IT energy x --contributor-pue.",
)
@click.option(
    "--contributor-pue",
    metavar="PUE",
    help="The contributors' PUE (>= 1, default 1.0: no cooling or conversion overhead), an "
    "assumption printed beside the gain.",
)
@click.option(
    "--png",
    "png",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the plots to FILE: power over time per class and the declared renewable "
    "share against the 80 % goal.",
)
@json_option
@wallet_command(signs=False)
def report_command(
    start: str | None,
    end: str | None,
    baseline_kwh: str | None,
    baseline_pue: str | None,
    contributor_pue: str | None,
    png: Path | None,
    as_json: bool,
    opts: WalletOptions,
) -> None:
    """Energy in kWh per node, per class and per task with its measurement source (measured:
    the node's own energy counter; estimated: watts x time; mixed), the declared renewable share
    by node count and by energy against the goal of 80 % by 2030, throttling events, and the
    efficiency gain (E_c - E_d) / E_c against a centralised baseline you name
    (--baseline-kwh or --baseline-pue), printed with every input. From chain data alone.

    Energy per node in the window (blocks FROM+1 .. TO) is the registry's energy total at the
    node's last heartbeat up to TO minus the one up to FROM: each heartbeat credits its watts x
    the time since the node's previous heartbeat, capped at the heartbeat timeout (the gap cap),
    or the increase of the node's own energy counter (measured; else estimated). Per task: each
    heartbeat's energy is spread over its credited span and split over the assignments running
    then, by units; time with no assignment is idle.

    Renewable share, declared by the owners: by node count is the mean declared share of the
    nodes live at TO (Active, Throttled, Exiting), each node weighted equally, none declared
    counting as 0 %, against the goal of 80 % by 2030; by energy weights each heartbeat's joules
    by the share its node had declared then.
    """
    points = (_parse_point(start, "--from"), _parse_point(end, "--to"))
    baseline = _baseline(baseline_kwh, baseline_pue, contributor_pue)
    if png is not None:
        from oracle.energy_png import PlotError, check_available

        try:
            check_available()
        except PlotError as exc:
            fail(f"--png: {exc}")
    session = Session(opts)
    state = session.cache(quiet=as_json)
    window = resolve_window(session, state, points[0], points[1], (start, end))
    history = read_history(session, state)
    try:
        report = build_report(history, window, baseline)
    except EnergyError as exc:
        fail(str(exc))
    header = {
        "chain_id": session.chain.chain_id,
        "deployment": str(session.chain.record.path),
    }
    if png is not None:
        from oracle.energy_png import write_png

        try:
            write_png(report, png, title=f"VerAI network, chain {session.chain.chain_id}")
        except PlotError as exc:
            fail(f"--png: {exc}")
        if not as_json:
            note(f"wrote {png}")
    if as_json:
        emit_json(report.to_json(**header, png=str(png) if png else None))
        return
    click.echo(render(report, chain_id=session.chain.chain_id))


# ----------------------------------------------------------------------------- text
def _percent(value: Fraction | None, places: int = 1) -> str:
    return "-" if value is None else f"{decimal_string(100 * value, places)} %"


def _kwh(joules: int) -> str:
    return f"{kwh_string(joules)} kWh"


def _pue(value: Fraction) -> str:
    return decimal_string(value, 6)


def render(report: EnergyReport, *, chain_id: int) -> str:
    w = report.window
    head = (
        f"Energy on chain {chain_id}, blocks {w.from_block + 1:,} .. {w.to_block:,} "
        f"({show_time(w.from_time, None)} .. {show_time(w.to_time, None)}, "
        f"{duration(w.to_time - w.from_time)}), from chain data alone"
    )
    r = report.renewable
    goal = Fraction(80, 100)
    renewable = (
        f"declared, {_percent(r.by_count)} by node count ({r.live_nodes} live nodes, "
        f"{r.declaring_nodes} declaring; goal 80 % by 2030"
    )
    if r.by_count is not None:
        renewable += f", {decimal_string(100 * (r.by_count - goal), 1)} points"
    renewable += f"), {_percent(r.by_energy)} by energy"
    summary: list[tuple[str, object]] = [
        (
            "network",
            f"{_kwh(report.energy_j)} ({report.energy_j:,} J), "
            f"{report.source.describe(report.energy_j)}; idle {_kwh(report.idle_j)}",
        ),
        (
            "gap cap",
            f"{duration(report.gap_cap)} (the heartbeat timeout: a silent node's last reading "
            "is credited for at most this long)"
            if report.gap_cap
            else "-",
        ),
        ("renewable", renewable),
    ]
    e = report.efficiency
    if e is None:
        summary.append(
            (
                "efficiency",
                "not shown: name a centralised baseline with --baseline-kwh KWH or "
                "--baseline-pue PUE (and --contributor-pue PUE, default 1.0)",
            )
        )
    else:
        if e.baseline_pue is not None:
            centralised = (
                f"{decimal_string(e.centralised_kwh, 6)} kWh = IT energy x data-centre PUE "
                f"{_pue(e.baseline_pue)} (--baseline-pue)"
            )
        else:
            centralised = f"{decimal_string(e.centralised_kwh, 6)} kWh (--baseline-kwh, given)"
        summary += [
            (
                "efficiency",
                f"{_percent(e.gain)} = (E_c - E_d) / E_c, a model, not a measurement, from:",
            ),
            ("  E_c", centralised),
            (
                "  E_d",
                f"{decimal_string(e.decentralised_kwh, 6)} kWh = IT energy x contributors' PUE "
                f"{_pue(e.contributor_pue)} (--contributor-pue, assumed)",
            ),
            (
                "  IT energy",
                f"{_kwh(e.it_j)}, {report.source.label} (the heartbeats' energy in the window)",
            ),
        ]
    classes = table(
        ("class", "nodes", "kWh", "source", "idle kWh", "renewable by energy"),
        [
            (
                c.resource_class,
                c.nodes,
                kwh_string(c.energy_j),
                c.source.describe(c.energy_j),
                kwh_string(c.idle_j),
                _percent(c.renewable_by_energy),
            )
            for c in report.classes
        ],
        right="nodes,kWh,idle kWh",
    )
    nodes = table(
        (
            "node",
            "class",
            "status",
            "kWh",
            "mean W",
            "source",
            "idle kWh",
            "renewable",
            "throttled",
        ),
        [
            (
                n.node_id,
                n.resource_class,
                n.status,
                kwh_string(n.energy_j),
                decimal_string(n.mean_watts, 1),
                n.source.describe(n.energy_j),
                kwh_string(n.idle_j),
                f"{decimal_string(Fraction(n.declared_bps, 100), 2)} % declared",
                f"{n.throttle_events} events, {duration(n.throttled_s)}"
                if n.throttle_events
                else "-",
            )
            for n in report.nodes
        ],
        right="node,kWh,mean W,idle kWh",
    )
    tasks = table(
        ("task", "class", "nodes", "kWh", "Wh/unit-h", "source"),
        [
            (
                t.task_id,
                t.resource_class,
                ",".join(str(n) for n in t.nodes),
                kwh_string(t.energy_j),
                "-" if t.wh_per_unit_hour is None else decimal_string(t.wh_per_unit_hour, 1),
                t.source.describe(t.energy_j),
            )
            for t in report.tasks
        ],
        right="task,kWh,Wh/unit-h",
    )
    parts = [head, fields(summary), "", classes, "", nodes, ""]
    parts.append(tasks if report.tasks else "no task ran in the window")
    parts.append("")
    if report.throttling:
        lines = [
            f"  block {t.at.block:,} ({show_time(t.at.timestamp, None)}): node {t.node_id} "
            f"({t.resource_class}) {t.kind}, {_status(t.from_status)} -> {_status(t.to_status)}"
            for t in report.throttling
        ]
        parts.append(f"throttling events ({len(lines)}):")
        parts.extend(lines)
    else:
        parts.append("no throttling event in the window")
    return "\n".join(parts)


def _throttled(events: int, seconds: int) -> str:
    return f"{events} events, {duration(seconds)}" if events else "-"


def _status(value: int) -> str:
    return NODE_STATUS[value]
