"""Shared support of the multi-process tests: free ports and a module-scoped chain with 1 s
blocks. Every process is a ManagedProcess (own process group) stopped by its fixture, also when
a test fails."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._localnet import Localnet, start_localnet


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chain_1s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    """Anvil posing as BASE Sepolia with a block every second, contracts deployed."""
    directory: Path = tmp_path_factory.mktemp("chain")
    net = start_localnet(directory, block_time=1)
    try:
        yield net
    finally:
        net.anvil.stop()


# ---------------------------------------------------------------- the network fault suite
# Each scenario of tests/e2e/test_network_*.py records what it injected, the rounds completed
# and the data lost (tests/e2e/_network.py); the run ends with one summary line of them all.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def scenario(request: pytest.FixtureRequest, network: object) -> Iterator[object]:
    """The record of this scenario (`network` is the module's network fixture)."""
    from tests.e2e._network import RECORDS, Network, Scenario

    assert isinstance(network, Network)
    record = Scenario(request.node.name, rounds_before=network.latest_round())
    yield record
    record.rounds = network.latest_round() - record.rounds_before
    call = getattr(request.node, "report_call", None)
    record.passed = bool(call is not None and call.passed)
    RECORDS.append(record)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.e2e._network import RECORDS, summary_line, write_summary

    if RECORDS:
        write_summary(RECORDS)
        terminalreporter.write_line(summary_line(RECORDS))
