"""The fallback: power = CPU load x the TDP the contributor declared. Never fails, and every
reading from it is flagged as estimated."""

from __future__ import annotations

import time
from collections.abc import Callable

from oracle.agent.telemetry.reading import PowerSample


class EstimateSource:
    name = "estimate"
    measured = False
    has_counter = False

    def __init__(self, tdp_watts: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.tdp_watts = tdp_watts
        self._clock = clock
        self._last = 0.0

    def probe(self) -> None:
        self._last = self._clock()

    def sample(self, load: float) -> PowerSample:
        now = self._clock()
        elapsed = max(now - self._last, 0.0)
        self._last = now
        watts = max(0.0, min(1.0, load)) * self.tdp_watts
        return PowerSample(watts, watts * elapsed)
