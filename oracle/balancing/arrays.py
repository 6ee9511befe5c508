"""Vectorised helpers the phases share: group boundaries, two-pointer matching, stable sorts
(array operations where the rules would otherwise loop in Python)."""

from __future__ import annotations

import numpy as np

from oracle.balancing.state import BoolArray, IntArray


def first_per_group(keys: IntArray) -> BoolArray:
    """True at the first element of each run of equal keys."""
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def last_per_group(keys: IntArray) -> BoolArray:
    """True at the last element of each run of equal keys."""
    last = np.ones(keys.size, dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    return last


def match(units: IntArray, rooms: IntArray) -> tuple[BoolArray, IntArray]:
    """Two-pointer matching of items (largest first) with rooms (largest first).

    Item i takes the next unused room if it fits, else is skipped. With c_i the number of rooms
    >= units_i (non-decreasing) and m_i the rooms used before item i, m_(i+1) = min(m_i + 1, c_i):
    m_i = i + min(0, min over l < i of (c_l - l - 1)), a cumulative minimum. Returns (matched,
    room index) per item."""
    count = units.size
    if count == 0 or rooms.size == 0:
        return np.zeros(count, dtype=bool), np.zeros(count, dtype=np.int64)
    fits = rooms.size - np.searchsorted(rooms[::-1], units, side="left")
    step = np.arange(count, dtype=np.int64)
    running = np.minimum.accumulate(fits - step - 1)
    before = np.zeros(count, dtype=np.int64)
    before[1:] = np.minimum(running[:-1], 0)
    taken = step + before
    return taken < fits, taken


def stable_argsort(key: IntArray) -> IntArray:
    """Indices sorted by (key, index). A stable sort of keys spanning less than 2**16 is a radix
    sort in numpy (linear time), much cheaper than the comparison sort int64 keys get."""
    order: IntArray
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    low = int(key.min())
    if int(key.max()) - low < 2**16:
        order = np.argsort((key - low).astype(np.uint16), kind="stable")
    else:
        order = np.argsort(key, kind="stable")
    return order


def stable_order(major: IntArray, minor: IntArray) -> IntArray:
    """Indices sorted by (major, minor, index) for ``major >= 0``: one sort of int64 values
    packing (major, minor, index) when they fit, else a stable argsort of (major, minor), else a
    lexsort."""
    if major.size == 0:
        return np.zeros(0, dtype=np.int64)
    low = int(minor.min())
    span = int(minor.max()) - low + 1
    order: IntArray
    shift = int(major.size).bit_length()
    if int(major.min()) >= 0 and ((int(major.max()) + 1) * span) << shift < 2**62:
        # Unique keys (the index in the low bits): a plain sort of values, then the index.
        packed = ((major * span + (minor - low)) << shift) | np.arange(major.size)
        packed.sort()
        order = packed & ((1 << shift) - 1)
    elif (int(major.max()) + 1) * span < 2**62:
        order = np.argsort(major * span + (minor - low), kind="stable")
    else:
        order = np.lexsort((np.arange(major.size), minor, major))
    return order
