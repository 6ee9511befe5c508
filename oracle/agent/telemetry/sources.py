"""The order of the power sources and the fall-back between them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from oracle.agent.telemetry.estimate import EstimateSource
from oracle.agent.telemetry.nvml import NvmlSource
from oracle.agent.telemetry.rapl import RaplSource
from oracle.agent.telemetry.reading import (
    PowerSource,
    Reading,
    TelemetryUnavailable,
    clamp_load,
    clamp_watts,
)

log = logging.getLogger("oracle.agent.telemetry")

RETRY_PREFERRED_S = 300.0  # a given-up source is probed again this often (seconds)

Switch = Callable[[str, str, str], None]
"""on_switch(from_source, to_source, reason)."""


def cpu_load() -> float:
    """CPU load since the previous call, 0..1 (psutil; the first call primes the counter)."""
    return float(psutil.cpu_percent(interval=None)) / 100


class Telemetry:
    """Reads load and power; uses the first source that works and falls back, one log line per
    change, to the next when it stops working. The last source must never fail (the estimate).

    The measured-energy counter (joules) only grows, starts from `energy_base_j` (what the
    previous run of the agent had counted, so it stays monotonic across restarts, also after a
    reboot reset the hardware counters: only their deltas are added) and only counts intervals
    read from a hardware energy counter (`has_counter`).

    A source given up is tried again every `retry_preferred_s` (one probe, under the lock):
    a GPU reset or a driver reload must not leave a node on the estimate for the rest of a
    months-long run. The counter only ever adds deltas read by one source since its probe, so
    the gap while it was down is never credited as measured."""

    def __init__(
        self,
        sources: Sequence[PowerSource],
        *,
        load: Callable[[], float] = cpu_load,
        energy_base_j: float = 0.0,
        on_switch: Switch | None = None,
        retry_preferred_s: float = RETRY_PREFERRED_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not sources or sources[-1].measured:
            raise ValueError("the last telemetry source must be the estimate (never fails)")
        self._sources = list(sources)
        self._load = load
        self._energy_j = float(energy_base_j)
        self._on_switch = on_switch
        self._active = -1
        self._retry_preferred_s = retry_preferred_s
        self._clock = clock
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self.switches: list[tuple[str, str, str]] = []  # (from, to, reason), for status output
        self.last_joules = 0.0  # energy of the last interval read (any source)

    @property
    def source(self) -> PowerSource:
        return self._sources[self._active]

    @property
    def energy_j(self) -> float:
        return self._energy_j

    def adopt(self, counter_j: float) -> bool:
        """Raises the counter to `counter_j` if it is below (the chain already holds a larger
        counter of this node: the local state was lost or lagged); True if it moved."""
        with self._lock:
            if counter_j <= self._energy_j:
                return False
            self._energy_j = float(counter_j)
            return True

    def start(self) -> PowerSource:
        """Probes the sources in order; returns the one in use."""
        self._load()  # psutil's first reading is meaningless: prime it
        self._activate(0)
        self._retry_at = self._clock() + self._retry_preferred_s
        return self.source

    def read(self) -> Reading:
        with self._lock:
            if self._active < 0:
                self.start()
            load = max(0.0, min(1.0, self._load()))
            if self._active > 0 and self._clock() >= self._retry_at:
                self._retry_preferred()
            while True:
                source = self.source
                try:
                    sample = source.sample(load)
                    break
                except TelemetryUnavailable as exc:
                    self._fall_back(str(exc))
            self.last_joules = max(0.0, sample.joules)
            counter = source.measured and source.has_counter
            if counter:
                self._energy_j += self.last_joules
            return Reading(
                load_bps=clamp_load(load),
                watts=clamp_watts(sample.watts),
                energy_j=int(self._energy_j) if counter else None,
                source=source.name,
                measured=source.measured,
            )

    def _activate(self, start: int) -> None:
        for index in range(start, len(self._sources)):
            candidate = self._sources[index]
            try:
                candidate.probe()
            except TelemetryUnavailable as exc:
                following = self._sources[index + 1].name
                self._record(candidate.name, following, str(exc))
                continue
            self._active = index
            return
        raise AssertionError("the estimate source cannot fail")  # pragma: no cover

    def _retry_preferred(self) -> None:
        """Probes the sources before the active one, in order; switches to the first that
        works (its first sample then counts from this probe, nothing of the gap)."""
        current = self.source.name
        for index in range(self._active):
            candidate = self._sources[index]
            try:
                candidate.probe()
            except TelemetryUnavailable:
                continue
            self._active = index
            log.warning(
                "telemetry: %s works again; using it instead of %s",
                candidate.name,
                current,
                extra={"source": candidate.name, "instead_of": current},
            )
            self.switches.append((current, candidate.name, f"{candidate.name} works again"))
            return
        self._retry_at = self._clock() + self._retry_preferred_s

    def _fall_back(self, reason: str) -> None:
        failed = self.source.name
        following = self._sources[self._active + 1].name
        self._record(failed, following, reason)
        self._activate(self._active + 1)
        self._retry_at = self._clock() + self._retry_preferred_s

    def _record(self, failed: str, following: str, reason: str) -> None:
        log.warning(
            "telemetry: %s unavailable (%s); using %s",
            failed,
            reason,
            following,
            extra={"source": failed, "fallback": following},
        )
        self.switches.append((failed, following, reason))
        if self._on_switch is not None:
            self._on_switch(failed, following, reason)


def build_telemetry(
    mode: str,
    *,
    tdp_watts: int,
    rapl_root: Path,
    nvml: Any | None = None,
    load: Callable[[], float] = cpu_load,
    energy_base_j: float = 0.0,
    on_switch: Switch | None = None,
) -> Telemetry:
    """The source order for a `telemetry` setting: auto = NVML, RAPL, estimate."""
    estimate = EstimateSource(tdp_watts)
    sources: list[PowerSource]
    if mode == "estimate":
        sources = [estimate]
    elif mode == "nvml":
        sources = [NvmlSource(nvml), estimate]
    elif mode == "rapl":
        sources = [RaplSource(rapl_root), estimate]
    elif mode == "auto":
        sources = [NvmlSource(nvml), RaplSource(rapl_root), estimate]
    else:
        raise ValueError(f"telemetry: unknown source {mode!r} (auto, nvml, rapl, estimate)")
    return Telemetry(sources, load=load, energy_base_j=energy_base_j, on_switch=on_switch)
