"""Deployment records: which contracts live where on which chain.

`ape run deploy` writes ``deployments/<chain-id>.json`` for a live network and
``deployments/local/<chain-id>.json`` for a local Anvil (which shares BASE Sepolia's chain id).
Every process reads one record and checks that its RPC serves the chain the record names.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from oracle.chain.abi import CONTRACTS
from oracle.chain.errors import DeploymentNotFound, InvalidDeployment, WrongChain

DEPLOY_HINT = (
    "deploy first: `ape run deploy --network base:local:foundry --account TEST::0` "
    "(local) or `ape run deploy --network base:sepolia:node --account ALIAS ...` (BASE Sepolia)"
)


def deployments_dir() -> Path:
    """Where records are looked for: $VERAI_DEPLOYMENTS_DIR, else ./deployments."""
    return Path(os.environ.get("VERAI_DEPLOYMENTS_DIR", "deployments"))


def default_record_path(chain_id: int, *, local: bool) -> Path:
    """deployments/local/<chain-id>.json for a local chain, deployments/<chain-id>.json else."""
    base = deployments_dir()
    return (base / "local" if local else base) / f"{chain_id}.json"


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment as recorded by the deploy script."""

    path: Path
    chain_id: int
    local: bool
    deployer: str
    start_block: int
    git_commit: str
    contracts: dict[str, str]
    parameters: dict[str, Any] = field(default_factory=dict)

    def address(self, contract: str) -> str:
        return self.contracts[contract]

    def check_chain(self, chain_id: int, rpc_url: str) -> None:
        """Raises WrongChain unless the RPC at `rpc_url` serves this record's chain."""
        if chain_id != self.chain_id:
            raise WrongChain(
                f"{self.path} records a deployment on chain {self.chain_id}, but the RPC at "
                f"{rpc_url} serves chain {chain_id}: point the RPC at chain {self.chain_id} or "
                f"use the record of chain {chain_id} ({default_record_path(chain_id, local=False)})"
            )

    def class_names(self) -> dict[bytes, str]:
        """Resource class key (bytes32) -> name, from the record's configured classes."""
        names: dict[bytes, str] = {}
        for name, config in (self.parameters.get("classes") or {}).items():
            try:
                names[bytes.fromhex(str(config["key"]).removeprefix("0x"))] = str(name)
            except (KeyError, ValueError, TypeError):
                continue
        return names


def load_record(path: Path) -> DeploymentRecord:
    """Reads and validates a record; raises DeploymentNotFound or InvalidDeployment."""
    if not path.is_file():
        raise DeploymentNotFound(f"no deployment record at {path}: {DEPLOY_HINT}")
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidDeployment(f"{path} is not a readable JSON deployment record: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidDeployment(f"{path}: a deployment record is a JSON object")

    def need(key: str, kind: type) -> Any:
        value = raw.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise InvalidDeployment(
                f"{path}: field {key!r} must be a {kind.__name__}, got {value!r}"
            )
        return value

    contracts = need("contracts", dict)
    checked: dict[str, str] = {}
    for name in CONTRACTS:
        address = contracts.get(name)
        if not isinstance(address, str) or not is_address(address):
            raise InvalidDeployment(f"{path}: contracts.{name} must be an address, got {address!r}")
        checked[name] = str(to_checksum_address(address))
    return DeploymentRecord(
        path=path,
        chain_id=need("chain_id", int),
        local=bool(raw.get("local", False)),
        deployer=str(raw.get("deployer", "")),
        start_block=need("start_block", int),
        git_commit=str(raw.get("git_commit", "unknown")),
        contracts=checked,
        parameters=dict(raw.get("parameters") or {}),
    )
