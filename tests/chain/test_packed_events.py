"""HeartbeatRecorded's packed telemetry word: unpacked by the chain layer into named fields."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_utils import keccak

from oracle.chain.events import decode_log
from oracle.chain.packed import HEARTBEAT_TELEMETRY, expand, pack, unpack

REGISTRY = "0x" + "11" * 20
FIELDS = {
    "watts": 2**24 - 1,
    "loadBps": 10_000,
    "status": 2,
    "classId": 7,
    "energyJ": 2**64 - 1,
    "counterJ": 5_012_345,
    "renewableBps": 8_000,
}


def test_layout_fills_the_word_the_registry_shifts_out() -> None:
    """The registry emits its 240-bit node word shifted right by the 32-bit timestamp."""
    assert sum(bits for _, bits in HEARTBEAT_TELEMETRY) == 240 - 32


def test_unpack_is_the_inverse_of_pack_at_every_field_edge() -> None:
    word = pack(FIELDS, HEARTBEAT_TELEMETRY)
    assert unpack(word, HEARTBEAT_TELEMETRY) == FIELDS
    assert unpack(0, HEARTBEAT_TELEMETRY) == dict.fromkeys(FIELDS, 0)
    # one field at a time at its widest: no neighbour is touched
    for name, bits in HEARTBEAT_TELEMETRY:
        alone = unpack(pack({name: 2**bits - 1}, HEARTBEAT_TELEMETRY), HEARTBEAT_TELEMETRY)
        assert alone == {**dict.fromkeys(FIELDS, 0), name: 2**bits - 1}


def test_bits_above_the_layout_and_fields_too_wide_are_refused() -> None:
    with pytest.raises(ValueError, match="bits above its 7 fields"):
        unpack(1 << 208, HEARTBEAT_TELEMETRY)
    with pytest.raises(ValueError, match="watts=16777216 does not fit in 24 bits"):
        pack({"watts": 2**24}, HEARTBEAT_TELEMETRY)


def test_expand_replaces_the_packed_field_in_place_and_leaves_other_events() -> None:
    word = pack(FIELDS, HEARTBEAT_TELEMETRY)
    args = expand("NodeRegistry", "HeartbeatRecorded", {"nodeId": 3, "telemetry": word})
    assert list(args) == ["nodeId", *FIELDS]
    assert args == {"nodeId": 3, **FIELDS}
    other = {"nodeId": 3, "telemetry": word}
    assert expand("NodeRegistry", "NodeStatusChanged", other) == other


def _raw(data: bytes) -> dict[str, object]:
    topic = keccak(text="HeartbeatRecorded(uint256,uint256)")
    return {
        "address": REGISTRY,
        "topics": ["0x" + topic.hex(), "0x" + encode(["uint256"], [3]).hex()],
        "data": "0x" + data.hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "ab" * 32,
        "logIndex": "0x0",
        "transactionHash": "0x" + "cd" * 32,
        "transactionIndex": "0x0",
    }


def test_decoded_heartbeat_log_carries_the_named_fields() -> None:
    word = pack(FIELDS, HEARTBEAT_TELEMETRY)
    event = decode_log(_raw(encode(["uint256"], [word])), {REGISTRY: "NodeRegistry"})
    assert event is not None and event.name == "HeartbeatRecorded"
    assert event.args == {"nodeId": 3, **FIELDS}


def test_heartbeat_log_with_bits_above_the_layout_is_not_fed_to_the_mirror() -> None:
    """A word the registry cannot emit (a foreign contract at the address, a wrong ABI) decodes
    to nothing rather than to fields that silently drop its high bits."""
    assert decode_log(_raw(encode(["uint256"], [1 << 250])), {REGISTRY: "NodeRegistry"}) is None
