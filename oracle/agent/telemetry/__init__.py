"""What a node measures about itself: load from psutil, power from NVML, RAPL or an estimate.

Each heartbeat carries one `Reading` (load in basis points, watts, the measured energy counter
when there is one, and whether the power was measured or estimated). `Telemetry` tries its
power sources in order and falls back to the next with one log line when one is missing or
fails, so telemetry never stops the agent; the estimate (load x declared TDP) cannot fail and is
always flagged as estimated."""

from oracle.agent.telemetry.reading import PowerSample, Reading, TelemetryUnavailable
from oracle.agent.telemetry.sources import Telemetry, build_telemetry

__all__ = ["PowerSample", "Reading", "Telemetry", "TelemetryUnavailable", "build_telemetry"]
