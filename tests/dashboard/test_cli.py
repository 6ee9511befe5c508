"""`verai dashboard` as a user meets it: help, one-line errors with exit code 2 for bad input,
exit code 1 when the chain cannot be reached, and the safe default address."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from oracle.dashboard.settings import DashboardSettings, parse_listen
from tests.dashboard.conftest import ROOT, verai


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(verai(*args), capture_output=True, text=True, timeout=60, cwd=cwd)


def test_help_explains_the_pages_and_the_safety() -> None:
    result = run("dashboard", "--help")
    assert result.returncode == 0
    for word in ("read-only", "--listen", "127.0.0.1:8080", "--network", "base-sepolia", "--db"):
        assert word in result.stdout, word


def test_bad_listen_address_is_one_line_naming_it_with_exit_code_2() -> None:
    for value, needle in (
        ("nonsense", "HOST:PORT"),
        ("127.0.0.1:99999", "port"),
        ("my-host:80", "not an IP address"),
    ):
        result = run("dashboard", "--listen", value)
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "--listen" in lines[0] and needle in lines[0], lines


def test_bad_settings_are_one_line_each_with_exit_code_2() -> None:
    result = run("dashboard", "--poll-interval", "-1", "--network", "ftp://nowhere")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert any("poll_interval" in line and "-1" in line for line in lines)
    assert any("rpc_url" in line and "ftp://nowhere" in line for line in lines)


def test_an_rpc_that_does_not_answer_is_one_line_with_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = subprocess.run(
        [
            *verai(
                "dashboard",
                "--network",
                f"http://127.0.0.1:{port}",
                "--db",
                str(tmp_path / "d.sqlite"),
            )
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"VERAI_RPC_TIMEOUT": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], lines


def test_it_binds_to_this_machine_unless_told_otherwise() -> None:
    settings = DashboardSettings()
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 8080)
    assert not settings.public
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert not DashboardSettings(listen_host="::1").public
    assert DashboardSettings(listen_host="0.0.0.0").public


def test_audit_paths_come_from_the_environment_as_a_list(monkeypatch: pytest.MonkeyPatch) -> None:

    from oracle.config import SettingsError, load_settings

    monkeypatch.setenv("VERAI_AUDIT_PATHS", "structured,mcf")
    assert load_settings(DashboardSettings).audit_paths == ("structured", "mcf")
    monkeypatch.setenv("VERAI_AUDIT_PATHS", "lp")
    with pytest.raises(SettingsError, match=r"audit_paths \(VERAI_AUDIT_PATHS\) = 'lp'"):
        load_settings(DashboardSettings)
