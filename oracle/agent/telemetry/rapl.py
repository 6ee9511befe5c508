"""CPU package power from RAPL powercap counters (`/sys/class/powercap`).

Only package domains count: `intel-rapl:N` whose `name` is `package-N`. Their children
(`intel-rapl:N:M`: core, uncore, dram) are parts of the package and would count twice; `psys`
(the whole platform, where it exists) overlaps the packages; `intel-rapl-mmio:N` is the same
package seen through MMIO. `energy_uj` is microjoules and wraps to 0 after
`max_energy_range_uj`. Since Linux 5.10 (CVE-2020-8694) `energy_uj` is readable by root only:
an unreadable counter is TelemetryUnavailable and the agent falls back to the estimate.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oracle.agent.telemetry.reading import PowerSample, TelemetryUnavailable

PACKAGE_DOMAIN = re.compile(r"intel-rapl:\d+")


@dataclass
class _Domain:
    path: Path
    name: str
    max_range_uj: int
    last_uj: int


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except PermissionError:
        raise TelemetryUnavailable(
            f"RAPL: {path} is not readable by this user (root only since Linux 5.10); "
            "run the agent as root or grant read access to use measured CPU power"
        ) from None
    except (OSError, ValueError) as exc:
        raise TelemetryUnavailable(f"RAPL: cannot read {path}: {exc}") from None


def wrapped_delta(previous: int, current: int, max_range: int) -> int:
    """Microjoules between two readings of a counter that wraps to 0 after `max_range`."""
    if current >= previous:
        return current - previous
    return current + max_range - previous


MIN_POWER_WINDOW_S = 1.0


class RaplSource:
    name = "rapl"
    measured = True
    has_counter = True  # energy_uj

    def __init__(
        self, root: Path = Path("/sys/class/powercap"), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.root = root
        self._clock = clock
        self._domains: list[_Domain] = []
        # Power is the energy over a window of at least MIN_POWER_WINDOW_S: a heartbeat right
        # after a start sees microseconds of counter, where one update of it (RAPL counts in
        # steps) would read as kilowatts and throttle the node on the chain.
        self._window_start = 0.0
        self._window_uj = 0
        self._watts = 0.0

    @property
    def domains(self) -> list[str]:
        return [f"{d.path.name} ({d.name})" for d in self._domains]

    def probe(self) -> None:
        if not self.root.is_dir():
            raise TelemetryUnavailable(f"RAPL: no powercap folder {self.root}")
        domains = []
        for path in sorted(self.root.iterdir(), key=lambda p: p.name):
            if not PACKAGE_DOMAIN.fullmatch(path.name):
                continue  # children (intel-rapl:0:0), intel-rapl-mmio:*, the intel-rapl control
            try:
                name = (path / "name").read_text().strip()
            except OSError:
                continue
            if not name.startswith("package"):
                continue  # psys covers the packages and more: adding it would count twice
            max_range = _read_int(path / "max_energy_range_uj")
            domains.append(_Domain(path, name, max_range, _read_int(path / "energy_uj")))
        if not domains:
            raise TelemetryUnavailable(f"RAPL: no package domain under {self.root}")
        self._domains = domains
        self._window_start = self._clock()
        self._window_uj = 0

    def sample(self, load: float) -> PowerSample:
        """The counter's increase since the previous sample (exact, for the energy counter) and
        the power of the last window of at least MIN_POWER_WINDOW_S (0 W until the first)."""
        total_uj = 0
        for domain in self._domains:
            current = _read_int(domain.path / "energy_uj")
            total_uj += wrapped_delta(domain.last_uj, current, domain.max_range_uj)
            domain.last_uj = current
        now = self._clock()
        self._window_uj += total_uj
        elapsed = now - self._window_start
        if elapsed >= MIN_POWER_WINDOW_S:
            self._watts = self._window_uj / 1e6 / elapsed
            self._window_start, self._window_uj = now, 0
        return PowerSample(self._watts, total_uj / 1e6)
