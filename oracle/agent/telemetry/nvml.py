"""GPU power from NVML (`nvidia-ml-py`, module `pynvml`).

Per device, the total energy counter (`nvmlDeviceGetTotalEnergyConsumption`, millijoules since
the driver loaded, Volta and later) is preferred: its deltas are exact energy. A counter that goes
down means the driver reloaded: the interval counts what the counter shows since that reset.
Boards without the counter report `nvmlDeviceGetPowerUsage` (milliwatts; a one-second average on
Ampere and later) and the interval's energy is that power times the elapsed time. Any NVML error
(no library, no driver, no GPU, a GPU that fell off the bus) is TelemetryUnavailable, so the
agent falls back to the next source instead of crashing.

The module is injectable: tests pass a fake object with the same functions and error classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oracle.agent.telemetry.reading import PowerSample, TelemetryUnavailable


@dataclass
class _Device:
    index: int
    handle: Any
    counter: bool  # True: energy counter; False: power readings
    last_mj: int = 0


def _load_pynvml() -> Any:
    try:
        import pynvml  # type: ignore[import-untyped]
    except ImportError as exc:  # not installed
        raise TelemetryUnavailable(f"nvidia-ml-py is not installed ({exc})") from None
    return pynvml


class NvmlSource:
    name = "nvml"
    measured = True

    def __init__(self, nvml: Any | None = None, clock: Callable[[], float] = time.monotonic):
        self._nvml = nvml
        self._clock = clock
        self._devices: list[_Device] = []
        self._last = 0.0

    @property
    def has_counter(self) -> bool:
        """True when every GPU in use has the total energy counter (a board with power
        readings only makes the node's energy power x time: not sent as a counter)."""
        return bool(self._devices) and all(d.counter for d in self._devices)

    @property
    def devices(self) -> list[tuple[int, str]]:
        """(index, "energy counter" | "power") of each GPU in use."""
        return [(d.index, "energy counter" if d.counter else "power") for d in self._devices]

    def probe(self) -> None:
        nvml = self._nvml if self._nvml is not None else _load_pynvml()
        self._nvml = nvml
        try:
            nvml.nvmlInit()
            count = int(nvml.nvmlDeviceGetCount())
            if count == 0:
                raise TelemetryUnavailable("NVML sees no GPU")
            devices = []
            for index in range(count):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                try:
                    energy = int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
                    devices.append(_Device(index, handle, True, energy))
                except nvml.NVMLError_NotSupported:
                    nvml.nvmlDeviceGetPowerUsage(handle)  # must work, or the GPU is unusable
                    devices.append(_Device(index, handle, False))
        except nvml.NVMLError as exc:
            raise TelemetryUnavailable(f"NVML: {exc}") from None
        self._devices = devices
        self._last = self._clock()

    def sample(self, load: float) -> PowerSample:
        nvml: Any = self._nvml
        now = self._clock()
        elapsed = max(now - self._last, 1e-6)
        joules = 0.0
        watts = 0.0
        try:
            for device in self._devices:
                if device.counter:
                    energy = int(nvml.nvmlDeviceGetTotalEnergyConsumption(device.handle))
                    # a decrease is a driver reload: the counter restarted from zero
                    delta_mj = energy - device.last_mj if energy >= device.last_mj else energy
                    device.last_mj = energy
                    joules += delta_mj / 1000
                    watts += delta_mj / 1000 / elapsed
                else:
                    power = int(nvml.nvmlDeviceGetPowerUsage(device.handle)) / 1000
                    watts += power
                    joules += power * elapsed
        except nvml.NVMLError as exc:
            raise TelemetryUnavailable(f"NVML GPU {device.index}: {exc}") from None
        self._last = now
        return PowerSample(watts, joules)
