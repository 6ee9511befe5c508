"""What a member keeps across restarts, in its SQLite file (namespace "service"): the digests it
signed per (round, attempt) (so it never signs two proposals of one attempt, even after a crash),
the attested reports it holds (their transmission resumes after a restart), and the messages of
recent rounds (served to peers that missed them)."""

from __future__ import annotations

import json
import time
from typing import Any

from oracle.store import Database

SCHEMA = [
    """
    CREATE TABLE service_signed (round INTEGER NOT NULL, attempt INTEGER NOT NULL,
                                 digests TEXT NOT NULL, PRIMARY KEY (round, attempt));
    CREATE TABLE service_attested (first_round INTEGER PRIMARY KEY, last_round INTEGER NOT NULL,
                                   body TEXT NOT NULL, held_at REAL NOT NULL);
    CREATE TABLE service_messages (round INTEGER NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,
                                   PRIMARY KEY (round, key));
    CREATE TABLE service_rounds (first_round INTEGER PRIMARY KEY, reports INTEGER NOT NULL,
                                 entries INTEGER NOT NULL, cid TEXT NOT NULL,
                                 snapshot_block INTEGER NOT NULL, result TEXT NOT NULL,
                                 updated_at REAL NOT NULL)
    """,
]
KEEP_ROUNDS = 64


class ServiceStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("service", SCHEMA)

    # ------------------------------------------------------------------ signed
    def record_signed(self, round: int, attempt: int, digests: tuple[bytes, ...]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO service_signed VALUES (?, ?, ?)",
                (round, attempt, json.dumps([d.hex() for d in digests])),
            )

    def signed(self, from_round: int) -> list[tuple[int, int, tuple[bytes, ...]]]:
        rows = self.db.execute(
            "SELECT round, attempt, digests FROM service_signed WHERE round >= ?", (from_round,)
        ).fetchall()
        return [
            (int(r), int(a), tuple(bytes.fromhex(d) for d in json.loads(x))) for r, a, x in rows
        ]

    # ------------------------------------------------------------------ attested
    def hold(self, first_round: int, last_round: int, body: bytes) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO service_attested VALUES (?, ?, ?, ?)",
                (first_round, last_round, body.decode(), time.time()),
            )

    def held(self, after_round: int) -> list[bytes]:
        """Attested bodies with reports above `after_round` (still to transmit)."""
        rows = self.db.execute(
            "SELECT body FROM service_attested WHERE last_round > ? ORDER BY first_round",
            (after_round,),
        ).fetchall()
        return [str(r[0]).encode() for r in rows]

    # ------------------------------------------------------------------ messages
    def remember(self, round: int, key: str, body: bytes) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO service_messages VALUES (?, ?, ?)",
                (round, key, body.decode()),
            )
            conn.execute("DELETE FROM service_messages WHERE round < ?", (round - KEEP_ROUNDS,))

    def messages(self, round: int) -> list[bytes]:
        rows = self.db.execute(
            "SELECT body FROM service_messages WHERE round = ? ORDER BY key", (round,)
        ).fetchall()
        return [str(r[0]).encode() for r in rows]

    # ------------------------------------------------------------------ rounds (status, audit)
    def record_round(
        self, first_round: int, reports: int, entries: int, cid: str, snapshot_block: int,
        result: str,
    ) -> None:  # fmt: skip
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO service_rounds VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(first_round) "
                "DO UPDATE SET reports=excluded.reports, entries=excluded.entries, "
                "cid=excluded.cid, snapshot_block=excluded.snapshot_block, "
                "result=excluded.result, updated_at=excluded.updated_at",
                (first_round, reports, entries, cid, snapshot_block, result, time.time()),
            )

    def rounds(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT first_round, reports, entries, cid, snapshot_block, result FROM "
            "service_rounds ORDER BY first_round DESC LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("first_round", "reports", "entries", "cid", "snapshot_block", "result")
        return [dict(zip(keys, row, strict=True)) for row in rows]
