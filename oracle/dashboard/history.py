"""Read-only queries over the ingestion layer's history tables (`logs`, `blocks`, the mirror's
`heartbeats`), always bounded by the block a page is pinned to. The mirror's versioned tables
say how things stand at that block; these say how they got there (charts, timelines, rounds).

Event arguments are kept as JSON by the ingestor; they are parsed in Python (amounts in wei go
beyond SQLite's 64-bit integers), and `json_extract` is only used on ids.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oracle.energy import Reading


@dataclass(frozen=True, slots=True)
class LogRow:
    """One ingested event with its block time."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    contract: str
    event: str
    args: dict[str, Any]
    timestamp: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    timestamp: int
    block_number: int
    load_bps: int
    watts: int


_LOG_COLUMNS = (
    "l.block_number, l.log_index, l.block_hash, l.tx_hash, l.contract, l.event, l.args, b.timestamp"
)


def _log(row: Sequence[Any]) -> LogRow:
    return LogRow(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        str(row[5]),
        json.loads(row[6]),
        int(row[7]),
    )


def logs(
    conn: sqlite3.Connection,
    block: int,
    *,
    contract: str | None = None,
    events: Sequence[str] = (),
    arg: tuple[str, int] | None = None,
    arg_in: tuple[str, Sequence[int]] | None = None,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[LogRow]:
    """Events up to `block`, optionally of one contract, of some event names, with an id
    argument equal to a value (`arg=("nodeId", 3)`) or in a set (`arg_in`)."""
    where = ["l.block_number <= ?"]
    params: list[Any] = [block]
    if contract is not None:
        where.append("l.contract = ?")
        params.append(contract)
    if events:
        where.append(f"l.event IN ({', '.join('?' * len(events))})")
        params.extend(events)
    if arg is not None:
        where.append(f"json_extract(l.args, '$.{_identifier(arg[0])}') = ?")
        params.append(arg[1])
    if arg_in is not None:
        name, values = arg_in
        if not values:
            return []
        where.append(
            f"json_extract(l.args, '$.{_identifier(name)}') IN ({', '.join('?' * len(values))})"
        )
        params.extend(values)
    order = "DESC" if newest_first else "ASC"
    sql = (
        f"SELECT {_LOG_COLUMNS} FROM logs l JOIN blocks b ON b.number = l.block_number "
        f"WHERE {' AND '.join(where)} ORDER BY l.block_number {order}, l.log_index {order}"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_log(row) for row in conn.execute(sql, params).fetchall()]


def _identifier(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"not an event argument name: {name!r}")
    return name


def heartbeats(
    conn: sqlite3.Connection,
    block: int,
    node_id: int,
    *,
    since: int | None = None,
    limit: int = 5_000,
) -> list[Heartbeat]:
    """The node's heartbeats up to `block` (the newest `limit`, in time order), from
    timestamp `since` on when given."""
    where, params = "node_id = ? AND block_number <= ?", [node_id, block]
    if since is not None:
        where += " AND timestamp >= ?"
        params.append(since)
    rows = conn.execute(
        f"SELECT timestamp, block_number, load_bps, watts FROM heartbeats WHERE {where} "
        "ORDER BY block_number DESC, log_index DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [Heartbeat(int(t), int(b), int(lo), int(w)) for t, b, lo, w in reversed(rows)]


def power_readings(
    conn: sqlite3.Connection, block: int, *, start: int, end: int
) -> dict[int, list[Reading]]:
    """Every node's watts readings that matter for the window [start, end]: those inside it and
    the last one before it (which may still hold at `start`), by node id, in time order."""
    rows = conn.execute(
        "SELECT node_id, timestamp, watts FROM heartbeats WHERE block_number <= ? "
        "AND timestamp >= ? AND timestamp <= ? ORDER BY node_id, block_number, log_index",
        (block, start, end),
    ).fetchall()
    before = conn.execute(
        "SELECT node_id, timestamp, watts FROM (SELECT node_id, timestamp, watts, ROW_NUMBER() "
        "OVER (PARTITION BY node_id ORDER BY block_number DESC, log_index DESC) AS newest "
        "FROM heartbeats WHERE block_number <= ? AND timestamp < ?) WHERE newest = 1",
        (block, start),
    ).fetchall()
    series: dict[int, list[Reading]] = {}
    for node_id, timestamp, watts in before:
        series.setdefault(int(node_id), []).append(Reading(int(timestamp), int(watts)))
    for node_id, timestamp, watts in rows:
        series.setdefault(int(node_id), []).append(Reading(int(timestamp), int(watts)))
    return series


@dataclass(frozen=True, slots=True)
class Credited:
    """What the registry credited a node with over a window, from its heartbeats' own figures
    (HeartbeatRecorded.energyJ: the node's total after each heartbeat, the registry's rule: its
    interval back to the previous heartbeat, capped at the heartbeat timeout)."""

    joules: int  # credited by the node's heartbeats in the window
    measured: int  # the part credited by heartbeats that carried the node's energy counter
    beats: int

    @property
    def source(self) -> str:
        if self.joules == 0:
            return "estimated" if self.beats and not self.measured else "-"
        if self.measured == self.joules:
            return "measured"
        return "estimated" if self.measured == 0 else "partly measured"


def energy_credits(
    conn: sqlite3.Connection, block: int, *, start: int, end: int
) -> dict[int, Credited] | None:
    """Each node's registry-credited energy from its heartbeats in [start, end]: the increase of
    its energyJ over the window (from its last heartbeat before it), the measured part being the
    increases on heartbeats with a counter. None when the registry credits no energy (the
    heartbeats carry no energyJ)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(heartbeats)")}
    rows: list[tuple[int, int, int, int]]  # node, timestamp, energy_j, counter_j
    if {"energy_j", "counter_j"} <= columns:
        rows = [
            (int(n), int(t), int(e), int(c))
            for n, t, e, c in conn.execute(
                "SELECT node_id, timestamp, energy_j, counter_j FROM heartbeats "
                "WHERE block_number <= ? AND timestamp <= ? "
                "ORDER BY node_id, block_number, log_index",
                (block, end),
            )
        ]
    else:
        beats = logs(conn, block, contract="NodeRegistry", events=("HeartbeatRecorded",))
        if beats and "energyJ" not in beats[0].args:
            return None
        rows = sorted(
            (
                (
                    int(b.args["nodeId"]),
                    b.timestamp,
                    int(b.args["energyJ"]),
                    int(b.args["counterJ"]),
                )
                for b in beats
                if b.timestamp <= end
            ),
            key=lambda r: r[0],
        )  # fmt: skip (stable: block order within a node)
    return _credits(rows, start)


def credited(beats: Sequence[tuple[int, int]]) -> Credited:
    """One node's credited energy over all of its heartbeats, (energyJ, counterJ) in order."""
    return _credits([(0, 0, e, c) for e, c in beats], 0).get(0, Credited(0, 0, 0))


def _credits(rows: Sequence[tuple[int, int, int, int]], start: int) -> dict[int, Credited]:
    credits: dict[int, Credited] = {}
    previous: dict[int, int] = {}
    for node, timestamp, energy, counter in rows:
        increase = energy - previous.get(node, 0)
        previous[node] = energy
        if timestamp < start:
            continue
        was = credits.get(node, Credited(0, 0, 0))
        credits[node] = Credited(
            was.joules + increase, was.measured + (increase if counter else 0), was.beats + 1
        )
    return credits


def first_block_time(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT MIN(timestamp) FROM blocks").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def block_of_round(conn: sqlite3.Connection, block: int, round_number: int) -> LogRow | None:
    """The ReportAccepted event of `round_number` (at or below `block`)."""
    rows = logs(
        conn,
        block,
        contract="ReportVerifier",
        events=("ReportAccepted",),
        arg=("round", round_number),
        limit=1,
    )
    return rows[0] if rows else None


def report_count(conn: sqlite3.Connection, block: int) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM logs WHERE event = 'ReportAccepted' AND contract = "
        "'ReportVerifier' AND block_number <= ?",
        (block,),
    ).fetchone()
    return int(row[0])


def reports(conn: sqlite3.Connection, block: int, *, limit: int, offset: int = 0) -> list[LogRow]:
    """ReportAccepted events, newest first, one page of them."""
    rows = conn.execute(
        f"SELECT {_LOG_COLUMNS} FROM logs l JOIN blocks b ON b.number = l.block_number "
        "WHERE l.contract = 'ReportVerifier' AND l.event = 'ReportAccepted' "
        "AND l.block_number <= ? ORDER BY l.block_number DESC, l.log_index DESC LIMIT ? OFFSET ?",
        (block, limit, offset),
    ).fetchall()
    return [_log(row) for row in rows]
