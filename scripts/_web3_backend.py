"""`deploy_all` over web3.py: compiled artifacts from ape's build output and a local key. Used by
the tests and the demo, which run their own Anvil (block time, port) instead of ape's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from scripts._deployment import ROOT, DeploymentError

BUILD_MANIFEST = ROOT / ".build" / "__local__.json"
# The last compiled manifest whose ABIs equal the committed oracle/abi/*.json (see load_artifacts)
VERIFIED_MANIFEST = ROOT / "build" / "artifacts" / "verified.json"
ABI_DIR = ROOT / "oracle" / "abi"
RECEIPT_TIMEOUT = 60


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: ABI and creation bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def _matches_committed_abis(types: dict[str, Any]) -> bool:
    from tools.export_abi import CONTRACTS, render

    for name in CONTRACTS:
        committed = ABI_DIR / f"{name}.json"
        if name not in types or not committed.is_file():
            return False
        if render(types[name]["abi"]) != committed.read_text():
            return False
    return True


def load_artifacts(manifest: Path = BUILD_MANIFEST) -> dict[str, Artifact]:
    """The deployable contracts to deploy in tests and the demo: ape's build manifest when its
    ABIs equal the committed oracle/abi/*.json (the ABIs every service speaks), else the last
    manifest that did (build/artifacts/verified.json). So the bytecode deployed always speaks the
    ABI the services use, and contracts being edited (compiled but not yet exported with
    `make abi`) never break a test of the services."""
    types: dict[str, Any] | None = None
    if manifest.is_file():
        fresh = json.loads(manifest.read_text())["contractTypes"]
        if _matches_committed_abis(fresh):
            types = fresh
            VERIFIED_MANIFEST.parent.mkdir(parents=True, exist_ok=True)
            if (
                not VERIFIED_MANIFEST.is_file()
                or VERIFIED_MANIFEST.read_bytes() != manifest.read_bytes()
            ):
                VERIFIED_MANIFEST.write_bytes(manifest.read_bytes())
    if types is None and VERIFIED_MANIFEST.is_file():
        stored = json.loads(VERIFIED_MANIFEST.read_text())["contractTypes"]
        if _matches_committed_abis(stored):
            types = stored
    if types is None:
        raise DeploymentError(
            f"no compiled contracts match the committed ABIs in {ABI_DIR}: run `make abi` "
            "(compiles the contracts and exports their ABIs)"
        )
    artifacts = {}
    for name, contract in types.items():
        code = (contract.get("deploymentBytecode") or {}).get("bytecode")
        if code and code != "0x":
            artifacts[name] = Artifact(name, contract["abi"], code)
    return artifacts


class Web3Backend:
    """A `DeployBackend` that signs with `account` and waits for each receipt."""

    def __init__(self, w3: Web3, account: LocalAccount, artifacts: dict[str, Artifact]) -> None:
        self._w3 = w3
        self._account = account
        self._artifacts = artifacts

    @property
    def chain_id(self) -> int:
        return int(self._w3.eth.chain_id)

    @property
    def head_block(self) -> int:
        return int(self._w3.eth.block_number)

    @property
    def deployer(self) -> str:
        return str(self._account.address)

    def balance(self) -> int:
        return int(self._w3.eth.get_balance(self._account.address))

    def deploy(self, contract: str, *args: Any) -> str:
        artifact = self._artifact(contract)
        factory = self._w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._send(factory.constructor(*args), f"deploy {contract}")
        return str(receipt["contractAddress"])

    def transact(self, contract: str, address: str, function: str, *args: Any) -> None:
        self._send(self.at(contract, address).functions[function](*args), f"{contract}.{function}")

    def call(self, contract: str, address: str, function: str, *args: Any) -> Any:
        return self.at(contract, address).functions[function](*args).call()

    def at(self, contract: str, address: str) -> Any:
        """The web3 contract of `contract` at `address`."""
        return self._w3.eth.contract(address=address, abi=self._artifact(contract).abi)

    def _artifact(self, contract: str) -> Artifact:
        try:
            return self._artifacts[contract]
        except KeyError:
            raise DeploymentError(f"no compiled artifact for {contract}") from None

    def _send(self, call: Any, what: str) -> Any:
        tx = call.build_transaction(
            {
                "from": self._account.address,
                "nonce": self._w3.eth.get_transaction_count(self._account.address, "pending"),
                "chainId": self.chain_id,
            }
        )
        signed = self._account.sign_transaction(tx)
        tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
        if receipt["status"] != 1:
            raise DeploymentError(f"{what} reverted in transaction {tx_hash.hex()}")
        return receipt
