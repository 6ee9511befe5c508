"""A chain event as one readable line for the timelines (ids, amounts in VER, CIDs)."""

from __future__ import annotations

from typing import Any

from oracle.chain.mirror import ASSIGNMENT_STATUS, NODE_STATUS
from oracle.dashboard.format import cid_text, utc, ver
from oracle.dashboard.history import LogRow

_AMOUNTS = {
    "amount",
    "stake",
    "newStake",
    "escrow",
    "earned",
    "slashed",
    "bounty",
    "compensationHeld",
    "compensation",
    "pricePerUnitHour",
    "maxPricePerUnitHour",
    "oldPrice",
    "newPrice",
    "minStake",
}
_TIMES = {"paidUntil", "expiresAt", "unbondingEndsAt", "failableAt", "checkpointsCloseAt"}
_SKIP = {"seed"}


def _value(event: str, name: str, value: Any, class_names: dict[bytes, str]) -> str:
    if name in _AMOUNTS and isinstance(value, int):
        return ver(value)
    if name in _TIMES and isinstance(value, int):
        return utc(value)
    if name == "cid" and isinstance(value, str):
        return cid_text(value)
    if name in ("from", "to") and event == "NodeStatusChanged" and isinstance(value, int):
        return NODE_STATUS[value] if value < len(NODE_STATUS) else str(value)
    if name == "status" and event == "AssignmentClosed" and isinstance(value, int):
        return ASSIGNMENT_STATUS[value] if value < len(ASSIGNMENT_STATUS) else str(value)
    if name == "resourceClass" and isinstance(value, str):
        key = bytes.fromhex(value.removeprefix("0x"))
        return class_names.get(key, value)
    return str(value)


def describe(row: LogRow, class_names: dict[bytes, str]) -> str:
    """`name=value` pairs of the event's arguments, in declaration order."""
    return ", ".join(
        f"{name}={_value(row.event, name, value, class_names)}"
        for name, value in row.args.items()
        if name not in _SKIP
    )
