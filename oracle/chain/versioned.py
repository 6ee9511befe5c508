"""Versioned rows: every entity's state as it stood at any block, kept in SQLite.

A row version holds the entity's columns from block `since` (inclusive) until block `until`
(exclusive; NULL while it is current). Changing an entity at block b closes its current version
at b and inserts one from b, or, when the current version already starts at b (several events of
one block), updates it in place: a version is the state after all of its first block's events.
Reading at block B selects the versions with since <= B < until. A reorg back to block A deletes
the versions that start above A and reopens those closed above A. Old versions (closed before a
retention horizon) are pruned; history for people lives in the logs table, not here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any


class VersionedTable:
    """One entity kind: table `name` keyed by `key` with `columns`."""

    def __init__(
        self, name: str, key: str, columns: Sequence[str], key_type: str = "INTEGER"
    ) -> None:
        self.name = name
        self.key = key
        self.key_type = key_type
        self.columns = tuple(columns)
        self._select = (
            f"SELECT since, {', '.join(self.columns)} FROM {name} WHERE {key} = ? AND until IS NULL"
        )
        self._insert = (
            f"INSERT INTO {name} ({key}, since, until, {', '.join(self.columns)}) "
            f"VALUES ({', '.join('?' * (len(self.columns) + 3))})"
        )
        self._update = (
            f"UPDATE {name} SET {', '.join(f'{c} = ?' for c in self.columns)} "
            f"WHERE {key} = ? AND since = ?"
        )

    def schema(self, types: dict[str, str]) -> str:
        """CREATE statements for the table and its indexes (column -> SQL type)."""
        cols = ", ".join(f"{c} {types.get(c, 'TEXT')}" for c in self.columns)
        return (
            f"CREATE TABLE {self.name} ({self.key} {self.key_type} NOT NULL, "
            f"since INTEGER NOT NULL, until INTEGER, {cols}, PRIMARY KEY ({self.key}, since));"
            f"CREATE INDEX {self.name}_current ON {self.name}({self.key}) WHERE until IS NULL;"
            f"CREATE INDEX {self.name}_until ON {self.name}(until);"
            f"CREATE INDEX {self.name}_since ON {self.name}(since)"
        )

    def current(self, conn: sqlite3.Connection, key: int | str) -> dict[str, Any] | None:
        row = conn.execute(self._select, (key,)).fetchone()
        if row is None:
            return None
        return dict(zip(("since", *self.columns), row, strict=True))

    def put(
        self, conn: sqlite3.Connection, key: int | str, block: int, values: dict[str, Any]
    ) -> None:
        """Makes `values` (every column) the entity's state from `block` on."""
        current = conn.execute(
            f"SELECT since FROM {self.name} WHERE {self.key} = ? AND until IS NULL", (key,)
        ).fetchone()
        row = [values[c] for c in self.columns]
        if current is not None and int(current[0]) == block:
            conn.execute(self._update, (*row, key, block))
            return
        if current is not None:
            conn.execute(
                f"UPDATE {self.name} SET until = ? WHERE {self.key} = ? AND until IS NULL",
                (block, key),
            )
        conn.execute(self._insert, (key, block, None, *row))

    def update(
        self, conn: sqlite3.Connection, key: int | str, block: int, **changes: Any
    ) -> dict[str, Any]:
        """Changes some columns of an existing entity from `block` on; returns the new state.
        KeyError when the entity does not exist (an event for something never created)."""
        state = self.current(conn, key)
        if state is None:
            raise KeyError(f"{self.name}: no entity {key}")
        state.pop("since")
        state.update(changes)
        self.put(conn, key, block, state)
        return state

    def at(
        self, conn: sqlite3.Connection, block: int, where: str = "", params: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        """Every entity as it stood at `block`, ordered by key (optionally filtered by `where`,
        an SQL condition on the columns)."""
        extra = f" AND ({where})" if where else ""
        rows = conn.execute(
            f"SELECT {self.key}, {', '.join(self.columns)} FROM {self.name} "
            f"WHERE since <= ? AND (until IS NULL OR until > ?){extra} ORDER BY {self.key}",
            (block, block, *params),
        ).fetchall()
        return [dict(zip((self.key, *self.columns), row, strict=True)) for row in rows]

    def one_at(self, conn: sqlite3.Connection, key: int | str, block: int) -> dict[str, Any] | None:
        rows = self.at(conn, block, f"{self.key} = ?", (key,))
        return rows[0] if rows else None

    def rewind(self, conn: sqlite3.Connection, to_block: int) -> None:
        conn.execute(f"DELETE FROM {self.name} WHERE since > ?", (to_block,))
        conn.execute(f"UPDATE {self.name} SET until = NULL WHERE until > ?", (to_block,))

    def prune(self, conn: sqlite3.Connection, before_block: int) -> int:
        """Deletes versions that ended at or before `before_block`; returns how many."""
        return conn.execute(
            f"DELETE FROM {self.name} WHERE until IS NOT NULL AND until <= ?", (before_block,)
        ).rowcount
