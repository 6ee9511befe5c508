"""Bad input to `verai node run`, as a real process against a real chain: each is one line on
stderr naming the setting and the value, exit code 2, and nothing sent (the wallet's nonce and
the registry are unchanged)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from oracle.chain.keystore import write_keystore
from tests._localnet import VER, Localnet, start_localnet
from tests.agent._agents import VERAI, Agent

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    chain = start_localnet(tmp_path_factory.mktemp("chain"))
    try:
        chain.send(
            chain.contracts.token.functions.mint(chain.account(3).address, 1_000 * VER),
            chain.deployer,
        )
        yield chain
    finally:
        chain.anvil.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _other_chain_record(net: Localnet, folder: Path) -> str:
    record = json.loads(net.record_path.read_text())
    record["chain_id"] = 1
    path = folder / "1.json"
    path.write_text(json.dumps(record))
    return str(path)


def _wrong_password(folder: Path) -> str:
    path = folder / "wrong-password.txt"
    path.write_text("not the password\n")
    return str(path)


CASES: list[tuple[str, Any, str]] = [
    ("capacity", 0, r"setting capacity \(VERAI_CAPACITY\) = 0: Input should be greater than or "
     r"equal to 1"),
    ("price", "0", r"setting price \(VERAI_PRICE\) = '0': must be above 0 VER, got 0"),
    ("resource_class", "GPU-NOPE", r"resource class: 'GPU-NOPE' is not configured on chain "
     r"84532 \(known: .*GPU-A100-80G.*\)"),
    ("stake", "10", r"stake: 10 VER is below the minimum of 100 VER for GPU-A100-80G"),
    ("password_file", _wrong_password, r"keystore .*account-3\.json: wrong password"),
    ("rpc_url", lambda _: f"http://127.0.0.1:{_free_port()}", r"the RPC at "
     r"http://127\.0\.0\.1:\d+ does not answer .* after 5 attempts"),
    ("deployment", None, r"1\.json records a deployment on chain 1, but the RPC at "
     r"http://127\.0\.0\.1:\d+ serves chain 84532"),
    ("env:VERAI_PRICE", "lots", r"setting price \(VERAI_PRICE\) = 'lots': 'lots' is not an "
     r"amount"),
    ("renewable_bps", 12_000, r"setting renewable_bps \(VERAI_RENEWABLE_BPS\) = 12000: Input "
     r"should be less than or equal to 10000"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_sent(
    net: Localnet, tmp_path: Path, field: str, value: Any, message: str
) -> None:
    agent = Agent(net, 3, tmp_path, settings={"metrics_port": None})
    env = dict(os.environ)
    if field.startswith("env:"):
        env[field.removeprefix("env:")] = value
    elif field == "deployment":
        agent.settings["deployment"] = _other_chain_record(net, tmp_path)
    else:
        agent.settings[field] = value(tmp_path) if callable(value) else value
    nonce = net.rpc_call("eth_getTransactionCount", agent.address, "latest")
    nodes = net.contracts.registry.functions.nodeCount().call()
    done = subprocess.run(
        [str(VERAI), "node", "run", "--config", str(agent.write_config())],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("verai node run: ") and re.search(message, lines[0]), lines[0]
    assert done.stdout == ""
    assert net.rpc_call("eth_getTransactionCount", agent.address, "latest") == nonce
    assert net.contracts.registry.functions.nodeCount().call() == nodes == 0


@pytest.mark.parametrize(
    ("lacks", "message"),
    [
        ("ver", r"stake: wallet 0x[0-9a-fA-F]{40} holds 0 VER, the stake needs 150 VER"),
        ("eth", r"wallet 0x[0-9a-fA-F]{40} has no ETH on chain 84532 to pay for gas"),
    ],
)
def test_wallet_without_ver_or_gas_is_one_line_and_nothing_sent(
    net: Localnet, tmp_path: Path, lacks: str, message: str
) -> None:
    account = Account.create()
    keystore, password = tmp_path / "fresh.json", tmp_path / "pw.txt"
    write_keystore(keystore, "pw", bytes(account.key))
    password.write_text("pw\n")
    if lacks == "eth":  # VER for the stake, but no ETH for gas
        net.send(net.contracts.token.functions.mint(account.address, 500 * VER), net.deployer)
    else:  # ETH, but no VER
        net.rpc_call("anvil_setBalance", account.address, hex(10**18))
    agent = Agent(net, 3, tmp_path, settings={"metrics_port": None})
    agent.settings.update(keystore=str(keystore), password_file=str(password))
    done = subprocess.run(
        [str(VERAI), "node", "run", "--config", str(agent.write_config())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert net.rpc_call("eth_getTransactionCount", account.address, "latest") == "0x0"
