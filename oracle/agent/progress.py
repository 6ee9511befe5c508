"""What the agent tells its operator while it runs: one line per event (start, heartbeat,
assignment, step, checkpoint, completion, earnings). The CLI prints them; tests and other
callers may collect them. Every line is also logged with its fields."""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger("oracle.agent")
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class Progress(Protocol):
    def show(self, kind: str, text: str) -> None:
        """One line of progress of `kind` (node, telemetry, heartbeat, assignment, step,
        checkpoint, completed, earnings, stop, problem)."""
        ...


class Silent:
    def show(self, kind: str, text: str) -> None:
        return None


def report(progress: Progress, kind: str, text: str, **fields: Any) -> None:
    level = logging.WARNING if kind == "problem" else logging.INFO
    extra = {(f"{k}_" if k in _RESERVED else k): v for k, v in fields.items()}
    log.log(level, text, extra={"event": kind, **extra})
    progress.show(kind, text)
