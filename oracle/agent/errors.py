"""Errors of the node agent, each naming what was wrong and what to do."""

from __future__ import annotations

from oracle.errors import OracleError


class AgentError(OracleError):
    """The agent cannot start or go on; the message says why."""


class SpecError(AgentError):
    """A task's spec cannot be fetched or is not one this agent can run."""


class ResumeRefused(AgentError):
    """The checkpoint an assignment should resume from cannot be trusted (wrong bytes, wrong
    step): the agent refuses to build on it and reports it."""
