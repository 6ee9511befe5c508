"""From settings to a usable chain: the RPC (checked to answer), the deployment record of the
chain it serves (checked to match), the contract handles (checked to have code) and, for
processes that sign, the account from its keystore. Every failure is one line saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from oracle.chain.contracts import Contracts, open_contracts
from oracle.chain.deployment import DeploymentRecord, default_record_path, load_record
from oracle.chain.errors import KeystoreError
from oracle.chain.keystore import unlock_with_file
from oracle.chain.rpc import ErrorCallback, RetryPolicy, Rpc, connect
from oracle.config import ChainSettings, SignerSettings, is_local_url


@dataclass(frozen=True)
class Chain:
    """A connected deployment."""

    rpc: Rpc
    chain_id: int
    record: DeploymentRecord
    contracts: Contracts


def record_path_for(settings: ChainSettings, chain_id: int) -> Path:
    if settings.deployment is not None:
        return settings.deployment
    return default_record_path(chain_id, local=is_local_url(settings.rpc_url))


def open_chain(
    settings: ChainSettings,
    *,
    retry: RetryPolicy | None = None,
    on_error: ErrorCallback | None = None,
    check_code: bool = True,
    hint: str = "--rpc-url / VERAI_RPC_URL",
) -> Chain:
    """Connects, loads the record of the chain the RPC serves, checks it and opens the
    contracts. Raises RpcUnavailable, DeploymentNotFound, InvalidDeployment or WrongChain."""
    rpc, chain_id = connect(
        settings.rpc_url, timeout=settings.rpc_timeout, retry=retry, on_error=on_error, hint=hint
    )
    record = load_record(record_path_for(settings, chain_id))
    record.check_chain(chain_id, settings.rpc_url)
    return Chain(rpc, chain_id, record, open_contracts(rpc, record, check_code=check_code))


def load_signer(settings: SignerSettings, *, required: bool) -> LocalAccount | None:
    """The account of `settings.keystore` unlocked with `settings.password_file`; None when no
    keystore is configured and `required` is False (dry mode)."""
    if settings.keystore is None:
        if required:
            raise KeystoreError(
                "no keystore configured: set VERAI_KEYSTORE (or --keystore) to a V3 keystore "
                "file and VERAI_PASSWORD_FILE to a file holding its password"
            )
        return None
    if settings.password_file is None:
        raise KeystoreError(
            f"keystore {settings.keystore} needs a password file: set VERAI_PASSWORD_FILE "
            "(or --password-file)"
        )
    return unlock_with_file(settings.keystore, settings.password_file)
