"""Liveness: a process is healthy while its main cycle keeps completing. `/healthz` answers 503
when no cycle completed within the timeout (a stuck loop, a dead RPC that retries for ever),
so an orchestrator restarts the process (lido-oracle's pulse, made explicit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Health:
    """Pulses from the main loop; `check()` says whether the last one is recent enough."""

    timeout: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    _last: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def pulse(self, **details: Any) -> None:
        """The main cycle completed (details: what the health page shows, e.g. the cursor)."""
        with self._lock:
            self._last = self.clock()
            self.details.update(details)

    def check(self) -> tuple[bool, dict[str, Any]]:
        with self._lock:
            now = self.clock()
            since = None if self._last is None else now - self._last
            # a process gets one timeout to complete its first cycle
            healthy = (
                (now - self.started <= self.timeout) if since is None else since <= self.timeout
            )
            body = {
                "healthy": healthy,
                "seconds_since_last_cycle": None if since is None else round(since, 3),
                "timeout_seconds": self.timeout,
                **self.details,
            }
        return healthy, body
