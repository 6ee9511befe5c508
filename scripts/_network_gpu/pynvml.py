"""A simulated NVIDIA GPU for the local network's GPU nodes: these machines have no GPU, so the
agents of `make demo` and of the fault suite import this module as `pynvml` (it is first on
their PYTHONPATH) instead of nvidia-ml-py. It has the functions and error classes of
nvidia-ml-py that the agent calls (oracle/agent/telemetry/nvml.py); one board whose power draw,
in watts, is whatever the file named by $SIMULATED_GPU_WATTS_FILE holds when it is read, so the
demo can make a node draw more than its class allows. The board has no energy counter (like
pre-Volta boards): the agent integrates the power readings. House rule: fakes only for hardware
that does not exist here."""

from __future__ import annotations

import os
from pathlib import Path


class NVMLError(Exception):
    def __init__(self, value: int = 999) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return f"{type(self).__name__.removeprefix('NVMLError_')} ({self.value})"


class NVMLError_LibraryNotFound(NVMLError):  # nvidia-ml-py names its errors so
    pass


class NVMLError_NotSupported(NVMLError):
    pass


def _watts_file() -> Path:
    name = os.environ.get("SIMULATED_GPU_WATTS_FILE")
    if not name:
        raise NVMLError_LibraryNotFound(12)
    return Path(name)


def nvmlInit() -> None:
    _watts_file()


def nvmlDeviceGetCount() -> int:
    return 1


def nvmlDeviceGetHandleByIndex(index: int) -> int:
    return index


def nvmlDeviceGetTotalEnergyConsumption(handle: int) -> int:
    raise NVMLError_NotSupported(3)


def nvmlDeviceGetPowerUsage(handle: int) -> int:
    """Milliwatts, as NVML reports them."""
    try:
        return int(float(_watts_file().read_text().strip()) * 1000)
    except (OSError, ValueError):
        raise NVMLError(999) from None
