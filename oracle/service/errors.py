"""Errors of the committee member process."""

from __future__ import annotations

from oracle.errors import OracleError


class ServiceError(OracleError):
    """The member cannot start or go on (a setting, a committee it is not in, ...)."""


class RejectedMessage(OracleError):
    """A peer message that is not accepted; `reason` labels the metric, `status` the HTTP reply."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
