"""Decoding raw logs (as `eth_getLogs` returns them) into named events of our contracts.

Pure: eth-abi decoding only, no RPC. Values come out as Python ints, bytes, bools, lists and
checksum-address strings, in the event's declaration order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address

from oracle.chain.abi import EventAbi, events
from oracle.chain.packed import expand


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One decoded log."""

    contract: str
    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    tx_index: int
    address: str

    @property
    def key(self) -> tuple[str, int]:
        """What makes a log unique on one chain: (block hash, log index)."""
        return (self.block_hash, self.log_index)

    @property
    def position(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)


def _normalise(kind: str, value: Any) -> Any:
    if kind == "address":
        return str(to_checksum_address(value))
    if kind.endswith("]") and isinstance(value, list | tuple):
        inner = kind[: kind.rindex("[")]
        return [_normalise(inner, v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def _hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def decode_log(raw: Mapping[str, Any], contract_of: Mapping[str, str]) -> ChainEvent | None:
    """The event of `raw`, or None when it is not one of our contracts' events (or malformed:
    a log that does not decode is never fed to the mirror). `contract_of` maps lower-case
    addresses to contract names."""
    contract = contract_of.get(str(raw.get("address", "")).lower())
    topics = raw.get("topics") or []
    if contract is None or not topics:
        return None
    abi: EventAbi | None = events().get((contract, _hex_bytes(topics[0])))
    if abi is None or len(topics) - 1 != len(abi.indexed):
        return None
    values: dict[str, Any] = {}
    try:
        for (name, kind), topic in zip(abi.indexed, topics[1:], strict=True):
            (value,) = decode([kind], _hex_bytes(topic))
            values[name] = _normalise(kind, value)
        data = decode([k for _, k in abi.data], _hex_bytes(raw.get("data", "0x")))
        for (name, kind), value in zip(abi.data, data, strict=True):
            values[name] = _normalise(kind, value)
        args = expand(contract, abi.name, {name: values[name] for name in abi.order})
    except Exception:  # eth-abi raises several unrelated types for bad bytes; so does unpacking
        return None
    return ChainEvent(
        contract=contract,
        name=abi.name,
        args=args,
        block_number=_int(raw["blockNumber"]),
        block_hash=str(raw["blockHash"]).lower(),
        log_index=_int(raw["logIndex"]),
        tx_hash=str(raw.get("transactionHash", "")).lower(),
        tx_index=_int(raw.get("transactionIndex", 0)),
        address=str(to_checksum_address(raw["address"])),
    )


def decode_logs(
    raws: Iterable[Mapping[str, Any]], contract_of: Mapping[str, str]
) -> list[ChainEvent]:
    """Decoded events, duplicates (same block hash and log index) dropped, in chain order."""
    seen: dict[tuple[str, int], ChainEvent] = {}
    for raw in raws:
        if raw.get("removed"):
            continue
        event = decode_log(raw, contract_of)
        if event is not None:
            seen.setdefault(event.key, event)
    return sorted(seen.values(), key=lambda e: e.position)
