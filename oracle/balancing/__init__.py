"""Load balancing: move whole assignments so every node's load is within θ of the class mean.

Model
    A node has a ``capacity`` in whole units of its resource class; an assignment is a task's
    ``units`` running on one node. A node's load is ``used / capacity`` (``used`` = the units of
    the assignments it runs) and the class mean is the capacity-weighted ``L̄ = Σ used / Σ
    capacity`` over the class's active nodes, which moves never change. The seed's rule acts when
    ``|L_i − L̄| > θ``; θ is given in basis points of load (``theta_bps``, 0..10000). Only
    ``active`` nodes take part (as sources or targets); the assignments of other nodes are left to
    failure handling (reassignment).

Band and window (:mod:`~oracle.balancing.band`)
    Node i's window ``[lo_i, hi_i]`` is the whole numbers of units that keep it within θ of the
    mean, or the one whole number nearest to ``L̄ cap_i`` when there is none. Moving a node
    strictly closer to its window never increases its deviation ``|L_i − L̄|``.

Balancer (:func:`balance`), per class, deterministic, O((n + A) log(n + A)) on numpy arrays
    Each phase runs only while some node is outside its window; each module documents its rule.

    1. *Shed* (:mod:`~oracle.balancing.shed`): each overloaded node picks what to shed so that
       it lands inside its window; the picked assignments are placed in matching rounds on the
       underloaded nodes, then on any node with room.
    2. *Fill* (:mod:`~oracle.balancing.fill`): nodes still underloaded take assignments that
       in-window nodes can spare, in best-fit rounds, then largest-spare rounds.
    3. *Leftovers* (the sequential passes at the end of ``shed`` and ``fill``): the same rules
       one assignment at a time, with heaps.
    4. *Swaps* (:mod:`~oracle.balancing.swap`): a node still outside its window swaps one of
       its assignments with one of a partner node so that both end inside their windows.
    5. *Exact, small classes* (:mod:`~oracle.balancing.exact`): a breadth-first search for the
       fewest moves, within a budget of states (not seconds, so every member agrees).

    Guarantees: capacity is respected after every move (apply the moves in order); a node in
    its window stays in it; no node ends further from its window than it started, so the
    maximum deviation never increases. Fewest moves is NP-hard in general (bin packing), so
    phases 1-4 are a heuristic: ``bench/allocation.py`` measures their move count against the
    exact minimum from OR-tools CP-SAT on small instances.

The seed's rule (:func:`reference_redistribute`, :mod:`~oracle.balancing.reference`)
    A reconstruction of the seed's fractional, quadratic ``redistribute_load``, kept for the
    benchmark and for the tests that document where the balancer differs.

Layout (the public API is what this package exports; its modules are implementation)
    ``errors`` the error family; ``state`` nodes, assignments, the validated state; ``moves``
    a move and applying moves; ``band`` windows and the band report; ``arrays`` vectorised
    helpers; ``class_work`` one class being balanced; ``shed``, ``fill``, ``swap``, ``exact``
    the phases; ``balancer`` :func:`balance`; ``reference`` the seed's rule. Nothing here
    imports chain or I/O code.
"""

from __future__ import annotations

from oracle.balancing.balancer import DEFAULT_EXACT_BUDGET, balance
from oracle.balancing.band import BandReport, band_report, band_windows
from oracle.balancing.errors import (
    BalancingError,
    DuplicateLoadId,
    InvalidLoadValue,
    InvalidMove,
    OverCapacity,
    UnknownLoadReference,
)
from oracle.balancing.moves import Move, apply_moves
from oracle.balancing.reference import ReferenceResult, reference_redistribute
from oracle.balancing.state import BPS as BPS
from oracle.balancing.state import Assignment, LoadNode, LoadState
from oracle.balancing.state import BoolArray as BoolArray
from oracle.balancing.state import IntArray as IntArray

# The public API. The `X as X` imports above also keep BPS, IntArray and BoolArray
# importable from here, as they were from the single-file module.
__all__ = [
    "DEFAULT_EXACT_BUDGET",
    "Assignment",
    "BalancingError",
    "BandReport",
    "DuplicateLoadId",
    "InvalidLoadValue",
    "InvalidMove",
    "LoadNode",
    "LoadState",
    "Move",
    "OverCapacity",
    "ReferenceResult",
    "UnknownLoadReference",
    "apply_moves",
    "balance",
    "band_report",
    "band_windows",
    "reference_redistribute",
]
