"""JSON-RPC retries through a real fault-injecting proxy in front of a real node."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from oracle.chain.errors import RpcUnavailable
from oracle.chain.rpc import JsonRpcError, RetryPolicy, Rpc, connect
from scripts._processes import ManagedProcess
from tests._localnet import Localnet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def proxy(localnet: Localnet, tmp_path: Path) -> Iterator[str]:
    process = ManagedProcess(
        "faulty-rpc",
        [
            sys.executable,
            str(ROOT / "tools" / "faulty_rpc.py"),
            "--upstream",
            localnet.url,
            "--seed",
            "3",
        ],
        tmp_path / "proxy.log",
    ).start()
    try:
        match = process.wait_for_output(r"Listening on (127\.0\.0\.1:\d+)", timeout=20)
        yield f"http://{match.group(1)}"
    finally:
        process.stop()


def _set_faults(url: str, **rates: float) -> dict[str, float]:
    reply = requests.post(f"{url}/__faults", data=json.dumps(rates), timeout=5)
    reply.raise_for_status()
    result: dict[str, float] = reply.json()
    return result


def test_transient_faults_are_retried_and_counted(localnet: Localnet, proxy: str) -> None:
    _set_faults(proxy, error_rate=0.3, drop_rate=0.2)
    errors: list[tuple[str, str]] = []
    rpc = Rpc(
        proxy,
        retry=RetryPolicy(attempts=12, base_delay=0.01, max_delay=0.05),
        on_error=lambda method, kind: errors.append((method, kind)),
    )
    heads = [rpc.block_number() for _ in range(40)]
    assert heads == [localnet.head()] * 40
    faults = _set_faults(proxy)
    assert faults["errors"] + faults["drops"] == len(errors) > 0
    assert {kind for _, kind in errors} <= {"http", "connection"}


def test_a_node_error_is_not_retried(localnet: Localnet) -> None:
    calls: list[str] = []
    rpc = Rpc(localnet.url, on_error=lambda m, k: calls.append(k))
    with pytest.raises(JsonRpcError) as info:
        rpc.request("eth_getBalance", ["not an address", "latest"])
    assert calls == ["node"] and info.value.code != 0


def test_an_endpoint_that_refuses_is_one_line_saying_what_to_check() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(RpcUnavailable) as info:
        connect(f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=2, base_delay=0.01))
    message = str(info.value)
    assert "\n" not in message
    assert f"the RPC at http://127.0.0.1:{port} does not answer" in message
    assert "VERAI_RPC_URL" in message


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(RpcUnavailable, match="must start with http:// or https://"):
        connect("ws://127.0.0.1:8545")
