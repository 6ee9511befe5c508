"""A local chain posing as BASE Sepolia, as a real Anvil process, with the contracts deployed
through web3.py from ape's compiled artifacts. The tests and `make demo` use it instead of ape's
own Anvil so that they choose the block time and keep the chain running between processes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from scripts._committee import local_committee
from scripts._deployment import (
    DEFAULT_CLASSES,
    HEARTBEAT_TIMEOUT,
    UNBONDING_PERIOD,
    Committee,
    Deployment,
    ResourceClass,
    deploy_all,
)
from scripts._processes import ManagedProcess
from scripts._web3_backend import Web3Backend, load_artifacts

BASE_SEPOLIA_CHAIN_ID = 84532
ANVIL = Path(__file__).resolve().parent.parent / "tools" / "bin" / "anvil"
# Anvil's default mnemonic ("test test ... junk"): account i is funded with 10,000 ETH.
TEST_MNEMONIC = "test test test test test test test test test test test junk"
Account.enable_unaudited_hdwallet_features()


def test_account(index: int) -> LocalAccount:
    """Anvil's funded account `index` (0 deploys)."""
    account: LocalAccount = Account.from_mnemonic(
        TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


@dataclass
class Anvil:
    """A running Anvil: its process, RPC URL and a web3 connection."""

    process: ManagedProcess
    url: str
    w3: Web3

    def stop(self) -> None:
        self.process.stop()


def start_anvil(
    log_path: Path, *, block_time: float | None = None, accounts: int = 20, timeout: float = 30
) -> Anvil:
    """Starts Anvil on a free port (it picks one: --port 0) as chain 84532 with --optimism."""
    argv = [str(ANVIL), "--port", "0", "--host", "127.0.0.1", "--optimism"]
    argv += ["--chain-id", str(BASE_SEPOLIA_CHAIN_ID), "--accounts", str(accounts)]
    if block_time is not None:
        argv += ["--block-time", str(block_time)]
    process = ManagedProcess("anvil", argv, log_path).start()
    try:
        match = process.wait_for_output(r"Listening on (127\.0\.0\.1:\d+)", timeout=timeout)
    except Exception:
        process.stop()
        raise
    url = f"http://{match.group(1)}"
    return Anvil(process, url, Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30})))


def deploy_local(
    w3: Web3,
    *,
    committee: Committee | None = None,
    classes: tuple[ResourceClass, ...] = DEFAULT_CLASSES,
    heartbeat_timeout: int = HEARTBEAT_TIMEOUT,
    unbonding_period: int = UNBONDING_PERIOD,
    deployer: LocalAccount | None = None,
) -> Deployment:
    """Deploys and wires every contract (the local committee unless one is given); the record
    is returned, not written."""
    backend = Web3Backend(w3, deployer or test_account(0), load_artifacts())
    return deploy_all(
        backend,
        local=True,
        committee=committee or Committee(*local_committee()),
        classes=classes,
        heartbeat_timeout=heartbeat_timeout,
        unbonding_period=unbonding_period,
    )
