"""Every refusal of the wallet CLI is one line, exit code 2, and sends nothing: no record or a
record of another chain, an RPC that does not answer, unknown ids, too little VER or gas, bad
amounts, a contract that would revert (decoded, also from eth_estimateGas), a wrong password, the
faucet or Anvil's dev keys off a local chain."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle.chain.rpc import JsonRpcError
from oracle.commands._session import refusal_line
from oracle.explain import Context
from tests.commands.conftest import VER, Cli, Localnet, nonce, task_id_of

DEV = "TEST::1"
GPU = "GPU-A100-80G"


def _submit_args(*extra: str) -> tuple[str, ...]:
    return (
        "task",
        "submit",
        GPU,
        "4",
        "--max-price",
        "2.5",
        "--duration",
        "2h",
        "--spec",
        "ipfs://x",
        "--yes",
        *extra,
    )


@pytest.fixture(scope="module")
def task(cli: Cli) -> int:
    cli.ok("faucet", DEV, "--ver", "100")
    return task_id_of(cli.ok(*_submit_args("--account", DEV)).stdout)


@pytest.fixture
def fresh(cli: Cli, tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """A new keystore (no ETH, no VER) and its password file."""
    password = tmp_path / "password"
    password.write_text("correct horse\n")
    made = cli.json(
        "account", "new", "--dir", str(tmp_path / "keys"), "--password-file", str(password)
    )
    yield Path(made["keystore"]), password, made["address"]


def test_no_record_names_the_file_read_and_what_to_run(cli: Cli, tmp_path: Path) -> None:
    line = cli.refused("network", "status", VERAI_DEPLOYMENTS_DIR=str(tmp_path))
    assert line.startswith(f"no deployment record at {tmp_path}/local/84532.json: deploy first: ")
    assert "`ape run deploy --network base:local:foundry --account TEST::0`" in line


def test_a_record_of_another_chain_is_refused(cli: Cli, net: Localnet, tmp_path: Path) -> None:
    record = json.loads(net.record_path.read_text())
    record["chain_id"] = 8453
    other = tmp_path / "8453.json"
    other.write_text(json.dumps(record))
    line = cli.refused("task", "status", "1", "--deployment", str(other))
    assert line.startswith(
        f"{other} records a deployment on chain 8453, but the RPC at {net.url} serves chain 84532"
    )


def test_an_unreachable_rpc_is_one_line(cli: Cli) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    line = cli.refused("network", "status", "--network", url)
    assert line.startswith(f"the RPC at {url} does not answer (connection failed")
    assert cli.refused("network", "status", "--network", "mainnet").startswith(
        "--network: 'mainnet' is not local, base-sepolia or an http(s):// RPC URL"
    )


def test_unknown_task_ids_are_refused(cli: Cli, net: Localnet, task: int) -> None:
    sent = nonce(net, net.account(1).address)
    expected = f"unknown task 99: this deployment has tasks 1 to {task} (chain 84532)"
    assert cli.refused("task", "status", "99") == expected
    assert cli.refused("task", "watch", "99") == expected
    for action in (("refund", "99"), ("cancel", "99"), ("topup", "99", "1")):
        assert cli.refused("task", *action, "--account", DEV, "--yes") == expected
    assert nonce(net, net.account(1).address) == sent


def test_too_little_ver_sends_nothing(
    cli: Cli, net: Localnet, fresh: tuple[Path, Path, str]
) -> None:
    keystore, password, address = fresh
    cli.ok("faucet", address, "--ver", "0", "--eth", "1")
    line = cli.refused(*_submit_args("--keystore", str(keystore), "--password-file", str(password)))
    assert line == (
        f"insufficient VER: {address} holds 0 VER, the escrow needs 20 VER "
        f"(local chain: verai faucet {address})"
    )
    assert nonce(net, address) == 0


def test_too_little_gas_sends_nothing(
    cli: Cli, net: Localnet, fresh: tuple[Path, Path, str]
) -> None:
    keystore, password, address = fresh
    cli.ok("faucet", address, "--ver", "50")
    line = cli.refused(*_submit_args("--keystore", str(keystore), "--password-file", str(password)))
    assert line.startswith(
        f"insufficient gas: {address} holds 0 ETH, the transaction may cost up to "
    )
    assert line.endswith("ETH (local chain: verai faucet ADDRESS --eth 1)")
    assert nonce(net, address) == 0
    assert net.contracts.token.functions.balanceOf(address).call() == 50 * VER


def test_contract_refusals_are_decoded_before_anything_is_sent(
    cli: Cli, net: Localnet, task: int
) -> None:
    other = net.account(8)
    sent = nonce(net, other.address)
    line = cli.refused("task", "cancel", str(task), "--account", "TEST::8", "--yes")
    assert line == (
        f"refused, nothing sent: TaskMarketNotDeveloper: task {task} belongs to "
        f"{net.account(1).address}, not {other.address} (you)"
    )
    early = cli.refused("task", "refund", str(task), "--account", DEV, "--yes")
    assert early.startswith(f"refused, nothing sent: TaskMarketTaskStillOpen: task {task} is open ")
    assert early.endswith(" UTC (in 1h 59m)") or early.endswith(" UTC (in 2h)")
    assert nonce(net, other.address) == sent


def test_a_revert_from_the_gas_estimate_reads_the_same(net: Localnet, task: int) -> None:
    stranger = net.account(8).address
    call = net.contracts.market.functions.claimRefund(task)
    request = {"from": stranger, "to": call.address, "data": call._encode_transaction_data()}
    with pytest.raises(JsonRpcError) as info:
        net.rpc.request("eth_estimateGas", [request])
    line = refusal_line(info.value, Context(), sender=stranger, method="eth_estimateGas")
    assert line == (
        f"refused, nothing sent: TaskMarketNotDeveloper: task {task} belongs to "
        f"{net.account(1).address}, not {stranger}"
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-price", "2.5.5", "--max-price: '2.5.5' is not an amount (examples: 2.5, 2.5 VER"),
        ("--max-price", "-1", "--max-price: '-1' is negative"),
        ("--max-price", "0.0000000000000000001", "has more than 18 decimals"),
        ("--duration", "0", "--duration: '0' is not a duration above 0"),
        ("--duration", "2 hours", "--duration: '2 hours' is not a duration above 0"),
    ],
)
def test_bad_amounts_and_durations_name_the_option(
    cli: Cli, option: str, value: str, message: str
) -> None:
    args = dict(zip(("--max-price", "--duration"), ("2.5", "2h"), strict=True))
    args[option] = value
    result = cli.run(
        "task",
        "submit",
        GPU,
        "4",
        "--max-price",
        args["--max-price"],
        "--duration",
        args["--duration"],
        "--spec",
        "ipfs://x",
        "--account",
        DEV,
        "--yes",
    )
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_password_is_one_line_and_a_prompt_unlocks(
    cli: Cli, net: Localnet, fresh: tuple[Path, Path, str], tmp_path: Path
) -> None:
    keystore, _, address = fresh
    wrong = tmp_path / "wrong"
    wrong.write_text("battery staple\n")
    line = cli.refused(
        "faucet", address, "--keystore", str(keystore), "--password-file", str(wrong)
    )
    assert line == f"keystore {keystore}: wrong password (MAC mismatch)"
    cli.ok("faucet", address, "--ver", "0", "--eth", "1")
    # the password typed at the (hidden) prompt
    balance = cli.ok("account", "balance", "--keystore", str(keystore), "--json")
    assert json.loads(balance.stdout)["eth_balance_eth"] == "1"
    topped = cli.run(
        "faucet", "TEST::9", "--ver", "1", "--keystore", str(keystore), input="correct horse\n"
    )
    assert "Password of" in topped.stderr
    # unlocked; the key lacks the minter role, which the simulation says before sending
    assert topped.exit_code == 2 and "AccessControlUnauthorizedAccount" in topped.stderr
    assert f"{address} (you) lacks MINTER_ROLE" in topped.stderr
    assert nonce(net, address) == 0
    no_wallet = cli.refused(*_submit_args())
    assert no_wallet.startswith("no wallet: pass --account ALIAS (an ape account) or --keystore")
    missing = cli.refused(*_submit_args("--account", "nobody"))
    assert missing.startswith("no ape account 'nobody' (looked for ")


def test_off_a_local_chain_the_faucet_and_dev_keys_are_refused(
    cli: Cli, net: Localnet, tmp_path: Path
) -> None:
    record = json.loads(net.record_path.read_text())
    record["chain_id"] = 8453  # BASE mainnet's id: not a local chain even on 127.0.0.1
    other = tmp_path / "8453.json"
    other.write_text(json.dumps(record))
    net.rpc_call("anvil_setChainId", 8453)
    try:
        sent = nonce(net, net.deployer.address)
        line = cli.refused("faucet", "TEST::3", "--deployment", str(other))
        assert line == (
            "verai faucet mints only on a local chain (chain id 31337/1337, or 84532 on a local "
            f"RPC); chain 8453 at {net.url} is not one: nothing sent"
        )
        refused = cli.refused(*_submit_args("--account", DEV, "--deployment", str(other)))
        assert refused == "--account TEST::1: Anvil's dev accounts exist only on a local chain"
        assert nonce(net, net.deployer.address) == sent
    finally:
        net.rpc_call("anvil_setChainId", 84532)


def test_a_spec_that_cannot_be_published_sends_nothing(
    cli: Cli, net: Localnet, task: int, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        api = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sent = nonce(net, net.account(1).address)
    base = ("task", "submit", GPU, "1", "--max-price", "1", "--duration", "1h", "--account", DEV)
    line = cli.refused(*base, "--spec", str(spec), "--ipfs-api", api, "--yes")
    assert line.startswith(f"--ipfs-api: IPFS RPC {api}/api/v0/add: request failed")
    missing = cli.refused(*base, "--spec", str(tmp_path / "nope.json"), "--ipfs-api", api)
    assert missing.endswith("--ipfs-api publishes a FILE, and there is no such file")
    assert cli.refused(*base, "--spec", "two words").startswith("--spec: 'two words' is neither")
    assert nonce(net, net.account(1).address) == sent
