"""A deployed local chain for tests that talk to it the way the services do (web3.py, committed
ABIs): a real Anvil posing as BASE Sepolia, the contracts deployed from ape's compiled artifacts,
the deployment record written to a temporary folder, funded wallets and small helpers to act."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from oracle.chain.contracts import Contracts, open_contracts
from oracle.chain.deployment import DeploymentRecord, load_record
from oracle.chain.rpc import JsonRpcError, Rpc, connect
from oracle.chain.tx import TxSender
from oracle.reports import Domain, Report, encode_signatures, select_quorum, sign_report
from scripts._committee import LOCAL_MEMBERS, LOCAL_THRESHOLD
from scripts._localnet import Anvil, deploy_local, start_anvil, test_account

VER = 10**18
GPU = keccak(text="GPU-A100-80G")
RTX = keccak(text="GPU-RTX4090-24G")
CPU = keccak(text="CPU-EPYC-64")


class Reverted(Exception):
    """A test transaction reverted; `.revert` is the decoded error."""

    def __init__(self, message: str, revert: object) -> None:
        super().__init__(message)
        self.revert = revert


@dataclass
class Localnet:
    anvil: Anvil
    record: DeploymentRecord
    rpc: Rpc
    contracts: Contracts
    chain_id: int
    senders: dict[str, TxSender] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.anvil.url

    @property
    def record_path(self) -> Path:
        return self.record.path

    def account(self, index: int) -> LocalAccount:
        return test_account(index)

    @property
    def deployer(self) -> LocalAccount:
        return test_account(0)

    def sender(self, account: LocalAccount) -> TxSender:
        key = str(account.address)
        if key not in self.senders:
            self.senders[key] = TxSender(self.rpc, account, self.chain_id, replace_after=3600)
        return self.senders[key]

    def send(self, call: Any, account: LocalAccount) -> dict[str, Any]:
        """Sends a web3 contract call from `account` and returns its receipt; raises Reverted
        with the decoded error when it would revert."""
        from oracle.chain.errors import TransactionReverted

        data = bytes.fromhex(call._encode_transaction_data().removeprefix("0x"))
        try:
            outcome = self.sender(account).send(call.address, data, purpose="test")
        except TransactionReverted as exc:
            raise Reverted(str(exc), exc.revert) from None
        assert outcome.mined, outcome
        receipt: dict[str, Any] = self.rpc.request("eth_getTransactionReceipt", [outcome.tx_hash])
        return receipt

    def head(self) -> int:
        return self.rpc.block_number()

    def timestamp(self, block: int | str = "latest") -> int:
        tag = block if isinstance(block, str) else hex(block)
        return int(self.rpc.request("eth_getBlockByNumber", [tag, False])["timestamp"], 16)

    def mine(self, blocks: int = 1, *, seconds: int = 0) -> None:
        """Mines `blocks` empty blocks after moving the clock `seconds` forward."""
        if seconds:
            # an absolute next timestamp works with and without a fixed block interval
            self.rpc.request("evm_setNextBlockTimestamp", [self.timestamp() + seconds])
        for _ in range(blocks):
            self.rpc.request("evm_mine", [])

    def fund(self, account: LocalAccount, amount: int = 100_000 * VER) -> None:
        """Mints VER to `account` and approves the registry and the market for it."""
        c = self.contracts
        self.send(c.token.functions.mint(account.address, amount), self.deployer)
        self.send(c.token.functions.approve(c.registry.address, 2**256 - 1), account)
        self.send(c.token.functions.approve(c.market.address, 2**256 - 1), account)

    def transmit(self, report: Report, transmitter: LocalAccount | None = None) -> dict[str, Any]:
        """The local committee signs `report` (3 of 4) and `transmitter` sends it."""
        domain = Domain(self.chain_id, self.record.contracts["ReportVerifier"])
        signatures = [sign_report(report, domain, m.key) for m in LOCAL_MEMBERS]
        quorum = select_quorum(
            report, domain, [m.address for m in LOCAL_MEMBERS], LOCAL_THRESHOLD, signatures
        )
        call = self.contracts.verifier.functions.transmit(
            report.as_abi(), encode_signatures(quorum)
        )
        return self.send(call, transmitter or self.account(19))

    def config_digest(self) -> bytes:
        return bytes(self.contracts.verifier.functions.config().call()[0])

    def next_round(self) -> int:
        return int(self.contracts.verifier.functions.latestRound().call()[0]) + 1

    def rpc_call(self, method: str, *params: Any) -> Any:
        try:
            return self.rpc.request(method, list(params))
        except JsonRpcError as exc:
            raise AssertionError(f"{method} failed: {exc}") from exc


def start_localnet(directory: Path, *, block_time: float | None = None, **deploy: Any) -> Localnet:
    """Anvil + deployment + record file in `directory`."""
    anvil = start_anvil(directory / "anvil.log", block_time=block_time)
    try:
        deployment = deploy_local(anvil.w3, **deploy)
        path = directory / "deployments" / "local" / f"{deployment.chain_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(deployment), indent=2) + "\n")
        record = load_record(path)
        rpc, chain_id = connect(anvil.url)
        return Localnet(anvil, record, rpc, open_contracts(rpc, record), chain_id)
    except BaseException:
        anvil.stop()
        raise


@pytest.fixture
def localnet(tmp_path: Path) -> Iterator[Localnet]:
    """A fresh chain with the contracts deployed (automine, one block per transaction)."""
    net = start_localnet(tmp_path)
    try:
        yield net
    finally:
        net.anvil.stop()
