"""Number ranges of the allocation inputs and the checks that enforce them (field, value, range
in every error)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from oracle.allocation.errors import InvalidValue

UINT256_MAX = 2**256 - 1
UNITS_MAX = 2**53 - 1
INT64_MAX = 2**63 - 1
CLASS_MAX_LEN = 66

IntArray = npt.NDArray[np.int64]
"""The arrays the numpy solvers work on."""


def check_int(field: str, value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, value, f"expected an integer ({what})")
    if value < low or value > high:
        raise InvalidValue(field, value, f"out of range: expected {what}")
    return value


def check_uint256(field: str, value: object) -> int:
    return check_int(field, value, 0, UINT256_MAX, "0 <= value < 2**256")


def check_units(field: str, value: object) -> int:
    return check_int(field, value, 0, UNITS_MAX, "0 <= units < 2**53")


def check_class(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, value, "expected a string")
    if not value or len(value) > CLASS_MAX_LEN or not value.isascii() or not value.isprintable():
        raise InvalidValue(
            field, value, f"expected 1 to {CLASS_MAX_LEN} printable ASCII characters"
        )
    return value
