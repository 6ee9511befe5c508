"""The solver-path choice and :func:`allocate`, the entry point the oracle calls."""

from __future__ import annotations

from typing import Literal

from oracle.allocation.errors import InvalidValue, PathNotApplicable
from oracle.allocation.lp import allocate_lp
from oracle.allocation.mcf import allocate_mcf
from oracle.allocation.result import Allocation
from oracle.allocation.snapshot import Snapshot
from oracle.allocation.structured import allocate_structured

Path = Literal["structured", "mcf", "lp"]
PATHS: tuple[Path, ...] = ("structured", "mcf", "lp")


def allocate(
    snapshot: Snapshot, path: Path | None = None, *, lp_time_limit: float | None = None
) -> Allocation:
    """Allocate the snapshot's tasks (see the package docstring for the problem and the rule).

    ``path`` defaults to ``structured``, or ``mcf`` when the snapshot has surcharges.
    ``lp_time_limit`` (seconds) bounds the HiGHS run of the ``lp`` path (audit use only).
    """
    if path is None:
        path = "mcf" if snapshot.surcharges else "structured"
    if path == "structured":
        if snapshot.surcharges:
            raise PathNotApplicable(
                "path",
                path,
                "the snapshot has pair surcharges; costs are not the node price alone "
                "(use path 'mcf' or 'lp')",
            )
        return allocate_structured(snapshot)
    if path == "mcf":
        return allocate_mcf(snapshot)
    if path == "lp":
        return allocate_lp(snapshot, lp_time_limit)
    raise InvalidValue("path", path, f"expected one of {PATHS}")
