"""The band around the class mean, in whole units per node, and how far a state is from it.

Band and window
    Node i is in the band when ``lo_i <= used_i <= hi_i`` with ``lo_i = ceil((L̄ − θ) cap_i)`` and
    ``hi_i = floor((L̄ + θ) cap_i)`` (clipped to ``[0, cap_i]``, exact integer arithmetic). When
    no whole number of units lies in the band (``lo_i > hi_i``, e.g. θ = 0 and a fractional
    mean) the window is the one whole number nearest to ``L̄ cap_i`` (the lower on a tie): the
    closest the node can get. Moving a node strictly closer to its window (in units) never
    increases its deviation ``|L_i − L̄|``, so no move raises the maximum deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracle.balancing.state import BPS, IntArray, LoadState, used_per_node


def node_windows(
    caps: IntArray, total_used: int, total_cap: int, theta_bps: int
) -> tuple[IntArray, IntArray]:
    """(lo, hi) per node in units, exact. When no whole number lies in the band, the window is
    the whole number nearest to ``L̄ · cap`` (the lower one on a tie)."""
    upper = BPS * total_used + theta_bps * total_cap
    lower = BPS * total_used - theta_bps * total_cap
    denominator = BPS * total_cap
    if caps.size == 0:
        return caps.copy(), caps.copy()
    if max(abs(upper), abs(lower), denominator) * int(caps.max()) < 2**61:
        hi = np.minimum((upper * caps) // denominator, caps)
        lo = np.maximum(-((-lower * caps) // denominator), 0)
        empty = lo > hi
        # lo = hi + 1 here; the nearest to x = U cap / C is hi when 2 U cap <= (lo + hi) C.
        nearest = np.where(2 * total_used * caps <= (lo + hi) * total_cap, hi, lo)
        return np.where(empty, nearest, lo), np.where(empty, nearest, hi)
    los: list[int] = []
    his: list[int] = []
    for cap in caps.tolist():
        high = min(upper * cap // denominator, cap)
        low = max(-(-lower * cap // denominator), 0)
        if low > high:
            low = high = high if 2 * total_used * cap <= (low + high) * total_cap else low
        los.append(low)
        his.append(high)
    return np.asarray(los, dtype=np.int64), np.asarray(his, dtype=np.int64)


def active_classes(state: LoadState) -> list[IntArray]:
    """Positions (ascending id) of the active nodes of each class, classes in name order."""
    out = []
    for code in range(len(state._class_names)):
        members = np.flatnonzero(state._active & (state._class_code == code))
        if members.size:
            out.append(members)
    return out


def band_windows(state: LoadState) -> dict[int, tuple[int, int]]:
    """The ``[lo, hi]`` window in units of every active node (see the module docstring)."""
    used = used_per_node(state._asg_node, state._asg_units, len(state.nodes))
    out: dict[int, tuple[int, int]] = {}
    for members in active_classes(state):
        caps = state._cap[members]
        lo, hi = node_windows(caps, int(used[members].sum()), int(caps.sum()), state.theta_bps)
        for i, low, high in zip(members.tolist(), lo.tolist(), hi.tolist(), strict=True):
            out[state.nodes[i].id] = (low, high)
    return out


@dataclass(frozen=True)
class BandReport:
    """How far loads are from their class mean (active nodes only)."""

    nodes: int
    outside: int
    """Nodes with |L_i − L̄| > θ (exact)."""
    max_deviation_bps: float
    """max |L_i − L̄| in basis points of load (float, for reporting)."""


def band_report(state: LoadState) -> BandReport:
    used_all = used_per_node(state._asg_node, state._asg_units, len(state.nodes)).tolist()
    caps_all = state._cap.tolist()
    count = 0
    outside = 0
    worst = 0.0
    for members in active_classes(state):
        index = members.tolist()
        total_used = sum(used_all[i] for i in index)
        total_cap = sum(caps_all[i] for i in index)
        for i in index:
            gap = abs(used_all[i] * total_cap - total_used * caps_all[i])
            count += 1
            if BPS * gap > state.theta_bps * caps_all[i] * total_cap:
                outside += 1
            worst = max(worst, BPS * gap / (caps_all[i] * total_cap))
    return BandReport(nodes=count, outside=outside, max_deviation_bps=worst)
