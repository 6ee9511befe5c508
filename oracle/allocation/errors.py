"""The allocation error family, rooted in :class:`~oracle.errors.OracleError`; every error names
the field and the value it is about."""

from __future__ import annotations

from oracle.errors import OracleError


class AllocationError(OracleError):
    """Malformed allocation input, or a problem a solver path cannot take; names field and value."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class InvalidValue(AllocationError):
    """A field has the wrong type or is out of range (negative units, price beyond uint256 ...)."""


class DuplicateId(AllocationError):
    """Two nodes, two tasks or two surcharges share an id (or a task/node pair)."""


class UnknownClass(AllocationError):
    """A node or task names a resource class that is not in the snapshot's ``classes``."""


class UnknownReference(AllocationError):
    """A surcharge (or a result entry) names a task or node that is not in the snapshot."""


class MalformedSnapshot(AllocationError):
    """The JSON document does not follow the schema (not JSON, missing or unknown key ...)."""


class PathNotApplicable(AllocationError):
    """The requested solver path cannot solve this snapshot (structured path with surcharges)."""


class CostOverflow(AllocationError):
    """Costs, even after exact rescaling, exceed what the solver's number type holds."""


class UnitsOverflow(AllocationError):
    """Sums of units exceed what the solver's number type holds."""


class SolverFailed(AllocationError):
    """A solver returned no optimal integral answer (time limit, numerical trouble)."""
