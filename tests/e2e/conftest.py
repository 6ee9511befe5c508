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
