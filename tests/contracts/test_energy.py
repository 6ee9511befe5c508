"""NodeRegistry energy (issue 13): energy credited from heartbeats (watts x interval capped at
the heartbeat timeout, or the node's own monotonic counter), the measured/estimated source,
per-class and network totals in one call, and the declared renewable share."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contracts._helpers import only_event, reverts_with
from tests.contracts.conftest import (
    CPU,
    CPU_MIN_STAKE,
    GPU,
    GPU_WATT_LIMIT,
    HEARTBEAT_TIMEOUT,
    register,
    report_failure,
)

# The node's energy and counter fit its packed word, but the class's exact energy totals
# (readable in one call) are one more warm SSTORE (2,900) of the class word the heartbeat already
# reads for the watt limit, and the event carries the node's new energy and counter (+512):
# about 35.2k (estimated) / 35.4k (counter), above the 34,500, whose floor with exact
# per-heartbeat class totals is about 34.6k even with the old event (see the closing note)
HEARTBEAT_GAS_BUDGET = 34_500  # issue 13: a second slot (the class totals) is written
MAX_WATTS = 2**24 - 1
ACTIVE, THROTTLED, FAILED, EXITING = 1, 2, 3, 4


def _beat(registry: Any, owner: Any, node_id: int, chain: Any, after: int, watts: int, **kw: Any):
    """A heartbeat `after` seconds after the latest block (counter in `energy`, if given)."""
    chain.pending_timestamp = chain.blocks.head.timestamp + after
    if "energy" in kw:
        return registry.heartbeat(node_id, 5_000, watts, kw["energy"], sender=owner)
    return registry.heartbeat(node_id, 5_000, watts, sender=owner)


def _energy(registry: Any, node_id: int) -> tuple[int, int, bool, int]:
    return tuple(registry.energyOf(node_id))  # type: ignore[return-value]


def _class_totals(registry: Any, cls: bytes) -> tuple[int, int]:
    _, _, classes, energy, measured = registry.energyTotals()
    index = [bytes(c) for c in classes].index(cls)
    return int(energy[index]), int(measured[index])


# ------------------------------------------------------------------ accumulation
def test_estimated_heartbeat_earns_watts_times_the_interval(
    registry: Any, alice: Any, chain: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice)
    _beat(registry, alice, node_id, chain, 60, 100)
    assert _energy(registry, node_id) == (100 * 60, 0, False, 0)
    receipt = _beat(registry, alice, node_id, chain, 30, 250)
    gas = gas_log.record("NodeRegistry.heartbeat", receipt)
    assert gas <= HEARTBEAT_GAS_BUDGET, gas
    log = only_event(receipt, registry.HeartbeatRecorded)
    assert (log.nodeId, log.loadBps, log.watts) == (node_id, 5_000, 250)
    assert (log.energyJ, log.counterJ) == (100 * 60 + 250 * 30, 0)
    assert _energy(registry, node_id) == (6_000 + 7_500, 0, False, 0)
    assert _class_totals(registry, GPU) == (13_500, 0)


def test_silent_gap_is_credited_at_most_the_heartbeat_timeout(
    registry: Any, alice: Any, chain: Any
) -> None:
    """A node silent for three timeouts is not credited its last reading for the whole gap: the
    credited interval is capped at the heartbeat timeout (the registry's own liveness bound)."""
    node_id = register(registry, alice)
    _beat(registry, alice, node_id, chain, 10, 0)
    log = only_event(
        _beat(registry, alice, node_id, chain, 3 * HEARTBEAT_TIMEOUT, 300),
        registry.HeartbeatRecorded,
    )
    assert log.energyJ == 300 * HEARTBEAT_TIMEOUT


def test_timeout_change_moves_the_cap_of_every_class(
    registry: Any, admin: Any, alice: Any, bob: Any, chain: Any
) -> None:
    gpu = register(registry, alice)
    cpu = register(registry, bob, cls=CPU, stake=CPU_MIN_STAKE)
    registry.setParameters((600, 3_600, 2_000, 1_000, 60, 5_000), sender=admin)
    for owner, node in ((alice, gpu), (bob, cpu)):
        _beat(registry, owner, node, chain, 10, 0)
        log = only_event(_beat(registry, owner, node, chain, 900, 10), registry.HeartbeatRecorded)
        assert log.energyJ == 10 * 600


def test_counter_earns_its_increase_and_counts_as_measured(
    registry: Any, alice: Any, chain: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice)
    # the first counter sets the baseline and earns watts x interval
    first = only_event(
        _beat(registry, alice, node_id, chain, 60, 200, energy=5_000_000),
        registry.HeartbeatRecorded,
    )
    assert (first.energyJ, first.counterJ) == (200 * 60, 5_000_000)
    assert _energy(registry, node_id) == (12_000, 5_000_000, True, 0)
    receipt = _beat(registry, alice, node_id, chain, 60, 210, energy=5_012_345)
    gas = gas_log.record("NodeRegistry.heartbeat[counter]", receipt)
    assert gas <= HEARTBEAT_GAS_BUDGET, gas
    log = only_event(receipt, registry.HeartbeatRecorded)
    assert (log.energyJ, log.counterJ) == (12_000 + 12_345, 5_012_345)
    assert _class_totals(registry, GPU) == (24_345, 24_345)


def test_counter_never_goes_backwards_and_zero_drops_the_baseline(
    registry: Any, alice: Any, chain: Any
) -> None:
    node_id = register(registry, alice)
    first = _beat(registry, alice, node_id, chain, 60, 100, energy=1_000)
    with reverts_with(
        registry.NodeRegistryEnergyCounterBackwards, nodeId=node_id, counterJ=999, previousJ=1_000
    ):
        registry.heartbeat(node_id, 0, 100, 999, sender=alice)
    # an agent that lost its counter sends one heartbeat without it (estimated) ...
    lost = _beat(registry, alice, node_id, chain, 60, 100)
    log = only_event(lost, registry.HeartbeatRecorded)
    assert log.counterJ == 0 and _energy(registry, node_id)[2] is False
    energy = 100 * 60 + 100 * (lost.timestamp - first.timestamp)
    assert log.energyJ == energy
    # ... and its next counter, whatever its value, is a new baseline (earning watts x interval)
    again = _beat(registry, alice, node_id, chain, 60, 100, energy=7)
    log = only_event(again, registry.HeartbeatRecorded)
    assert (log.counterJ, log.energyJ) == (7, energy + 100 * (again.timestamp - lost.timestamp))


def test_counter_jump_is_capped_at_the_largest_power_over_the_interval(
    registry: Any, alice: Any, chain: Any
) -> None:
    """Credited at most 2^24 - 1 W x the interval; the baseline moves by what was credited and
    the next heartbeat credits the rest."""
    node_id = register(registry, alice)
    _beat(registry, alice, node_id, chain, 10, 0, energy=1)
    jump = 1 + 3 * MAX_WATTS * 60
    log = only_event(
        _beat(registry, alice, node_id, chain, 60, 0, energy=jump), registry.HeartbeatRecorded
    )
    assert (log.energyJ, log.counterJ) == (MAX_WATTS * 60, 1 + MAX_WATTS * 60)
    log = only_event(
        _beat(registry, alice, node_id, chain, 120, 0, energy=jump), registry.HeartbeatRecorded
    )
    assert (log.energyJ, log.counterJ) == (3 * MAX_WATTS * 60, jump)  # the rest, credited


def test_counter_glitch_is_credited_as_estimated_and_becomes_the_baseline(
    registry: Any, alice: Any, chain: Any
) -> None:
    """An increase no power could explain over a whole heartbeat timeout is a glitch: the beat
    earns watts x interval and the counter is the new baseline (never paid out later)."""
    node_id = register(registry, alice)
    _beat(registry, alice, node_id, chain, 10, 0, energy=1)
    glitch = 2 + MAX_WATTS * HEARTBEAT_TIMEOUT
    log = only_event(
        _beat(registry, alice, node_id, chain, 60, 200, energy=glitch), registry.HeartbeatRecorded
    )
    assert (log.energyJ, log.counterJ) == (200 * 60, glitch)
    log = only_event(
        _beat(registry, alice, node_id, chain, 60, 200, energy=glitch + 500),
        registry.HeartbeatRecorded,
    )
    assert (log.energyJ, log.counterJ) == (200 * 60 + 500, glitch + 500)


def test_two_beats_in_one_second_lose_no_measured_energy(
    registry: Any, alice: Any, chain: Any
) -> None:
    """The cap is 0 J for a 0 s interval; the increase is credited by the next heartbeat."""
    node_id = register(registry, alice)
    _beat(registry, alice, node_id, chain, 10, 0, energy=1_000)
    first = _beat(registry, alice, node_id, chain, 10, 0, energy=2_000)
    chain.pending_timestamp = first.timestamp  # the same second
    same = only_event(
        registry.heartbeat(node_id, 0, 0, 5_000, sender=alice), registry.HeartbeatRecorded
    )
    before = only_event(first, registry.HeartbeatRecorded).energyJ
    assert (same.energyJ, same.counterJ) == (before, 2_000)  # nothing credited, baseline kept
    later = only_event(
        _beat(registry, alice, node_id, chain, 10, 0, energy=6_000), registry.HeartbeatRecorded
    )
    assert (later.energyJ, later.counterJ) == (before + 4_000, 6_000)


def test_counter_beyond_64_bits_reverts(registry: Any, alice: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryEnergyCounterOutOfRange, value=2**64, maximum=2**64 - 1):
        registry.heartbeat(node_id, 0, 0, 2**64, sender=alice)


def test_throttled_and_exiting_nodes_keep_counting(
    registry: Any, alice: Any, chain: Any, market_role_holder: Any
) -> None:
    node_id = register(registry, alice)
    receipt = _beat(registry, alice, node_id, chain, 10, GPU_WATT_LIMIT + 1)
    assert registry.getNode(node_id).status == THROTTLED
    assert only_event(receipt, registry.HeartbeatRecorded).energyJ == (GPU_WATT_LIMIT + 1) * 10
    registry.requestExit(node_id, sender=alice)
    receipt = _beat(registry, alice, node_id, chain, 10, 50)
    assert registry.getNode(node_id).status == EXITING
    assert (
        only_event(receipt, registry.HeartbeatRecorded).energyJ == (GPU_WATT_LIMIT + 1) * 10 + 500
    )


def test_energy_totals_are_the_sums_over_classes_and_nodes_in_one_call(
    registry: Any, alice: Any, bob: Any, carol: Any, chain: Any
) -> None:
    a = register(registry, alice)
    b = register(registry, bob)
    c = register(registry, carol, cls=CPU, stake=CPU_MIN_STAKE)
    _beat(registry, alice, a, chain, 20, 100)
    _beat(registry, bob, b, chain, 20, 50, energy=10)
    _beat(registry, bob, b, chain, 20, 50, energy=1_010)
    _beat(registry, carol, c, chain, 20, 30)
    total, measured, classes, per_class, measured_per_class = registry.energyTotals()
    nodes = {n: _energy(registry, n)[0] for n in (a, b, c)}
    by_class = dict(zip([bytes(x) for x in classes], per_class, strict=True))
    assert by_class[GPU] == nodes[a] + nodes[b]
    assert by_class[CPU] == nodes[c]
    assert total == sum(per_class) == sum(nodes.values())
    assert measured == sum(measured_per_class) == _energy(registry, b)[0]


def test_failed_node_keeps_its_energy_and_sends_no_more(
    registry: Any, alice: Any, carol: Any, chain: Any
) -> None:
    node_id = register(registry, alice)
    _beat(registry, alice, node_id, chain, 30, 100)
    report_failure(registry, chain, node_id, carol)
    assert _energy(registry, node_id)[0] == 3_000
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=FAILED):
        registry.heartbeat(node_id, 0, 100, 5, sender=alice)


# ------------------------------------------------------------------ renewable share
def test_renewable_share_is_declared_changed_and_emitted(
    registry: Any, alice: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice)
    receipt = registry.declareRenewableShare(node_id, 8_000, "ipfs://certificate", sender=alice)
    gas_log.record("NodeRegistry.declareRenewableShare", receipt)
    log = only_event(receipt, registry.RenewableShareDeclared)
    assert (log.nodeId, log.shareBps, log.evidenceURI) == (node_id, 8_000, "ipfs://certificate")
    assert _energy(registry, node_id)[3] == 8_000
    log = only_event(
        registry.declareRenewableShare(node_id, 10_000, "", sender=alice),
        registry.RenewableShareDeclared,
    )
    assert (log.shareBps, log.evidenceURI) == (10_000, "")
    # a heartbeat keeps the declaration
    registry.heartbeat(node_id, 0, 10, sender=alice)
    assert _energy(registry, node_id)[3] == 10_000


@pytest.mark.parametrize("share", [10_001, 2**256 - 1])
def test_renewable_share_above_10000_bps_reverts(registry: Any, alice: Any, share: int) -> None:
    node_id = register(registry, alice)
    with reverts_with(
        registry.NodeRegistryRenewableShareOutOfRange, shareBps=share, maximum=10_000
    ):
        registry.declareRenewableShare(node_id, share, "", sender=alice)


def test_renewable_share_only_by_the_owner_of_a_live_node(
    registry: Any, alice: Any, bob: Any, carol: Any, chain: Any
) -> None:
    node_id = register(registry, alice)
    with reverts_with(
        registry.NodeRegistryNotOwner, nodeId=node_id, caller=bob.address, owner=alice.address
    ):
        registry.declareRenewableShare(node_id, 1, "", sender=bob)
    with reverts_with(registry.NodeRegistryUnknownNode, nodeId=99):
        registry.declareRenewableShare(99, 1, "", sender=bob)
    report_failure(registry, chain, node_id, carol)
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=FAILED):
        registry.declareRenewableShare(node_id, 1, "", sender=alice)
