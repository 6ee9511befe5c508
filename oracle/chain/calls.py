"""Sending a contract function through a `TxSender`, and reading views pinned to a block: the
two shapes every process uses on top of the web3 contract handles."""

from __future__ import annotations

from typing import Any

from oracle.chain.tx import TxOutcome, TxSender


def calldata(call: Any) -> bytes:
    """The ABI-encoded calldata of a web3 contract function call."""
    return bytes.fromhex(str(call._encode_transaction_data()).removeprefix("0x"))


def send_call(
    sender: TxSender,
    call: Any,
    *,
    purpose: str,
    key: str | None = None,
    wait: bool = True,
    timeout: float = 120.0,
) -> TxOutcome:
    """Simulates, sends and (by default) waits for `call` (a web3 `ContractFunction`)."""
    return sender.send(
        str(call.address), calldata(call), purpose=purpose, key=key, wait=wait, timeout=timeout
    )


def read(call: Any, block: int | str = "latest") -> Any:
    """The result of a view at `block` (a number pins the read; "latest" is for display only,
    never for a decision a committee member must reproduce)."""
    return call.call(block_identifier=block)
