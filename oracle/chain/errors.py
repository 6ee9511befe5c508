"""Errors of the chain layer, each saying what was wrong and what to do about it."""

from __future__ import annotations

from oracle.errors import OracleError


class ChainError(OracleError):
    """Something between this process and the chain went wrong."""


class RpcUnavailable(ChainError):
    """The RPC endpoint does not answer (refused, timed out, not JSON-RPC)."""


class WrongChain(ChainError):
    """The RPC serves another chain than the deployment record (or the settings) name."""


class DeploymentNotFound(ChainError):
    """No deployment record where one was expected."""


class InvalidDeployment(ChainError):
    """A deployment record exists but is malformed or names no code."""


class KeystoreError(ChainError):
    """A keystore cannot be read or decrypted (missing file, not a V3 keystore, wrong password)."""


class TransactionReverted(ChainError):
    """A transaction (or its simulation) reverted; `revert` holds the decoded contract error."""

    def __init__(self, message: str, revert: object | None = None) -> None:
        super().__init__(message)
        self.revert = revert


class TransactionFailed(ChainError):
    """A transaction could not be sent or confirmed (fees above the ceiling, dropped, timeout)."""


class ReorgTooDeep(ChainError):
    """A reorg reaches below the oldest block hash kept: the local state must be rebuilt."""
