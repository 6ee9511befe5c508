"""NodeRegistry: registration, telemetry, throttling, failure, exit and the market's capacity."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import VER
from tests.contracts._helpers import only_event, reverts_with, sign_permit, view_reverts_with
from tests.contracts.conftest import (
    ADMIN_DELAY,
    BOUNTY_BPS,
    BURN_BPS,
    CPU,
    CPU_MIN_STAKE,
    FAILURE_GRACE,
    GPU,
    GPU_MIN_STAKE,
    GPU_WATT_LIMIT,
    HEARTBEAT_TIMEOUT,
    SLASH_BPS,
    UNBONDING_PERIOD,
    register,
    report_failure,
)

ACTIVE, THROTTLED, FAILED, EXITING, EXITED = 1, 2, 3, 4, 5
ZERO_ADDRESS = "0x" + "00" * 20
# issue 13: the heartbeat also credits energy to the node (its packed word) and to its class (one
# more warm SSTORE of the class word it reads anyway): see test_energy.py
HEARTBEAT_GAS_BUDGET = 34_500  # issue 13: a second slot (the class totals) is written
# +22k since issue 13: the owner gets its own slot, so that the heartbeat's word has room for
# the node's energy and counter
REGISTER_GAS_BUDGET = 190_000


# ------------------------------------------------------------------ register
def test_register_pulls_stake_and_emits(
    registry: Any, token: Any, alice: Any, gas_log: Any
) -> None:
    before = token.balanceOf(alice)
    receipt = registry.register(GPU, 8, 3 * VER, 150 * VER, "ipfs://alice", sender=alice)
    assert gas_log.record("NodeRegistry.register", receipt) <= REGISTER_GAS_BUDGET
    log = only_event(receipt, registry.NodeRegistered)
    assert (log.nodeId, log.owner, log.capacity, log.pricePerUnitHour, log.stake) == (
        1,
        alice.address,
        8,
        3 * VER,
        150 * VER,
    )
    assert bytes(log.resourceClass) == GPU and log.metadataURI == "ipfs://alice"
    node = registry.getNode(1)
    assert node.owner == alice.address and node.status == ACTIVE and node.capacity == 8
    assert node.stake == 150 * VER and node.reserved == 0
    assert token.balanceOf(alice) == before - 150 * VER
    assert token.balanceOf(registry) == 150 * VER
    assert registry.nodeOf(alice, GPU) == 1 and registry.nodeCount() == 1
    assert registry.freeCapacity(1) == 8


def test_register_unknown_class_reverts(registry: Any, alice: Any) -> None:
    unknown = b"\x01" * 32
    with reverts_with(registry.NodeRegistryUnknownClass, **{"resourceClass": unknown}):
        registry.register(unknown, 8, VER, GPU_MIN_STAKE, "", sender=alice)


def test_register_zero_capacity_reverts(registry: Any, alice: Any) -> None:
    with reverts_with(registry.NodeRegistryInvalidCapacity, capacity=0):
        registry.register(GPU, 0, VER, GPU_MIN_STAKE, "", sender=alice)


def test_register_capacity_beyond_uint32_reverts(registry: Any, alice: Any) -> None:
    with reverts_with(registry.NodeRegistryInvalidCapacity, capacity=2**32):
        registry.register(GPU, 2**32, VER, GPU_MIN_STAKE, "", sender=alice)


def test_register_zero_price_reverts(registry: Any, alice: Any) -> None:
    with reverts_with(registry.NodeRegistryInvalidPrice, price=0):
        registry.register(GPU, 8, 0, GPU_MIN_STAKE, "", sender=alice)


def test_register_stake_below_class_minimum_reverts(registry: Any, alice: Any) -> None:
    with reverts_with(
        registry.NodeRegistryInsufficientStake, given=GPU_MIN_STAKE - 1, minimum=GPU_MIN_STAKE
    ):
        registry.register(GPU, 8, VER, GPU_MIN_STAKE - 1, "", sender=alice)


def test_register_twice_same_class_reverts(registry: Any, alice: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryAlreadyRegistered, owner=alice.address, nodeId=node_id):
        register(registry, alice)
    # another class is a separate registration
    assert register(registry, alice, cls=CPU, stake=CPU_MIN_STAKE) == node_id + 1


def test_register_without_allowance_reverts(
    registry: Any, token: Any, admin: Any, stranger: Any
) -> None:
    token.mint(stranger, GPU_MIN_STAKE, sender=admin)
    with reverts_with(token.ERC20InsufficientAllowance, needed=GPU_MIN_STAKE):
        registry.register(GPU, 8, VER, GPU_MIN_STAKE, "", sender=stranger)


def test_register_with_permit_stakes_in_one_transaction(
    registry: Any, token: Any, admin: Any, accounts: Any, chain: Any
) -> None:
    owner = accounts[7]
    token.mint(owner, GPU_MIN_STAKE, sender=admin)
    assert token.allowance(owner, registry) == 0
    deadline = chain.pending_timestamp + 3_600
    signed = sign_permit(token, owner, registry, GPU_MIN_STAKE, deadline)
    registry.registerWithPermit(
        GPU,
        4,
        VER,
        GPU_MIN_STAKE,
        "ipfs://permit",
        deadline,
        signed.v,
        signed.r.to_bytes(32, "big"),
        signed.s.to_bytes(32, "big"),
        sender=owner,
    )
    node_id = registry.nodeOf(owner, GPU)
    assert node_id == registry.nodeCount()
    assert registry.getNode(node_id).stake == GPU_MIN_STAKE
    assert token.balanceOf(owner) == 0


# ------------------------------------------------------------------ heartbeat + throttling
def test_heartbeat_records_telemetry_within_budget(
    registry: Any, alice: Any, chain: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice)
    registry.heartbeat(node_id, 1_000, 100, sender=alice)
    receipt = registry.heartbeat(node_id, 5_000, 250, sender=alice)
    gas = gas_log.record("NodeRegistry.heartbeat[telemetry]", receipt)
    assert gas <= HEARTBEAT_GAS_BUDGET, f"heartbeat used {gas} gas > {HEARTBEAT_GAS_BUDGET}"
    log = only_event(receipt, registry.HeartbeatRecorded)
    assert (log.nodeId, log.loadBps, log.watts) == (node_id, 5_000, 250)
    node = registry.getNode(node_id)
    assert (node.loadBps, node.watts) == (5_000, 250)
    assert node.lastHeartbeatAt == chain.blocks.head.timestamp
    assert receipt.decode_logs(registry.NodeStatusChanged) == []


def test_heartbeat_over_watt_limit_throttles_and_recovers(
    registry: Any, alice: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice)
    receipt = registry.heartbeat(node_id, 9_000, GPU_WATT_LIMIT + 1, sender=alice)
    gas_log.record("NodeRegistry.heartbeat[throttle]", receipt)
    log = only_event(receipt, registry.NodeStatusChanged)
    assert (log.nodeId, log["from"], log.to) == (node_id, ACTIVE, THROTTLED)
    assert registry.getNode(node_id).status == THROTTLED
    receipt = registry.heartbeat(node_id, 9_000, GPU_WATT_LIMIT, sender=alice)
    log = only_event(receipt, registry.NodeStatusChanged)
    assert (log["from"], log.to) == (THROTTLED, ACTIVE)


def test_heartbeat_class_without_watt_limit_never_throttles(registry: Any, alice: Any) -> None:
    node_id = register(registry, alice, cls=CPU, stake=CPU_MIN_STAKE)
    registry.heartbeat(node_id, 100, 2**24 - 1, sender=alice)
    assert registry.getNode(node_id).status == ACTIVE


def test_heartbeat_load_over_10000_bps_reverts(registry: Any, alice: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryLoadOutOfRange, loadBps=10_001, maximum=10_000):
        registry.heartbeat(node_id, 10_001, 100, sender=alice)
    registry.heartbeat(node_id, 10_000, 100, sender=alice)


def test_heartbeat_watts_beyond_field_reverts(registry: Any, alice: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryWattsOutOfRange, watts=2**24, maximum=2**24 - 1):
        registry.heartbeat(node_id, 0, 2**24, sender=alice)


def test_heartbeat_by_non_owner_reverts(registry: Any, alice: Any, bob: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(
        registry.NodeRegistryNotOwner, nodeId=node_id, caller=bob.address, owner=alice.address
    ):
        registry.heartbeat(node_id, 0, 0, sender=bob)


def test_heartbeat_unknown_node_reverts(registry: Any, alice: Any) -> None:
    with reverts_with(registry.NodeRegistryUnknownNode, nodeId=42):
        registry.heartbeat(42, 0, 0, sender=alice)


# ------------------------------------------------------------------ price / capacity / stake
def test_update_price_and_capacity_emit(registry: Any, alice: Any, gas_log: Any) -> None:
    node_id = register(registry, alice, capacity=8, price=3 * VER)
    receipt = registry.updatePrice(node_id, 2 * VER, sender=alice)
    gas_log.record("NodeRegistry.updatePrice", receipt)
    log = only_event(receipt, registry.PriceUpdated)
    assert (log.oldPrice, log.newPrice) == (3 * VER, 2 * VER)
    receipt = registry.updateCapacity(node_id, 16, sender=alice)
    log = only_event(receipt, registry.CapacityUpdated)
    assert (log.oldCapacity, log.newCapacity) == (8, 16)
    node = registry.getNode(node_id)
    assert (node.pricePerUnitHour, node.capacity) == (2 * VER, 16)


def test_update_price_zero_reverts(registry: Any, alice: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryInvalidPrice, price=0):
        registry.updatePrice(node_id, 0, sender=alice)


def test_update_capacity_zero_reverts(registry: Any, alice: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryInvalidCapacity, capacity=0):
        registry.updateCapacity(node_id, 0, sender=alice)


def test_update_capacity_below_reserved_reverts(
    registry: Any, alice: Any, market_role_holder: Any
) -> None:
    node_id = register(registry, alice, capacity=8)
    registry.reserve(node_id, 5, sender=market_role_holder)
    with reverts_with(
        registry.NodeRegistryCapacityBelowReserved, nodeId=node_id, capacity=4, reserved=5
    ):
        registry.updateCapacity(node_id, 4, sender=alice)


def test_update_by_non_owner_reverts(registry: Any, alice: Any, bob: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryNotOwner, caller=bob.address):
        registry.updatePrice(node_id, VER, sender=bob)
    with reverts_with(registry.NodeRegistryNotOwner, caller=bob.address):
        registry.updateCapacity(node_id, 1, sender=bob)
    with reverts_with(registry.NodeRegistryNotOwner, caller=bob.address):
        registry.requestExit(node_id, sender=bob)
    with reverts_with(registry.NodeRegistryNotOwner, caller=bob.address):
        registry.addStake(node_id, VER, sender=bob)


def test_add_stake_emits_and_holds(registry: Any, token: Any, alice: Any) -> None:
    node_id = register(registry, alice)
    receipt = registry.addStake(node_id, 5 * VER, sender=alice)
    log = only_event(receipt, registry.StakeAdded)
    assert (log.amount, log.newStake) == (5 * VER, GPU_MIN_STAKE + 5 * VER)
    assert token.balanceOf(registry) == GPU_MIN_STAKE + 5 * VER
    assert registry.totalHeld() == (GPU_MIN_STAKE + 5 * VER, 0)


# ------------------------------------------------------------------ failure
def _expire(registry: Any, chain: Any, node_id: int) -> None:
    chain.pending_timestamp = registry.getNode(node_id).lastHeartbeatAt + HEARTBEAT_TIMEOUT + 1


def test_report_failure_before_timeout_says_seconds_left(
    registry: Any, alice: Any, carol: Any, chain: Any
) -> None:
    node_id = register(registry, alice)
    registry.heartbeat(node_id, 0, 0, sender=alice)
    last = registry.getNode(node_id).lastHeartbeatAt
    chain.pending_timestamp = last + 100
    with reverts_with(
        registry.NodeRegistryHeartbeatNotExpired,
        nodeId=node_id,
        secondsRemaining=HEARTBEAT_TIMEOUT - 100 + 1,
    ):
        registry.reportFailure(node_id, sender=carol)
    chain.pending_timestamp = last + HEARTBEAT_TIMEOUT
    with reverts_with(registry.NodeRegistryHeartbeatNotExpired, secondsRemaining=1):
        registry.reportFailure(node_id, sender=carol)


def test_first_report_raises_a_suspicion_the_grace_runs_then_fails(
    registry: Any, token: Any, alice: Any, carol: Any, stranger: Any, chain: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice)
    _expire(registry, chain, node_id)
    receipt = registry.reportFailure(node_id, sender=carol)
    gas_log.record("NodeRegistry.reportFailure[suspect]", receipt)
    log = only_event(receipt, registry.NodeSuspected)
    assert (log.nodeId, log.reporter, log.failableAt) == (
        node_id,
        carol.address,
        receipt.timestamp + FAILURE_GRACE,
    )
    assert receipt.decode_logs(registry.NodeFailed) == []
    assert tuple(registry.suspicionOf(node_id)) == (
        carol.address,
        receipt.timestamp,
        receipt.timestamp + FAILURE_GRACE,
    )
    assert registry.getNode(node_id).status == ACTIVE
    chain.pending_timestamp = receipt.timestamp + FAILURE_GRACE - 10
    with reverts_with(registry.NodeRegistryFailureGracePeriod, nodeId=node_id, secondsRemaining=10):
        registry.reportFailure(node_id, sender=stranger)
    # the bounty goes to whoever raised the suspicion, not to the one who finalizes it
    chain.pending_timestamp = receipt.timestamp + FAILURE_GRACE
    before = token.balanceOf(carol)
    failed = registry.reportFailure(node_id, sender=stranger)
    assert only_event(failed, registry.NodeFailed).reporter == carol.address
    assert token.balanceOf(carol) > before
    assert registry.getNode(node_id).status == FAILED
    assert tuple(registry.suspicionOf(node_id)) == (ZERO_ADDRESS, 0, 0)


def test_heartbeat_during_the_grace_voids_the_suspicion(
    registry: Any, alice: Any, carol: Any, chain: Any
) -> None:
    """What saves every node after a sequencer outage: at the restart the first report can only
    suspect, and a node that sends a heartbeat within the grace is not failed."""
    node_id = register(registry, alice)
    # no block for longer than the heartbeat timeout, then bots report at the restart
    _expire(registry, chain, node_id)
    suspected = registry.reportFailure(node_id, sender=carol)
    registry.heartbeat(node_id, 0, 0, sender=alice)
    assert tuple(registry.suspicionOf(node_id)) == (ZERO_ADDRESS, 0, 0)
    chain.pending_timestamp = suspected.timestamp + FAILURE_GRACE + 1
    with reverts_with(registry.NodeRegistryHeartbeatNotExpired, nodeId=node_id):
        registry.reportFailure(node_id, sender=carol)
    # silent again: it takes a new suspicion and a new grace
    _expire(registry, chain, node_id)
    receipt = registry.reportFailure(node_id, sender=carol)
    only_event(receipt, registry.NodeSuspected)
    assert registry.getNode(node_id).status == ACTIVE


def test_report_failure_slashes_burns_and_holds_per_reserved_unit(
    registry: Any,
    token: Any,
    alice: Any,
    carol: Any,
    chain: Any,
    gas_log: Any,
    market_role_holder: Any,
) -> None:
    stake = 200 * VER
    node_id = register(registry, alice, stake=stake)
    registry.reserve(node_id, 3, sender=market_role_holder)
    carol_before, supply = token.balanceOf(carol), token.totalSupply()
    receipt = report_failure(registry, chain, node_id, carol)
    gas_log.record("NodeRegistry.reportFailure", receipt)
    slashed = stake * SLASH_BPS // 10_000
    bounty = slashed * BOUNTY_BPS // 10_000
    pool = slashed - bounty - slashed * BURN_BPS // 10_000
    per_unit = pool // 3
    held = per_unit * 3
    log = only_event(receipt, registry.NodeFailed)
    assert (log.nodeId, log.reporter, log.slashed, log.bounty) == (
        node_id,
        carol.address,
        slashed,
        bounty,
    )
    assert (log.burned, log.compensationHeld, log.units, log.compensationPerUnit) == (
        slashed - bounty - held,
        held,
        3,
        per_unit,
    )
    status = only_event(receipt, registry.NodeStatusChanged)
    assert (status["from"], status.to) == (ACTIVE, FAILED)
    assert token.balanceOf(carol) == carol_before + bounty
    assert token.totalSupply() == supply - (slashed - bounty - held)
    assert registry.compensationHeld(node_id) == held
    assert registry.compensationPerUnit(node_id) == per_unit
    assert registry.getNode(node_id).stake == stake - slashed
    assert registry.totalHeld() == (stake - slashed, held)
    assert token.balanceOf(registry) == stake - slashed + held
    # a failed node is never live again: no heartbeat, no second report, no price change
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=FAILED):
        registry.heartbeat(node_id, 0, 0, sender=alice)
    with reverts_with(registry.NodeRegistryInvalidStatus, status=FAILED):
        registry.reportFailure(node_id, sender=carol)
    with reverts_with(registry.NodeRegistryInvalidStatus, status=FAILED):
        registry.updatePrice(node_id, VER, sender=alice)
    # ...but its owner may register a new node of the class
    assert registry.nodeOf(alice, GPU) == 0
    assert register(registry, alice) == node_id + 1


def test_idle_failure_burns_what_no_victim_can_claim(
    registry: Any, token: Any, alice: Any, carol: Any, chain: Any
) -> None:
    """Finding 3: a node failing with nothing reserved leaves nothing held (nobody could ever
    claim it): the reporter's bounty is paid, the rest of the slash is burned."""
    stake = 1_000 * VER
    node_id = register(registry, alice, stake=stake)
    supply = token.totalSupply()
    log = only_event(report_failure(registry, chain, node_id, carol), registry.NodeFailed)
    slashed = stake * SLASH_BPS // 10_000
    bounty = slashed * BOUNTY_BPS // 10_000
    assert (log.units, log.compensationHeld, log.compensationPerUnit) == (0, 0, 0)
    assert log.burned == slashed - bounty
    assert registry.compensationHeld(node_id) == 0 and registry.totalHeld()[1] == 0
    assert token.totalSupply() == supply - (slashed - bounty)
    assert token.balanceOf(registry) == stake - slashed


def test_idle_exiting_node_cannot_be_reported(
    registry: Any, alice: Any, carol: Any, chain: Any, market_role_holder: Any
) -> None:
    """Finding 7: an exiting node that runs nothing needs no heartbeats; one that still runs
    work does, until the work is released."""
    node_id = register(registry, alice)
    registry.requestExit(node_id, sender=alice)
    _expire(registry, chain, node_id)
    with reverts_with(registry.NodeRegistryNothingAtRisk, nodeId=node_id):
        registry.reportFailure(node_id, sender=carol)
    busy = register(registry, alice, cls=CPU, stake=CPU_MIN_STAKE)
    registry.reserve(busy, 1, sender=market_role_holder)
    registry.requestExit(busy, sender=alice)
    _expire(registry, chain, busy)
    only_event(registry.reportFailure(busy, sender=carol), registry.NodeSuspected)
    registry.release(busy, alice, 1, sender=market_role_holder)
    chain.pending_timestamp = chain.blocks.head.timestamp + FAILURE_GRACE
    with reverts_with(registry.NodeRegistryNothingAtRisk, nodeId=busy):
        registry.reportFailure(busy, sender=carol)
    # the unbonding was never restarted: the owner withdraws on time
    chain.pending_timestamp = registry.getNode(node_id).unbondingEndsAt
    registry.withdraw(node_id, sender=alice)


def test_failure_uses_the_parameters_in_force_when_it_happened(
    registry: Any, admin: Any, alice: Any, carol: Any, chain: Any, market_role_holder: Any
) -> None:
    node_id = register(registry, alice, stake=200 * VER)
    registry.reserve(node_id, 2, sender=market_role_holder)
    report_failure(registry, chain, node_id, carol)
    held, per_unit = registry.compensationHeld(node_id), registry.compensationPerUnit(node_id)
    ends = registry.getNode(node_id).unbondingEndsAt
    registry.setParameters((600, 7_200, 5_000, 0, 600, 10_000), sender=admin)
    assert registry.compensationHeld(node_id) == held
    assert registry.compensationPerUnit(node_id) == per_unit
    assert registry.getNode(node_id).unbondingEndsAt == ends
    amount = registry.claimCompensation(node_id, 1, market_role_holder, sender=market_role_holder)
    assert amount.return_value == per_unit


def test_report_failure_unknown_node_reverts(registry: Any, carol: Any) -> None:
    with reverts_with(registry.NodeRegistryUnknownNode, nodeId=7):
        registry.reportFailure(7, sender=carol)


def test_failed_node_stake_withdrawn_after_unbonding(
    registry: Any, token: Any, alice: Any, carol: Any, chain: Any
) -> None:
    node_id = register(registry, alice, stake=GPU_MIN_STAKE)
    report_failure(registry, chain, node_id, carol)
    ends = registry.getNode(node_id).unbondingEndsAt
    chain.pending_timestamp = ends - 10
    with reverts_with(registry.NodeRegistryStillUnbonding, nodeId=node_id, secondsRemaining=10):
        registry.withdraw(node_id, sender=alice)
    chain.pending_timestamp = ends
    before = token.balanceOf(alice)
    registry.withdraw(node_id, sender=alice)
    remaining = GPU_MIN_STAKE - GPU_MIN_STAKE * SLASH_BPS // 10_000
    assert token.balanceOf(alice) == before + remaining
    assert registry.getNode(node_id).status == FAILED
    with reverts_with(registry.NodeRegistryNothingToWithdraw, nodeId=node_id):
        registry.withdraw(node_id, sender=alice)


# ------------------------------------------------------------------ exit
def test_exit_unbonds_then_withdraws(
    registry: Any, token: Any, alice: Any, chain: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice)
    receipt = registry.requestExit(node_id, sender=alice)
    gas_log.record("NodeRegistry.requestExit", receipt)
    ends = only_event(receipt, registry.ExitRequested).unbondingEndsAt
    assert ends == chain.blocks.head.timestamp + UNBONDING_PERIOD
    status = only_event(receipt, registry.NodeStatusChanged)
    assert (status["from"], status.to) == (ACTIVE, EXITING)
    # an exiting node still reports telemetry while its last work finishes
    registry.heartbeat(node_id, 10, 10, sender=alice)
    chain.pending_timestamp = ends - 60
    with reverts_with(registry.NodeRegistryStillUnbonding, nodeId=node_id, secondsRemaining=60):
        registry.withdraw(node_id, sender=alice)
    chain.pending_timestamp = ends
    before = token.balanceOf(alice)
    receipt = registry.withdraw(node_id, sender=alice)
    gas_log.record("NodeRegistry.withdraw", receipt)
    log = only_event(receipt, registry.StakeWithdrawn)
    assert (log.nodeId, log.owner, log.amount) == (node_id, alice.address, GPU_MIN_STAKE)
    assert token.balanceOf(alice) == before + GPU_MIN_STAKE
    assert registry.getNode(node_id).status == EXITED
    assert registry.totalHeld() == (0, 0)
    with reverts_with(registry.NodeRegistryInvalidStatus, status=EXITED):
        registry.withdraw(node_id, sender=alice)


def test_withdraw_active_node_reverts(registry: Any, alice: Any, bob: Any) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=ACTIVE):
        registry.withdraw(node_id, sender=alice)
    with reverts_with(registry.NodeRegistryNotOwner, caller=bob.address):
        registry.withdraw(node_id, sender=bob)


def test_withdraw_with_reserved_capacity_reverts(
    registry: Any, alice: Any, chain: Any, market_role_holder: Any
) -> None:
    node_id = register(registry, alice)
    registry.reserve(node_id, 2, sender=market_role_holder)
    registry.requestExit(node_id, sender=alice)
    chain.pending_timestamp = registry.getNode(node_id).unbondingEndsAt
    with reverts_with(registry.NodeRegistryCapacityStillReserved, nodeId=node_id, reserved=2):
        registry.withdraw(node_id, sender=alice)
    registry.release(node_id, alice, 2, sender=market_role_holder)
    registry.withdraw(node_id, sender=alice)


# ------------------------------------------------------------------ market role
def test_reserve_and_release_track_free_capacity(
    registry: Any, alice: Any, market_role_holder: Any, gas_log: Any
) -> None:
    node_id = register(registry, alice, capacity=8)
    receipt = registry.reserve(node_id, 3, sender=market_role_holder)
    gas_log.record("NodeRegistry.reserve", receipt)
    log = only_event(receipt, registry.CapacityReserved)
    assert (log.nodeId, log.units, log.reserved) == (node_id, 3, 3)
    assert registry.freeCapacity(node_id) == 5
    with reverts_with(
        registry.NodeRegistryInsufficientFreeCapacity, nodeId=node_id, requested=6, free=5
    ):
        registry.reserve(node_id, 6, sender=market_role_holder)
    receipt = registry.release(node_id, alice, 2, sender=market_role_holder)
    log = only_event(receipt, registry.CapacityReleased)
    assert (log.units, log.reserved) == (2, 1)
    with reverts_with(
        registry.NodeRegistryReleaseExceedsReserved, nodeId=node_id, released=2, reserved=1
    ):
        registry.release(node_id, alice, 2, sender=market_role_holder)


def test_release_refuses_a_failed_node_and_a_wrong_owner(
    registry: Any, alice: Any, bob: Any, carol: Any, chain: Any, market_role_holder: Any
) -> None:
    """A failed node's units leave only with their compensation (claimCompensation), so the
    registry's compensationHeld == reserved x compensationPerUnit holds whatever the market
    does; the owner the market names is checked, a wrong one reads status None."""
    node_id = register(registry, alice, capacity=8)
    registry.reserve(node_id, 3, sender=market_role_holder)
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=0):
        registry.release(node_id, bob, 1, sender=market_role_holder)
    report_failure(registry, chain, node_id, carol)
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=FAILED):
        registry.release(node_id, alice, 1, sender=market_role_holder)
    per_unit = registry.compensationPerUnit(node_id)
    assert per_unit > 0
    assert registry.totalHeld().compensation == 3 * per_unit
    registry.claimCompensation(node_id, 1, bob, sender=market_role_holder)
    assert registry.totalHeld().compensation == 2 * per_unit
    assert registry.freeCapacity(node_id) == 8 - 2


def test_reserve_on_throttled_or_unknown_node_reverts(
    registry: Any, alice: Any, market_role_holder: Any
) -> None:
    node_id = register(registry, alice)
    registry.heartbeat(node_id, 0, GPU_WATT_LIMIT + 1, sender=alice)
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=THROTTLED):
        registry.reserve(node_id, 1, sender=market_role_holder)
    with reverts_with(registry.NodeRegistryUnknownNode, nodeId=99):
        registry.reserve(99, 1, sender=market_role_holder)


def test_market_functions_need_market_role(registry: Any, alice: Any, stranger: Any) -> None:
    node_id = register(registry, alice)
    role = registry.MARKET_ROLE()
    for call in (
        lambda: registry.reserve(node_id, 1, sender=stranger),
        lambda: registry.release(node_id, alice, 1, sender=stranger),
        lambda: registry.claimCompensation(node_id, 1, stranger, sender=stranger),
    ):
        with reverts_with(
            registry.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role
        ):
            call()


def test_claim_compensation_releases_units_and_pays_their_share(
    registry: Any, token: Any, alice: Any, carol: Any, chain: Any, market_role_holder: Any
) -> None:
    node_id = register(registry, alice, stake=GPU_MIN_STAKE)
    registry.reserve(node_id, 4, sender=market_role_holder)
    with reverts_with(registry.NodeRegistryInvalidStatus, nodeId=node_id, status=ACTIVE):
        registry.claimCompensation(node_id, 1, market_role_holder, sender=market_role_holder)
    report_failure(registry, chain, node_id, carol)
    per_unit = registry.compensationPerUnit(node_id)
    receipt = registry.claimCompensation(node_id, 3, market_role_holder, sender=market_role_holder)
    log = only_event(receipt, registry.CompensationClaimed)
    assert (log.nodeId, log.to, log.amount) == (node_id, market_role_holder.address, 3 * per_unit)
    released = only_event(receipt, registry.CapacityReleased)
    assert (released.units, released.reserved) == (3, 1)
    assert token.balanceOf(market_role_holder) == 3 * per_unit
    assert registry.compensationHeld(node_id) == per_unit
    with reverts_with(
        registry.NodeRegistryReleaseExceedsReserved, nodeId=node_id, released=2, reserved=1
    ):
        registry.claimCompensation(node_id, 2, market_role_holder, sender=market_role_holder)
    registry.claimCompensation(node_id, 1, market_role_holder, sender=market_role_holder)
    assert registry.compensationHeld(node_id) == 0 and registry.totalHeld()[1] == 0
    assert registry.getNode(node_id).reserved == 0


# ------------------------------------------------------------------ governance
NEW_PARAMS = (600, 7_200, 500, 0, 120, 2_500)


def test_governance_changes_emit_and_need_admin(registry: Any, admin: Any, stranger: Any) -> None:
    receipt = registry.setParameters(NEW_PARAMS, sender=admin)
    log = only_event(receipt, registry.ParametersSet)
    assert (log.heartbeatTimeout, log.unbondingPeriod, log.slashBps, log.reporterBountyBps) == (
        600,
        7_200,
        500,
        0,
    )
    assert (log.failureGrace, log.burnBps) == (120, 2_500)
    assert tuple(registry.parameters()) == NEW_PARAMS
    receipt = registry.setClassConfig(GPU, 5 * VER, 700, sender=admin)
    log = only_event(receipt, registry.ClassConfigured)
    assert (bytes(log.resourceClass), log.minStake, log.wattLimit) == (GPU, 5 * VER, 700)
    assert tuple(registry.classConfig(GPU)) == (True, 5 * VER, 700)
    with reverts_with(registry.AccessControlUnauthorizedAccount, account=stranger.address):
        registry.setParameters(NEW_PARAMS, sender=stranger)
    with reverts_with(registry.AccessControlUnauthorizedAccount, account=stranger.address):
        registry.setClassConfig(GPU, VER, 0, sender=stranger)


@pytest.mark.parametrize(
    ("params", "name", "value", "minimum", "maximum"),
    [
        ((59, 3_600, 100, 0, 60, 2_500), "heartbeatTimeout", 59, 60, 86_400),
        ((86_401, 3_600, 100, 0, 60, 2_500), "heartbeatTimeout", 86_401, 60, 86_400),
        ((60, 3_599, 100, 0, 60, 2_500), "unbondingPeriod", 3_599, 3_600, 90 * 86_400),
        (
            (60, 90 * 86_400 + 1, 100, 0, 60, 2_500),
            "unbondingPeriod",
            90 * 86_400 + 1,
            3_600,
            90 * 86_400,
        ),
        ((60, 3_600, 100, 0, 59, 2_500), "failureGrace", 59, 60, 86_400),
        ((60, 3_600, 100, 0, 86_401, 2_500), "failureGrace", 86_401, 60, 86_400),
        ((60, 3_600, 99, 0, 60, 2_500), "slashBps", 99, 100, 5_000),
        ((60, 3_600, 5_001, 0, 60, 2_500), "slashBps", 5_001, 100, 5_000),
        ((60, 3_600, 100, 5_001, 60, 2_500), "reporterBountyBps", 5_001, 0, 5_000),
        ((60, 3_600, 100, 0, 60, 2_499), "burnBps", 2_499, 2_500, 10_000),
        ((60, 3_600, 100, 5_000, 60, 5_001), "burnBps", 5_001, 2_500, 5_000),
    ],
)
def test_set_parameters_out_of_range_reverts(
    registry: Any,
    admin: Any,
    params: tuple[int, ...],
    name: str,
    value: int,
    minimum: int,
    maximum: int,
) -> None:
    with reverts_with(
        registry.NodeRegistryParameterOutOfRange,
        name=name.encode().ljust(32, b"\0"),
        value=value,
        minimum=minimum,
        maximum=maximum,
    ):
        registry.setParameters(params, sender=admin)


def test_set_class_config_bad_values_revert(registry: Any, admin: Any) -> None:
    with reverts_with(registry.NodeRegistryUnknownClass, **{"resourceClass": b"\0" * 32}):
        registry.setClassConfig(b"\0" * 32, VER, 1, sender=admin)
    with reverts_with(
        registry.NodeRegistryParameterOutOfRange, value=2**24, minimum=0, maximum=2**24 - 1
    ):
        registry.setClassConfig(GPU, VER, 2**24, sender=admin)
    with reverts_with(
        registry.NodeRegistryParameterOutOfRange, value=2**80, minimum=VER, maximum=2**80 - 1
    ):
        registry.setClassConfig(GPU, 2**80, 1, sender=admin)
    # a class without a minimum stake would make failures free
    with reverts_with(registry.NodeRegistryParameterOutOfRange, value=VER - 1, minimum=VER):
        registry.setClassConfig(GPU, VER - 1, 1, sender=admin)


def test_add_stake_beyond_the_stake_field_reverts(
    registry: Any, token: Any, admin: Any, alice: Any
) -> None:
    node_id = register(registry, alice)
    with reverts_with(registry.NodeRegistryInvalidParameter, value=GPU_MIN_STAKE + 2**96):
        registry.addStake(node_id, 2**96, sender=alice)


def test_pause_stops_registrations_but_not_heartbeats_reports_or_withdrawals(
    registry: Any, token: Any, admin: Any, alice: Any, bob: Any, carol: Any, chain: Any
) -> None:
    node_id = register(registry, alice)
    exiting = register(registry, bob)
    registry.requestExit(exiting, sender=bob)
    with reverts_with(
        registry.AccessControlUnauthorizedAccount,
        account=carol.address,
        neededRole=registry.PAUSER_ROLE(),
    ):
        registry.pause(sender=carol)
    registry.grantRole(registry.PAUSER_ROLE(), carol, sender=admin)
    receipt = registry.pause(sender=carol)
    assert only_event(receipt, registry.Paused).account == carol.address
    assert registry.paused()
    with reverts_with(registry.EnforcedPause):
        registry.register(GPU, 8, VER, GPU_MIN_STAKE, "", sender=carol)
    registry.heartbeat(node_id, 0, 0, sender=alice)
    chain.pending_timestamp = registry.getNode(exiting).unbondingEndsAt
    registry.withdraw(exiting, sender=bob)
    report_failure(registry, chain, node_id, carol)
    receipt = registry.unpause(sender=carol)
    assert only_event(receipt, registry.Unpaused).account == carol.address
    register(registry, carol)


def test_admin_transfer_takes_two_steps_and_the_delay(
    registry: Any, admin: Any, stranger: Any, chain: Any
) -> None:
    role = registry.DEFAULT_ADMIN_ROLE()
    # the admin role cannot be granted directly
    with reverts_with(registry.AccessControlEnforcedDefaultAdminRules):
        registry.grantRole(role, stranger, sender=admin)
    assert registry.defaultAdminDelay() == ADMIN_DELAY
    receipt = registry.beginDefaultAdminTransfer(stranger, sender=admin)
    schedule = only_event(receipt, registry.DefaultAdminTransferScheduled).acceptSchedule
    assert schedule == receipt.timestamp + ADMIN_DELAY
    with reverts_with(registry.AccessControlEnforcedDefaultAdminDelay, schedule=schedule):
        registry.acceptDefaultAdminTransfer(sender=stranger)
    chain.pending_timestamp = schedule + 1
    registry.acceptDefaultAdminTransfer(sender=stranger)
    assert registry.defaultAdmin() == stranger.address
    assert not registry.hasRole(role, admin)
    registry.setParameters(NEW_PARAMS, sender=stranger)


def test_get_node_unknown_reverts(registry: Any) -> None:
    view_reverts_with(registry, "getNode", (1,), registry.NodeRegistryUnknownNode, nodeId=1)


def test_set_class_config_when_class_table_full_reverts(
    registry: Any, admin: Any, chain: Any
) -> None:
    # Slot 11 holds the length of the class table (after AccessControlDefaultAdminRules' three
    # slots, Pausable's one and seven node mappings: `forge inspect NodeRegistry storageLayout`);
    # filling 65535 classes by transactions would take hours, so set the length.
    classes_slot = 11
    assert (
        int(chain.provider.web3.eth.get_storage_at(registry.address, classes_slot).hex(), 16) == 2
    )
    chain.provider.make_request(
        "anvil_setStorageAt", [registry.address, hex(classes_slot), "0x" + f"{2**16 - 1:064x}"]
    )
    with reverts_with(registry.NodeRegistryTooManyClasses, maximum=2**16 - 1):
        registry.setClassConfig(b"\x07" * 32, VER, 1, sender=admin)
