"""Stand-ins for hardware these machines do not have (house rule: fakes only for hardware): an
NVML module with nvidia-ml-py's function names and error classes, and a RAPL powercap tree."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class NVMLError(Exception):
    """nvidia-ml-py's base error; subclasses below as pynvml names them."""

    def __init__(self, value: int = 999) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return f"{type(self).__name__.removeprefix('NVMLError_')} ({self.value})"


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


@dataclass
class FakeGpu:
    energy_mj: int | None  # None: the board has no energy counter (NotSupported)
    power_mw: int
    lost: bool = False


@dataclass
class FakeNvml:
    """The subset of pynvml the agent calls, over a list of fake GPUs."""

    gpus: list[FakeGpu] = field(default_factory=list)
    library_missing: bool = False
    inits: int = 0
    init_calls: int = 0  # also the ones that failed

    NVMLError = NVMLError
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_GpuIsLost = NVMLError_GpuIsLost

    def nvmlInit(self) -> None:
        self.init_calls += 1
        if self.library_missing:
            raise NVMLError_LibraryNotFound(12)
        self.inits += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: FakeGpu) -> int:
        if gpu.lost:
            raise NVMLError_GpuIsLost(15)
        if gpu.energy_mj is None:
            raise NVMLError_NotSupported(3)
        return gpu.energy_mj

    def nvmlDeviceGetPowerUsage(self, gpu: FakeGpu) -> int:
        if gpu.lost:
            raise NVMLError_GpuIsLost(15)
        return gpu.power_mw


def rapl_tree(root: Path, *, packages: dict[int, tuple[int, int]]) -> Path:
    """A powercap tree as Linux lays it out: intel-rapl:N package domains (energy_uj,
    max_energy_range_uj), a core child intel-rapl:N:0 (also listed at the top level, as the
    kernel's symlinks are), a psys domain, an intel-rapl-mmio duplicate of package 0.
    `packages` maps N -> (energy_uj, max_energy_range_uj)."""
    root.mkdir(parents=True, exist_ok=True)

    def domain(path: Path, name: str, energy: int, max_range: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "name").write_text(name + "\n")
        (path / "energy_uj").write_text(f"{energy}\n")
        (path / "max_energy_range_uj").write_text(f"{max_range}\n")

    for index, (energy, max_range) in packages.items():
        package = root / f"intel-rapl:{index}"
        domain(package, f"package-{index}", energy, max_range)
        domain(package / f"intel-rapl:{index}:0", "core", energy // 2, max_range)
        os.symlink(package / f"intel-rapl:{index}:0", root / f"intel-rapl:{index}:0")
    domain(root / f"intel-rapl:{len(packages)}", "psys", 10**9, 2**40)
    domain(root / "intel-rapl-mmio:0", "package-0", 5 * 10**8, 2**40)
    return root


def set_energy(root: Path, domain: str, energy_uj: int) -> None:
    """Sets a counter the way the kernel shows it: a read sees the old value or the new one,
    never a half-written file (write_text truncates first, and an agent reading in between saw
    an empty counter, took RAPL for broken and fell back to the estimate)."""
    target = root / domain / "energy_uj"
    scratch = target.with_name(f".energy_uj.{os.getpid()}.tmp")
    scratch.write_text(f"{energy_uj}\n")
    os.replace(scratch, target)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
