"""Strict JSON reading and canonical JSON writing, shared by the snapshot and result schemas.

uint256 values travel as decimal strings (JSON numbers above 2**53 lose precision in most
parsers); unknown keys are rejected; errors name the JSON path (``nodes[3].free_units``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from oracle.allocation.errors import AllocationError, InvalidValue, MalformedSnapshot
from oracle.allocation.fields import UINT256_MAX, check_uint256, check_units


def canonical_json(document: object) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def load_json(what: str, text: str | bytes) -> object:
    try:
        return cast(object, json.loads(text))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedSnapshot(what, _short(text), f"not valid JSON ({exc})") from exc


def _short(text: str | bytes) -> str:
    shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return shown if len(shown) <= 40 else shown[:37] + "..."


def expect_object(
    where: str, value: object, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedSnapshot(where, value, "expected a JSON object")
    for key in required:
        if key not in value:
            raise MalformedSnapshot(f"{where}.{key}", None, "missing")
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            raise MalformedSnapshot(f"{where}.{key}", value[key], "unknown key")
    return cast(dict[str, Any], value)


def expect_list(where: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedSnapshot(where, value, "expected a JSON array")
    return value


def json_uint256(where: str, value: object) -> int:
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
            raise InvalidValue(
                where, value, "expected a decimal integer string (no sign, no 0 pad)"
            )
        if len(value) > 78 or int(value) > UINT256_MAX:
            raise InvalidValue(where, value, "out of range: expected 0 <= value < 2**256")
        return int(value)
    return check_uint256(where, value)


def json_units(where: str, value: object) -> int:
    return check_units(where, value)


def at_path(where: str, exc: AllocationError) -> AllocationError:
    """The same error with its field re-rooted at a JSON path (``nodes[3].free_units``)."""
    name = exc.field.rsplit(".", 1)[-1]
    return type(exc)(f"{where}.{name}", exc.value, exc.problem)
