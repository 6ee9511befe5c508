"""Events whose data the contracts pack into one word, and their unpacking into named fields.

HeartbeatRecorded (the network's most frequent event) carries the node's telemetry and energy
in one `uint256 telemetry` to save log-data gas; every reader of the chain layer sees the named
fields instead, in the order the registry's NatSpec lists them (least significant first).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (field, bits), least significant first, as INodeRegistry.HeartbeatRecorded documents it.
HEARTBEAT_TELEMETRY: tuple[tuple[str, int], ...] = (
    ("watts", 24),
    ("loadBps", 16),
    ("status", 8),
    ("classId", 16),
    ("energyJ", 64),
    ("counterJ", 64),
    ("renewableBps", 16),
)

# (contract, event) -> (the packed field, its layout)
PACKED_EVENTS: Mapping[tuple[str, str], tuple[str, tuple[tuple[str, int], ...]]] = {
    ("NodeRegistry", "HeartbeatRecorded"): ("telemetry", HEARTBEAT_TELEMETRY),
}


def unpack(value: int, layout: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """The named fields of `value` by `layout`; bits above the layout must be zero."""
    fields: dict[str, int] = {}
    for name, bits in layout:
        fields[name] = value & ((1 << bits) - 1)
        value >>= bits
    if value:
        raise ValueError(f"packed value has bits above its {len(layout)} fields: {value:#x}")
    return fields


def pack(fields: Mapping[str, int], layout: tuple[tuple[str, int], ...]) -> int:
    """The word of `fields` by `layout` (the inverse of `unpack`; for tests and fixtures)."""
    value, shift = 0, 0
    for name, bits in layout:
        field = int(fields.get(name, 0))
        if not 0 <= field < 1 << bits:
            raise ValueError(f"{name}={field} does not fit in {bits} bits")
        value |= field << shift
        shift += bits
    return value


def expand(contract: str, event: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """`args` with a packed field replaced by its named fields (in its place); others as given."""
    spec = PACKED_EVENTS.get((contract, event))
    if spec is None or spec[0] not in args:
        return dict(args)
    packed, layout = spec
    out: dict[str, Any] = {}
    for name, value in args.items():
        if name == packed:
            out.update(unpack(int(value), layout))
        else:
            out[name] = value
    return out
