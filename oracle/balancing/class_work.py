"""One class being balanced: its arrays, the loads as moves are recorded, the moves so far.

The phase modules (shed, fill, swap, exact) read and update one :class:`ClassWork` in turn;
every move goes through :meth:`ClassWork.record`, which keeps ``used``, ``moved`` and ``plan``
consistent.
"""

from __future__ import annotations

import numpy as np

from oracle.balancing.arrays import stable_order
from oracle.balancing.state import IntArray

MAX_ROUNDS = 16
"""Matching rounds per phase before the sequential pass takes what is left."""


class ClassWork:
    """One class: arrays indexed by local node position (ascending id) and piece index
    (ascending assignment id); ``plan`` holds the recorded moves as (pieces, sources, targets)
    batches, in order."""

    def __init__(
        self,
        cap: IntArray,
        used: IntArray,
        lo: IntArray,
        hi: IntArray,
        p_node: IntArray,
        p_units: IntArray,
    ) -> None:
        self.n = int(cap.size)
        self.cap = cap
        self.used = used
        self.start_used = used.copy()
        self.lo = lo
        self.hi = hi
        self.p_node = p_node
        self.p_units = p_units
        # Pieces per node, largest first (ties: lower assignment id); a run read backwards is
        # the node's pieces smallest first (ties: higher assignment id).
        self.descending = stable_order(p_node, -p_units)
        self.desc_node = p_node[self.descending]
        self.desc_units = p_units[self.descending]
        self.start_desc = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(p_node, minlength=self.n), out=self.start_desc[1:])
        self.moved = np.zeros(p_units.size, dtype=bool)
        self.source = used > hi
        self.plan: list[tuple[IntArray, IntArray, IntArray]] = []

    def record(self, pieces: IntArray, targets: IntArray) -> None:
        """Move ``pieces`` to ``targets`` (local positions): loads, moved flags and plan."""
        sources = self.p_node[pieces]
        units = self.p_units[pieces]
        if pieces.size <= 64:
            np.subtract.at(self.used, sources, units)
            np.add.at(self.used, targets, units)
        else:
            self.used -= np.bincount(sources, weights=units, minlength=self.n).astype(np.int64)
            self.used += np.bincount(targets, weights=units, minlength=self.n).astype(np.int64)
        self.moved[pieces] = True
        self.plan.append((pieces, sources, targets))

    def outside(self) -> bool:
        """Whether some node is still outside its window (the next phase has work)."""
        return bool(np.any((self.used < self.lo) | (self.used > self.hi)))

    def commit(self, pieces: list[int], targets: list[int]) -> None:
        """Record what a sequential pass chose (Python lists), if anything."""
        if pieces:
            self.record(np.asarray(pieces, dtype=np.int64), np.asarray(targets, dtype=np.int64))
