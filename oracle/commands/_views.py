"""Contract views read at one block, decoded to named values.

Every read of one command is pinned to the same block, so a table never mixes two states. A
view that reverts (an unknown task id ...) raises `ViewReverted` with the decoded error; several
views go out as one JSON-RPC batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address

from oracle.chain.abi import canonical_type
from oracle.chain.calls import calldata
from oracle.chain.revert import DecodedRevert, decode_revert, revert_bytes
from oracle.chain.rpc import JsonRpcError, Rpc
from oracle.errors import OracleError


class ViewReverted(OracleError):
    def __init__(self, revert: DecodedRevert) -> None:
        super().__init__(str(revert))
        self.revert = revert


def has_function(contract: Any, name: str) -> bool:
    """Whether the committed ABI of `contract` has function `name` (contracts evolve)."""
    return any(e.get("type") == "function" and e.get("name") == name for e in contract.abi)


def _named(param: dict[str, Any], value: Any) -> Any:
    kind = str(param["type"])
    if kind == "tuple":
        return {c["name"]: _named(c, v) for c, v in zip(param["components"], value, strict=True)}
    if kind.startswith("tuple["):
        inner = {**param, "type": kind[: kind.index("[")]}
        return [_named(inner, v) for v in value]
    if kind == "address":
        return str(to_checksum_address(value))
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def decode_result(abi: dict[str, Any], raw: bytes) -> Any:
    """One output as itself; several as a dict by output name (position when unnamed)."""
    outputs = abi.get("outputs", [])
    values = decode([canonical_type(o) for o in outputs], raw)
    named = [_named(o, v) for o, v in zip(outputs, values, strict=True)]
    if len(named) == 1:
        return named[0]
    return {
        (o.get("name") or str(i)): v for i, (o, v) in enumerate(zip(outputs, named, strict=True))
    }


def _request(call: Any, block: int) -> tuple[str, list[Any]]:
    return ("eth_call", [{"to": call.address, "data": "0x" + calldata(call).hex()}, hex(block)])


def _reverted(exc: JsonRpcError) -> ViewReverted | None:
    payload = revert_bytes(exc.data)
    return None if payload is None else ViewReverted(decode_revert(payload))


def view(rpc: Rpc, call: Any, block: int) -> Any:
    """The decoded result of a web3 contract call at `block`."""
    method, params = _request(call, block)
    try:
        raw = rpc.request(method, params)
    except JsonRpcError as exc:
        reverted = _reverted(exc)
        if reverted is not None:
            raise reverted from None
        raise
    return decode_result(call.abi, bytes.fromhex(str(raw).removeprefix("0x")))


def views(rpc: Rpc, calls: Sequence[Any], block: int) -> list[Any]:
    """Several views at `block` in one batch (a revert of any raises ViewReverted)."""
    try:
        raws = rpc.batch([_request(call, block) for call in calls])
    except JsonRpcError as exc:
        reverted = _reverted(exc)
        if reverted is not None:
            raise reverted from None
        raise
    return [
        decode_result(call.abi, bytes.fromhex(str(raw).removeprefix("0x")))
        for call, raw in zip(calls, raws, strict=True)
    ]
