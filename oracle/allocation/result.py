"""The allocation output: entries, unmet units, and how every solver path builds them.

Entries are sorted by ``(task id, node id)``, at most one per pair; unmet lists the tasks with
unmet units > 0 by task id; the JSON is canonical, so equal results have equal bytes.

JSON schema, result (``verai.allocation.result/1``)::

    {
      "schema": "verai.allocation.result/1",
      "entries": [{"task": "7", "node": "1", "units": 3, "price": "1000000000000000"}, ...],
      "unmet": [{"task": "9", "units": 2}, ...],
      "cost": "3000000000000000"          # sum of units * price over the entries, in wei per hour
    }
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from oracle.allocation.errors import MalformedSnapshot
from oracle.allocation.json_format import (
    canonical_json,
    expect_list,
    expect_object,
    json_uint256,
    json_units,
    load_json,
)
from oracle.allocation.snapshot import Snapshot

RESULT_SCHEMA = "verai.allocation.result/1"


@dataclass(frozen=True, slots=True, order=True)
class Entry:
    """``units`` of ``task`` run on ``node`` at the node's ``price`` (wei per unit-hour)."""

    task: int
    node: int
    units: int
    price: int


@dataclass(frozen=True, slots=True, order=True)
class Unmet:
    task: int
    units: int


@dataclass(frozen=True)
class Allocation:
    """The result: entries sorted by (task, node), unmet units of the tasks not fully served."""

    entries: tuple[Entry, ...]
    unmet: tuple[Unmet, ...] = field(default=())

    @property
    def cost(self) -> int:
        """Total price of the allocation, wei per hour (sum of units * price)."""
        return sum(e.units * e.price for e in self.entries)

    @property
    def served_units(self) -> int:
        return sum(e.units for e in self.entries)

    def served(self) -> dict[int, int]:
        """Units served per task id (tasks with no entry are absent)."""
        out: dict[int, int] = {}
        for e in self.entries:
            out[e.task] = out.get(e.task, 0) + e.units
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "entries": [
                {"task": str(e.task), "node": str(e.node), "units": e.units, "price": str(e.price)}
                for e in self.entries
            ],
            "unmet": [{"task": str(u.task), "units": u.units} for u in self.unmet],
            "cost": str(self.cost),
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace): the bytes the committee agrees on."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, document: object) -> Allocation:
        doc = expect_object("result", document, ("schema", "entries", "unmet", "cost"))
        if doc["schema"] != RESULT_SCHEMA:
            raise MalformedSnapshot("schema", doc["schema"], f"expected {RESULT_SCHEMA!r}")
        entries = []
        for index, raw in enumerate(expect_list("entries", doc["entries"])):
            where = f"entries[{index}]"
            item = expect_object(where, raw, ("task", "node", "units", "price"))
            entries.append(
                Entry(
                    task=json_uint256(f"{where}.task", item["task"]),
                    node=json_uint256(f"{where}.node", item["node"]),
                    units=json_units(f"{where}.units", item["units"]),
                    price=json_uint256(f"{where}.price", item["price"]),
                )
            )
        unmet = []
        for index, raw in enumerate(expect_list("unmet", doc["unmet"])):
            where = f"unmet[{index}]"
            item = expect_object(where, raw, ("task", "units"))
            unmet.append(
                Unmet(
                    task=json_uint256(f"{where}.task", item["task"]),
                    units=json_units(f"{where}.units", item["units"]),
                )
            )
        result = cls(entries=tuple(entries), unmet=tuple(unmet))
        if result.entries != tuple(sorted(result.entries)):
            raise MalformedSnapshot("entries", "...", "not sorted by (task, node)")
        if result.unmet != tuple(sorted(result.unmet)):
            raise MalformedSnapshot("unmet", "...", "not sorted by task")
        cost = json_uint256("cost", doc["cost"])
        if cost != result.cost:
            raise MalformedSnapshot("cost", cost, f"entries add up to {result.cost}")
        return result

    @classmethod
    def from_json(cls, text: str | bytes) -> Allocation:
        return cls.from_dict(load_json("result", text))


def allocation_from_rows(
    snapshot: Snapshot, served: Iterable[tuple[int, int, int, int]]
) -> Allocation:
    """Entries from (task id, node id, units, price) rows; merges nothing, sorts canonically."""
    entries = tuple(sorted(Entry(t, n, u, p) for t, n, u, p in served if u > 0))
    got: dict[int, int] = {}
    for e in entries:
        got[e.task] = got.get(e.task, 0) + e.units
    unmet = tuple(
        Unmet(t.id, t.units - got.get(t.id, 0))
        for t in snapshot.tasks
        if t.units > got.get(t.id, 0)
    )
    return Allocation(entries=entries, unmet=unmet)
