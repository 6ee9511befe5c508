"""Telemetry sources: NVML (fake module), RAPL (fake sysfs tree), the estimate, and the fall-back
from one to the next with one log line, never an exception."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from oracle.agent.telemetry import build_telemetry
from oracle.agent.telemetry.estimate import EstimateSource
from oracle.agent.telemetry.nvml import NvmlSource
from oracle.agent.telemetry.rapl import RaplSource, wrapped_delta
from oracle.agent.telemetry.sources import Telemetry
from tests.agent._fakes import Clock, FakeGpu, FakeNvml, rapl_tree, set_energy


def _telemetry(sources: list, load: float = 0.5, **options) -> Telemetry:  # type: ignore[type-arg]
    return Telemetry(sources, load=lambda: load, **options)


# ------------------------------------------------------------------ NVML
def test_nvml_energy_counter_gives_watts_from_deltas_and_counts_joules() -> None:
    clock = Clock()
    gpus = [FakeGpu(energy_mj=5_000_000, power_mw=1), FakeGpu(energy_mj=1_000, power_mw=1)]
    nvml = FakeNvml(gpus)
    telemetry = _telemetry([NvmlSource(nvml, clock), EstimateSource(300, clock)], energy_base_j=7)
    assert telemetry.start().name == "nvml"
    clock.advance(10)
    gpus[0].energy_mj += 2_500_000  # 2500 J in 10 s: 250 W
    gpus[1].energy_mj += 1_000_000  # 1000 J: 100 W
    reading = telemetry.read()
    assert (reading.source, reading.measured, reading.watts) == ("nvml", True, 350)
    assert reading.energy_j == 7 + 3500  # monotonic, from the previous run's base
    assert reading.load_bps == 5000


def test_nvml_counter_that_goes_down_is_a_driver_reset_not_negative_energy() -> None:
    clock = Clock()
    gpu = FakeGpu(energy_mj=9_000_000, power_mw=1)
    telemetry = _telemetry([NvmlSource(FakeNvml([gpu]), clock), EstimateSource(300, clock)])
    telemetry.start()
    clock.advance(10)
    gpu.energy_mj = 400_000  # the driver reloaded: 400 J since the reset
    reading = telemetry.read()
    assert reading.watts == 40 and reading.energy_j == 400


def test_nvml_board_without_counter_uses_power_readings() -> None:
    clock = Clock()
    gpu = FakeGpu(energy_mj=None, power_mw=212_400)
    source = NvmlSource(FakeNvml([gpu]), clock)
    telemetry = _telemetry([source, EstimateSource(300, clock)])
    telemetry.start()
    assert source.devices == [(0, "power")]
    clock.advance(4)
    reading = telemetry.read()
    # measured power, but no energy counter: nothing for the chain's counter (power x time)
    assert (reading.watts, reading.energy_j, reading.source) == (212, None, "nvml")
    assert (source.has_counter, reading.measured, telemetry.last_joules) == (False, True, 849.6)
    assert telemetry.energy_j == 0


def test_missing_nvml_library_degrades_to_the_next_source_with_one_log_line(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    clock = Clock()
    nvml = FakeNvml(library_missing=True)
    telemetry = _telemetry(
        [NvmlSource(nvml, clock), RaplSource(tmp_path / "none", clock), EstimateSource(200, clock)]
    )
    with caplog.at_level(logging.WARNING, logger="oracle.agent.telemetry"):
        assert telemetry.start().name == "estimate"
        reading = telemetry.read()
        telemetry.read()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines  # one for NVML, one for RAPL, none per reading
    assert "nvml unavailable (NVML: LibraryNotFound (12)); using rapl" in lines[0]
    assert "rapl unavailable" in lines[1] and lines[1].endswith("using estimate")
    assert (reading.source, reading.measured, reading.watts, reading.energy_j) == (
        "estimate",
        False,
        100,
        None,
    )


def test_gpu_that_errors_mid_run_degrades_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    gpu = FakeGpu(energy_mj=1_000_000, power_mw=1)
    telemetry = _telemetry([NvmlSource(FakeNvml([gpu]), clock), EstimateSource(400, clock)], 0.25)
    telemetry.start()
    clock.advance(5)
    gpu.energy_mj += 1_000_000
    assert telemetry.read().watts == 200
    gpu.lost = True
    clock.advance(5)
    with caplog.at_level(logging.WARNING, logger="oracle.agent.telemetry"):
        reading = telemetry.read()
        telemetry.read()
    assert (reading.source, reading.watts, reading.measured) == ("estimate", 100, False)
    assert len(caplog.records) == 1 and "GpuIsLost" in caplog.records[0].getMessage()
    assert telemetry.energy_j == 1000  # the estimate never adds to the measured counter


def test_a_source_given_up_is_probed_again_and_the_gap_is_not_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    gpu = FakeGpu(energy_mj=1_000_000, power_mw=1)
    telemetry = _telemetry(
        [NvmlSource(FakeNvml([gpu]), clock), EstimateSource(400, clock)],
        0.25,
        retry_preferred_s=300,
        clock=clock,
    )
    telemetry.start()
    clock.advance(10)
    gpu.energy_mj += 2_000_000  # 2000 J in 10 s
    assert telemetry.read().energy_j == 2000
    gpu.lost = True  # an Xid error: the GPU is gone until the driver is reloaded
    clock.advance(10)
    assert telemetry.read().source == "estimate"
    gpu.lost = False
    gpu.energy_mj += 50_000_000  # energy used while the agent could not read it
    clock.advance(299)  # not yet time to probe again
    assert telemetry.read().source == "estimate"
    clock.advance(1)
    with caplog.at_level(logging.WARNING, logger="oracle.agent.telemetry"):
        back = telemetry.read()
    assert (back.source, back.measured) == ("nvml", True)
    assert back.energy_j == 2000  # the gap is not credited: it counts from the new probe
    assert "nvml works again; using it instead of estimate" in caplog.text
    assert telemetry.switches[-1] == ("estimate", "nvml", "nvml works again")
    clock.advance(10)
    gpu.energy_mj += 3_000_000
    assert telemetry.read().energy_j == 5000


def test_a_source_still_broken_is_probed_once_per_retry_period() -> None:
    clock = Clock()
    nvml = FakeNvml([], library_missing=True)
    telemetry = _telemetry(
        [NvmlSource(nvml, clock), EstimateSource(400, clock)], retry_preferred_s=60, clock=clock
    )
    assert telemetry.start().name == "estimate"
    assert nvml.init_calls == 1
    switches = list(telemetry.switches)
    for _ in range(30):  # 30 readings 10 s apart: 300 s, one probe every 60 s
        clock.advance(10)
        assert telemetry.read().source == "estimate"
    assert nvml.init_calls == 1 + 5
    assert telemetry.switches == switches  # a failed re-probe logs nothing, switches nothing


def test_real_pynvml_without_a_driver_degrades() -> None:
    # nvidia-ml-py is installed here but there is no libnvidia-ml: the real module must degrade
    telemetry = build_telemetry("nvml", tdp_watts=100, rapl_root=Path("/nonexistent"))
    assert telemetry.start().name == "estimate"
    assert telemetry.switches[0][0] == "nvml"


# ------------------------------------------------------------------ RAPL
def test_rapl_counts_package_domains_only(tmp_path: Path) -> None:
    clock = Clock()
    root = rapl_tree(tmp_path / "powercap", packages={0: (1_000_000, 2**32), 1: (0, 2**32)})
    source = RaplSource(root, clock)
    telemetry = _telemetry([source, EstimateSource(300, clock)])
    assert telemetry.start().name == "rapl"
    # children (intel-rapl:0:0 core), psys and the mmio duplicate are left out
    assert source.domains == ["intel-rapl:0 (package-0)", "intel-rapl:1 (package-1)"]
    clock.advance(2)
    set_energy(root, "intel-rapl:0", 1_000_000 + 90_000_000)  # 90 J
    set_energy(root, "intel-rapl:1", 30_000_000)  # 30 J
    set_energy(root, "intel-rapl:2", 10**9 + 10**9)  # psys moved a lot: ignored
    set_energy(root, "intel-rapl:0/intel-rapl:0:0", 10**9)  # the core child: ignored
    reading = telemetry.read()
    assert (reading.source, reading.watts, reading.energy_j) == ("rapl", 60, 120)


def test_rapl_counter_wraps_at_max_energy_range(tmp_path: Path) -> None:
    clock = Clock()
    max_range = 262_143_328_850
    root = rapl_tree(tmp_path / "pc", packages={0: (max_range - 5_000_000, max_range)})
    telemetry = _telemetry([RaplSource(root, clock), EstimateSource(300, clock)])
    telemetry.start()
    clock.advance(1)
    set_energy(root, "intel-rapl:0", 15_000_000)  # wrapped: 5 J before the wrap + 15 J after
    reading = telemetry.read()
    assert (reading.watts, reading.energy_j) == (20, 20)
    assert wrapped_delta(10, 4, 100) == 94


def test_rapl_power_of_a_sub_second_window_is_not_read_as_kilowatts(tmp_path: Path) -> None:
    """A heartbeat right after a start sees a few microseconds of counter: one step of it (12 J
    here) must not read as 18 kW and throttle the node; the joules still count, exactly."""
    clock = Clock()
    root = rapl_tree(tmp_path / "pc", packages={0: (1_000_000, 2**32)})
    telemetry = _telemetry([RaplSource(root, clock), EstimateSource(300, clock)])
    telemetry.start()
    clock.advance(0.00065)
    set_energy(root, "intel-rapl:0", 1_000_000 + 12_000_000)
    first = telemetry.read()
    assert (first.watts, first.energy_j) == (0, 12)  # no window of a second yet: 0 W
    clock.advance(0.99935)
    set_energy(root, "intel-rapl:0", 1_000_000 + 240_000_000)
    second = telemetry.read()
    assert (second.watts, second.energy_j) == (240, 240)  # 240 J over the whole first second
    clock.advance(0.5)
    set_energy(root, "intel-rapl:0", 1_000_000 + 400_000_000)
    third = telemetry.read()
    assert (third.watts, third.energy_j) == (240, 400)  # the last full window's power


def test_rapl_unreadable_counter_degrades_to_the_estimate(tmp_path: Path) -> None:
    root = rapl_tree(tmp_path / "pc", packages={0: (1, 2**32)})
    (root / "intel-rapl:0" / "energy_uj").unlink()
    (root / "intel-rapl:0" / "energy_uj").mkdir()  # reading it fails with an OSError
    telemetry = _telemetry([RaplSource(root), EstimateSource(80)])
    assert telemetry.start().name == "estimate"
    assert "cannot read" in telemetry.switches[0][2]


def test_rapl_root_only_counter_degrades_for_an_unprivileged_user(tmp_path: Path) -> None:
    """Since Linux 5.10 energy_uj is mode 0400 root. A forked child that drops to uid 65534 reads
    the tree through the kernel's real permission checks and must fall back to the estimate with
    one line naming the permission problem."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a root-only file and to drop to another user")
    tmp_path.chmod(0o755)
    root = rapl_tree(tmp_path / "powercap", packages={0: (1, 2**32)})
    for path in [tmp_path, *tmp_path.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    for counter in root.rglob("energy_uj"):
        counter.chmod(0o400)  # what the kernel does since 5.10
    parents = list(tmp_path.parents)
    modes = {p: p.stat().st_mode for p in parents}
    for parent in parents:  # pytest's temporary folders are 0700: let the child walk in
        parent.chmod(modes[parent] | 0o005)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, read, report, exit without running atexit hooks
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            telemetry = Telemetry([RaplSource(root), EstimateSource(90)], load=lambda: 1.0)
            reading = telemetry.read()
            result = {"source": reading.source, "watts": reading.watts}
            result["why"] = telemetry.switches[0][2] if telemetry.switches else ""
            os.write(write_end, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as pipe:
            output = pipe.read()
        _, status = os.waitpid(pid, 0)
    finally:
        for parent in parents:
            parent.chmod(modes[parent])
    assert os.waitstatus_to_exitcode(status) == 0, output
    result = json.loads(output)
    assert result["source"] == "estimate" and result["watts"] == 90
    assert "not readable by this user (root only since Linux 5.10)" in result["why"]


# ------------------------------------------------------------------ estimate and order
def test_estimate_is_load_times_declared_tdp_and_flagged() -> None:
    clock = Clock()
    telemetry = _telemetry([EstimateSource(250, clock)], load=0.4)
    telemetry.start()
    clock.advance(10)
    reading = telemetry.read()
    assert (reading.watts, reading.measured, reading.flag, reading.energy_j) == (
        100,
        False,
        "estimated",
        None,
    )
    assert "(estimate, estimated)" in reading.describe()
    assert telemetry.last_joules == 1000


def test_auto_order_prefers_nvml_then_rapl(tmp_path: Path) -> None:
    root = rapl_tree(tmp_path / "pc", packages={0: (1, 2**32)})
    with_gpu = build_telemetry(
        "auto", tdp_watts=1, rapl_root=root, nvml=FakeNvml([FakeGpu(1, 1)]), load=lambda: 0.0
    )
    assert with_gpu.start().name == "nvml"
    no_gpu = build_telemetry(
        "auto", tdp_watts=1, rapl_root=root, nvml=FakeNvml([]), load=lambda: 0.0
    )
    assert no_gpu.start().name == "rapl"
    assert no_gpu.switches == [("nvml", "rapl", "NVML sees no GPU")]
