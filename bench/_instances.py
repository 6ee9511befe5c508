"""Load-balancing instances shared by the benchmark and the tests (same seed, same instance)."""

from __future__ import annotations

import random

from oracle.balancing import Assignment, LoadNode, LoadState


def uniform_load_state(n: int, seed: int, piece_max: int = 30) -> LoadState:
    """Nodes of 100 units with loads uniform in 0..100 units, made of pieces of 1..piece_max
    units; θ = 10 %."""
    rng = random.Random(seed)
    nodes = []
    assignments = []
    for i in range(n):
        nodes.append(LoadNode(i, "GPU", 100))
        left = rng.randint(0, 100)
        while left > 0:
            units = min(left, rng.randint(1, piece_max))
            assignments.append(Assignment(len(assignments), len(assignments), i, units))
            left -= units
    return LoadState(nodes=tuple(nodes), assignments=tuple(assignments), theta_bps=1_000)
