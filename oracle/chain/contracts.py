"""Handles on the deployed contracts, built from a deployment record and the committed ABIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from oracle.chain.abi import CONTRACTS, load_abi
from oracle.chain.deployment import DeploymentRecord
from oracle.chain.errors import InvalidDeployment
from oracle.chain.rpc import Rpc


@dataclass(frozen=True)
class Contracts:
    """web3.py contract objects of one deployment, plus the record and the RPC behind them."""

    rpc: Rpc
    record: DeploymentRecord
    token: Any
    registry: Any
    market: Any
    checkpoints: Any
    verifier: Any

    @property
    def w3(self) -> Web3:
        return self.rpc.w3

    def by_name(self, name: str) -> Any:
        return {
            "VerToken": self.token,
            "NodeRegistry": self.registry,
            "TaskMarket": self.market,
            "CheckpointRegistry": self.checkpoints,
            "ReportVerifier": self.verifier,
        }[name]

    def names_by_address(self) -> dict[str, str]:
        """Lower-case address -> contract name."""
        return {address.lower(): name for name, address in self.record.contracts.items()}

    def addresses(self) -> list[str]:
        return [self.record.contracts[name] for name in CONTRACTS]

    def ingest_addresses(self) -> list[str]:
        """The contracts whose events the mirror follows (not the token: its transfers are
        noise for the network's state and are read through balanceOf when needed)."""
        return [self.record.contracts[name] for name in CONTRACTS if name != "VerToken"]


def open_contracts(rpc: Rpc, record: DeploymentRecord, *, check_code: bool = True) -> Contracts:
    """Contract handles for `record`; with `check_code`, fails with InvalidDeployment when an
    address holds no code (a record of another chain or of a chain that was reset)."""
    handles = {}
    for name in CONTRACTS:
        address = record.contracts[name]
        if check_code:
            code = rpc.request("eth_getCode", [address, "latest"])
            if code in ("0x", "0x0", None):
                raise InvalidDeployment(
                    f"{record.path}: {name} at {address} has no code on chain "
                    f"{record.chain_id} (a reset local chain? redeploy and pass the new record)"
                )
        handles[name] = rpc.w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=load_abi(name)
        )
    return Contracts(
        rpc=rpc,
        record=record,
        token=handles["VerToken"],
        registry=handles["NodeRegistry"],
        market=handles["TaskMarket"],
        checkpoints=handles["CheckpointRegistry"],
        verifier=handles["ReportVerifier"],
    )
