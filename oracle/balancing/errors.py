"""The balancing error family, rooted in :class:`~oracle.errors.OracleError`; every error names
the field and the value it is about."""

from __future__ import annotations

from oracle.errors import OracleError


class BalancingError(OracleError):
    """Malformed balancing input or an invalid move; names the field and the value."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class InvalidLoadValue(BalancingError):
    """A field has the wrong type or is out of range (negative units, θ above 10000 ...)."""


class DuplicateLoadId(BalancingError):
    """Two nodes or two assignments share an id."""


class UnknownLoadReference(BalancingError):
    """An assignment names a node that is not in the state."""


class OverCapacity(BalancingError):
    """A node's assignments add up to more than its capacity."""


class InvalidMove(BalancingError):
    """A move does not apply to the state (wrong source, other class, no room ...)."""
