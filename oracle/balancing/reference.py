"""The seed's rule (:func:`reference_redistribute`), for the benchmark and the tests.

A reconstruction from the issue's description (the seed's code is not available): loads are
fractional numbers; for each node above ``L̄ + θ`` it scans all nodes and moves load to each node
below ``L̄ − θ`` until the overloaded node reaches ``L̄`` (each transfer is ``min(L_i − L̄, L̄ −
L_j)``). Where the two differ:

* the seed moves fractional load, the balancer whole assignments (units of real tasks);
* the seed pushes nodes to ``L̄`` and moves more load than needed; the balancer aims at the
  band edge ``L̄ ± θ`` (whole assignments overshoot it by part of one assignment, so with coarse
  assignments the load moved is only a few percent below the seed's; the benchmark measures
  both);
* the seed never uses nodes inside the band, so an overloaded node whose excess exceeds the room
  of the underloaded nodes stays outside θ; the balancer also places load on in-band nodes (up
  to ``hi``) and takes load from them (down to ``lo``);
* the seed ignores capacity and classes; the balancer works per class within capacity;
* the seed is quadratic (it rescans all nodes for every overloaded node).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceResult:
    loads: tuple[float, ...]
    moved: float
    """Total load transferred."""


def reference_redistribute(loads: Sequence[float], theta: float) -> ReferenceResult:
    """The seed's ``redistribute_load``, reconstructed from the issue's description.

    Fractional loads, one class, no capacities: ``avg`` is the mean; for each node above
    ``avg + theta`` (in index order) scan every node and, for each one below ``avg − theta``,
    transfer ``min(L_i − avg, avg − L_j)`` until node i reaches ``avg``. Quadratic; nodes inside
    the band are never used. Kept for the benchmark and for tests that document where the
    balancer differs (module docstring).
    """
    current = [float(x) for x in loads]
    n = len(current)
    if n == 0:
        return ReferenceResult(loads=(), moved=0.0)
    avg = sum(current) / n
    moved = 0.0
    for i in range(n):
        if current[i] > avg + theta:
            for j in range(n):
                if current[j] < avg - theta:
                    transfer = min(current[i] - avg, avg - current[j])
                    current[i] -= transfer
                    current[j] += transfer
                    moved += transfer
                    if current[i] <= avg:
                        break
    return ReferenceResult(loads=tuple(current), moved=moved)
