"""The values one heartbeat reports, and what a power source hands back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from oracle.agent.errors import AgentError

MAX_LOAD_BPS = 10_000
MAX_WATTS = 2**24 - 1  # the registry's telemetry field (uint24 in HeartbeatRecorded)


class TelemetryUnavailable(AgentError):
    """A source cannot measure here (no library, no device, no permission, a device error)."""


@dataclass(frozen=True, slots=True)
class PowerSample:
    """Power over the interval since the previous sample of the same source."""

    watts: float
    joules: float  # energy of that interval (measured counter delta, or watts x seconds)


@dataclass(frozen=True, slots=True)
class Reading:
    """One heartbeat's telemetry.

    `energy_j` is the node's own monotonic energy counter in joules (kept across restarts), set
    only while the power comes from a source with an energy counter (NVML total energy, RAPL
    energy_uj): those readings go on chain as measured, with the counter; `source` names where
    the watts came from."""

    load_bps: int
    watts: int
    energy_j: int | None
    source: str  # "nvml" | "rapl" | "estimate"
    measured: bool

    @property
    def flag(self) -> str:
        return "measured" if self.measured else "estimated"

    def describe(self) -> str:
        return f"load {self.load_bps / 100:.1f}%  {self.watts} W ({self.source}, {self.flag})"


class PowerSource(Protocol):
    """A way to know the machine's power draw."""

    name: str
    measured: bool

    @property
    def has_counter(self) -> bool:
        """True when the source reads a hardware energy counter (its joules are exact deltas,
        not power x time): only then does the agent send its energy counter on chain."""
        ...

    def probe(self) -> None:
        """Prepares the source; TelemetryUnavailable when it cannot work on this machine."""
        ...

    def sample(self, load: float) -> PowerSample:
        """Power since the previous sample (`load` is the CPU load fraction, 0..1, for sources
        that estimate); TelemetryUnavailable when the source stopped working."""
        ...


def clamp_watts(watts: float) -> int:
    return max(0, min(MAX_WATTS, round(watts)))


def clamp_load(fraction: float) -> int:
    return max(0, min(MAX_LOAD_BPS, round(fraction * MAX_LOAD_BPS)))
