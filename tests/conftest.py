"""Shared fixtures: role accounts over ape's funded test accounts, deployed contracts, gas log.

Every test runs against a real Anvil started by ape-foundry (through tools/bin/anvil, so the chain
poses as BASE Sepolia, chain id 84532, with --optimism). ape isolates each test with snapshots.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

GAS_REPORT = Path(__file__).resolve().parent.parent / "build" / "gas-report.json"
VER = 10**18


class GasLog:
    """Receipt gas per named operation; the session writes it to build/gas-report.json, which
    tools/gas_snapshot.py compares against the committed .gas-snapshot.json."""

    def __init__(self) -> None:
        self.entries: dict[str, int] = {}

    def record(self, name: str, receipt: Any) -> int:
        used = int(receipt.gas_used)
        # Keep the dearest measurement of a name: the snapshot is a ceiling.
        self.entries[name] = max(used, self.entries.get(name, 0))
        return used


_GAS_LOG = GasLog()


@pytest.fixture(scope="session")
def gas_log() -> GasLog:
    return _GAS_LOG


def pytest_sessionstart(session: pytest.Session) -> None:
    # A SIGTERM (a CI step timing out) becomes KeyboardInterrupt, so fixture finalizers run and
    # stop the processes the tests started.
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from scripts._processes import stop_all

    leaked = stop_all()
    if leaked:
        print(f"\nprocess hygiene: stopped {len(leaked)} process(es) a test left running: {leaked}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _write_gas_report()


def _write_gas_report() -> None:
    if not _GAS_LOG.entries:
        return
    GAS_REPORT.parent.mkdir(parents=True, exist_ok=True)
    previous: dict[str, int] = {}
    if GAS_REPORT.exists():
        previous = json.loads(GAS_REPORT.read_text())
    previous.update(_GAS_LOG.entries)
    GAS_REPORT.write_text(json.dumps(dict(sorted(previous.items())), indent=1) + "\n")


# ------------------------------------------------------------------ roles
@pytest.fixture(scope="session")
def admin(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts: Any) -> Any:
    return accounts[2]


@pytest.fixture(scope="session")
def carol(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture(scope="session")
def developer(accounts: Any) -> Any:
    return accounts[4]


@pytest.fixture(scope="session")
def stranger(accounts: Any) -> Any:
    return accounts[9]


@pytest.fixture(scope="session")
def token(project: Any, admin: Any) -> Any:
    return admin.deploy(project.VerToken, admin)
