"""SQLite state of one process: the embedded default store of the oracle, the agent, the CLI's
cache and the dashboard.

One file per process, in WAL mode (readers never block the writer, a crash loses nothing that
was committed), `synchronous=NORMAL` (durable across process crashes, the failure we design for;
an OS crash may lose the last transactions, which are then re-done from the chain). Each
component owns its tables and declares them as a numbered list of migrations under its own
namespace (`Database.migrate`), so components evolve their schema independently. A database is
bound to one chain and one deployment on first use (`bind`): opening it with another is an error,
never a silent mix of two chains' state.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from oracle.errors import OracleError

BUSY_TIMEOUT_MS = 10_000


class StoreError(OracleError):
    """The local database cannot be used (locked, corrupt, or made for another deployment)."""


class Database:
    """A SQLite file with migrations and explicit transactions.

    `transaction()` opens BEGIN IMMEDIATE (the write lock is taken up front, so two writers
    never deadlock halfway) and commits or rolls back as a whole; nested use joins the outer
    transaction. Connections are per thread (sqlite3 objects must not cross threads)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self.connection
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable SQLite database: {exc}") from exc
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch to WAL mode (got {mode})")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions (namespace TEXT PRIMARY KEY, "
            "version INTEGER NOT NULL)"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @property
    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self.connection.execute(sql, params)

    # ------------------------------------------------------------------ schema
    def migrate(self, namespace: str, migrations: Sequence[str]) -> None:
        """Applies the migrations of `namespace` not applied yet, each in its own transaction.
        Migrations are append-only: never edit one that has shipped, add the next."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE namespace = ?", (namespace,)
            ).fetchone()
        done = int(row[0]) if row else 0
        if done > len(migrations):
            raise StoreError(
                f"{self.path}: schema '{namespace}' is at version {done}, newer than this "
                f"program knows ({len(migrations)}); use a newer release or another file"
            )
        for version in range(done, len(migrations)):
            with self.transaction() as conn:
                for statement in _statements(migrations[version]):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_versions(namespace, version) VALUES (?, ?) "
                    "ON CONFLICT(namespace) DO UPDATE SET version = excluded.version",
                    (namespace, version + 1),
                )

    # ------------------------------------------------------------------ metadata
    def get_meta(self, key: str) -> str | None:
        row = self.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def bind(self, **identity: str) -> None:
        """Records (first use) or checks (later) what this file belongs to, e.g. chain id and
        contract addresses; a mismatch is a StoreError naming the field."""
        with self.transaction():
            for key, value in sorted(identity.items()):
                stored = self.get_meta(f"identity.{key}")
                if stored is None:
                    self.set_meta(f"identity.{key}", value)
                elif stored != value:
                    raise StoreError(
                        f"{self.path} belongs to {key}={stored}, not {key}={value}: it holds "
                        "another deployment's state; use another --db file (or delete this one "
                        "to rebuild it from the chain)"
                    )


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
