"""The `verai audit` verdict of every round, as the rounds page shows it.

With a document store configured (`--store-folder`, or `--ipfs-url`: where the committee
publishes its round documents), a background thread runs `verai audit`'s own library
(`oracle.service.audit.audit_round`) once per accepted report group: it fetches the document by
the digest the chain recorded, re-solves it and compares entry by entry with what the chain
applied. Verdicts are kept in the dashboard's SQLite file:

    pass         every check holds
    fail         a check does not (the page lists which)
    unavailable  the document is not in the store (yet): retried every `retry_seconds`
    not audited  no store is configured, or the round was not audited yet

A verdict is never invented: without a store every round says "not audited" and why.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oracle.chain.abi import event_by_name
from oracle.chain.contracts import Contracts
from oracle.chain.events import ChainEvent
from oracle.errors import OracleError
from oracle.observe.logs import get_logger
from oracle.store import Database

log = get_logger("oracle.dashboard.audits")

SCHEMA = [
    """
    CREATE TABLE dashboard_audits (
        round INTEGER NOT NULL, block_hash TEXT NOT NULL, status TEXT NOT NULL,
        cid TEXT NOT NULL, checks TEXT NOT NULL, audited_at REAL NOT NULL,
        PRIMARY KEY (round, block_hash))
    """,
]
NAMESPACE = "dashboard-audits"


@dataclass(frozen=True)
class Verdict:
    status: str  # "pass" | "fail" | "unavailable" | "not audited"
    detail: str
    checks: tuple[tuple[bool, str], ...] = ()


NO_STORE = Verdict(
    "not audited",
    "no round-document store configured (start the dashboard with --store-folder or "
    "--ipfs-url to audit rounds with `verai audit`)",
)
PENDING = Verdict("not audited", "not audited yet: the audit runs in the background")


def migrate(db: Database) -> None:
    db.migrate(NAMESPACE, SCHEMA)


def verdict_of(
    conn: sqlite3.Connection, round_number: int, block_hash: str, *, enabled: bool
) -> Verdict:
    if not enabled:
        return NO_STORE
    row = conn.execute(
        "SELECT status, cid, checks FROM dashboard_audits WHERE round = ? AND block_hash = ?",
        (round_number, block_hash),
    ).fetchone()
    if row is None:
        return PENDING
    status, cid, checks = str(row[0]), str(row[1]), json.loads(row[2])
    detail = {
        "pass": f"`verai audit` re-solved document {cid} and every check holds",
        "fail": f"`verai audit` of document {cid or '(none)'}: a check failed",
        "unavailable": "the round's document is not in the store (yet); retried regularly",
    }.get(status, status)
    return Verdict(status, detail, tuple((bool(ok), str(text)) for ok, text in checks))


_BYTES_FIELDS = ("configDigest", "reportDigest", "inputsDigest")


def _accepted_events(conn: sqlite3.Connection, cursor: int, address: str) -> list[ChainEvent]:
    """The ingested ReportAccepted events as the audit library takes them (no eth_getLogs over
    the whole history: the ingestor has them)."""
    rows = conn.execute(
        "SELECT block_number, block_hash, log_index, tx_hash, args FROM logs WHERE contract = "
        "'ReportVerifier' AND event = 'ReportAccepted' AND block_number <= ? "
        "ORDER BY block_number, log_index",
        (cursor,),
    ).fetchall()
    event_by_name("ReportVerifier", "ReportAccepted")  # fails loudly if the ABI lost it
    events = []
    for block_number, block_hash, log_index, tx_hash, raw in rows:
        args: dict[str, Any] = json.loads(raw)
        for name in _BYTES_FIELDS:
            if isinstance(args.get(name), str):
                args[name] = bytes.fromhex(args[name].removeprefix("0x"))
        events.append(
            ChainEvent(
                "ReportVerifier",
                "ReportAccepted",
                args,
                int(block_number),
                str(block_hash),
                int(log_index),
                str(tx_hash),
                0,
                address,
            )
        )
    return events


class Auditor:
    """Audits accepted rounds on a daemon thread (its own RPC client and SQLite connection)."""

    def __init__(
        self,
        db: Database,
        contracts: Contracts,
        *,
        store_folder: Path | None,
        ipfs_url: str | None,
        paths: tuple[str, ...],
        interval: float,
        retry_seconds: float = 30.0,
    ) -> None:
        from oracle.checkpoints import IpfsStore, LocalStore

        self.db = db
        self.contracts = contracts
        self.store: Any = IpfsStore(ipfs_url) if ipfs_url else LocalStore(store_folder or ".")
        self.paths = paths
        self.interval = interval
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-auditor", daemon=True)
        migrate(db)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.audit_pending()
            except Exception:  # an audit bug must not end the loop: log it, try later
                log.exception("audit pass failed")
            self._stop.wait(self.interval)

    def audit_pending(self) -> int:
        """Audits every round without a verdict (and retries unavailable documents); returns
        how many rounds got a verdict."""
        row = self.db.execute("SELECT block FROM ingest_cursor WHERE name = 'main'").fetchone()
        if row is None:
            return 0
        cursor = int(row[0])
        retry_before = time.time() - self.retry_seconds
        todo = self.db.execute(
            "SELECT l.block_hash, json_extract(l.args, '$.round') FROM logs l LEFT JOIN "
            "dashboard_audits a ON a.round = json_extract(l.args, '$.round') AND a.block_hash "
            "= l.block_hash WHERE l.contract = 'ReportVerifier' AND l.event = 'ReportAccepted' "
            "AND l.block_number <= ? AND (a.round IS NULL OR (a.status = 'unavailable' AND "
            "a.audited_at < ?)) ORDER BY l.block_number, l.log_index",
            (cursor, retry_before),
        ).fetchall()
        if not todo:
            return 0
        from oracle.service.audit import AuditError, audit_round

        events = _accepted_events(self.db.connection, cursor, str(self.contracts.verifier.address))
        hash_of = {int(e.args["round"]): e.block_hash for e in events}
        done: set[int] = set()
        for _block_hash, number in todo:
            number = int(number)
            if number in done or self._stop.is_set():
                continue
            try:
                result = audit_round(
                    self.contracts, self.store, number, events=events, paths=self.paths
                )
            except (AuditError, OracleError) as exc:
                self._record(
                    [(number, hash_of.get(number, _block_hash))], "fail", "", [(False, str(exc))]
                )
                done.add(number)
                continue
            if result.ok:
                status = "pass"
            elif len(result.checks) == 1 and not result.cid:
                status = "unavailable"  # only the fetch ran, and failed
            else:
                status = "fail"
            group = [(r, hash_of[r]) for r in (result.rounds or [number]) if r in hash_of]
            self._record(group, status, result.cid, result.checks)
            done.update(r for r, _ in group)
            log.info("round audited", extra={"round": number, "verdict": status})
        return len(done)

    def _record(
        self,
        rounds: list[tuple[int, str]],
        status: str,
        cid: str,
        checks: list[tuple[bool, str]],
    ) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO dashboard_audits VALUES (?,?,?,?,?,?)",
                [
                    (
                        r,
                        h,
                        status,
                        cid,
                        json.dumps([[ok, text] for ok, text in checks]),
                        time.time(),
                    )
                    for r, h in rounds
                ],
            )
