"""Decoding revert data into the contracts' custom errors.

A revert reaches us as bytes (from `eth_call`, `eth_estimateGas` or a receipt trace): a 4-byte
selector and ABI-encoded arguments. The selector table comes from the committed ABIs, so every
custom error any of our contracts declares decodes to its name and named values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address

from oracle.chain.abi import ErrorAbi, errors

# Solidity's built-ins: Error(string) from require/revert strings, Panic(uint256) from asserts,
# overflows and the like.
_ERROR_STRING = bytes.fromhex("08c379a0")
_PANIC = bytes.fromhex("4e487b71")
PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an invalid internal function",
}


@dataclass(frozen=True)
class DecodedRevert:
    """A revert as a name and its arguments in declaration order."""

    name: str
    args: tuple[tuple[str, Any], ...]
    abi: ErrorAbi | None = None

    def arg(self, name: str) -> Any:
        return dict(self.args)[name]

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.args)
        return f"{self.name}({inner})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _normalise(kind: str, value: Any) -> Any:
    if kind == "address":
        return str(to_checksum_address(value))
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def revert_bytes(data: object) -> bytes | None:
    """The revert payload in a node's error `data` (a 0x-hex string, or {"data": ...})."""
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return None


def decode_revert(data: bytes) -> DecodedRevert:
    """The custom error (or Error(string) / Panic) that `data` encodes; an unknown selector
    comes back as `UnknownError` with the raw bytes."""
    if len(data) < 4:
        return DecodedRevert("EmptyRevert" if not data else "MalformedRevert", (("data", data),))
    selector, body = data[:4], data[4:]
    if selector == _ERROR_STRING:
        (message,) = decode(["string"], body)
        return DecodedRevert("Error", (("message", message),))
    if selector == _PANIC:
        (code,) = decode(["uint256"], body)
        return DecodedRevert("Panic", (("code", code), ("reason", PANIC_REASONS.get(code, "?"))))
    abi = errors().get(selector)
    if abi is None:
        return DecodedRevert("UnknownError", (("selector", selector), ("data", body)))
    try:
        values = decode([t for _, t in abi.inputs], body)
    except Exception:  # eth-abi raises several types for malformed bodies
        return DecodedRevert(abi.name, (("undecodable", body),), abi)
    args = tuple(
        (name, _normalise(kind, value))
        for (name, kind), value in zip(abi.inputs, values, strict=True)
    )
    return DecodedRevert(abi.name, args, abi)
