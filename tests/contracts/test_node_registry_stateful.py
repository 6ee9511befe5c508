"""Stateful property: whatever contributors, reporters and the market do, the VER held by the
registry equals the stakes still held plus the compensation not yet paid out, a failed node's
compensation is always its reserved units times the per-unit share fixed at the failure, and the
contract's own view of every node matches an independent model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.conftest import VER
from tests.contracts.conftest import (
    BOUNTY_BPS,
    BURN_BPS,
    CPU,
    CPU_MIN_STAKE,
    FAILURE_GRACE,
    GPU,
    GPU_MIN_STAKE,
    HEARTBEAT_TIMEOUT,
    SLASH_BPS,
    UNBONDING_PERIOD,
)

ACTIVE, THROTTLED, FAILED, EXITING, EXITED = 1, 2, 3, 4, 5
CLASSES = ((GPU, GPU_MIN_STAKE), (CPU, CPU_MIN_STAKE))


@dataclass
class ModelNode:
    owner: Any
    cls: bytes
    stake: int
    capacity: int
    reserved: int = 0
    status: int = ACTIVE
    compensation: int = 0
    per_unit: int = 0
    suspected_at: int = 0  # 0: no live suspicion


def test_registry_holds_exactly_stakes_plus_compensation(
    registry: Any,
    token: Any,
    chain: Any,
    alice: Any,
    bob: Any,
    carol: Any,
    stranger: Any,
    market_role_holder: Any,
) -> None:
    actors = (alice, bob, carol)

    class RegistryMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.snapshot = chain.snapshot()
            self.nodes: dict[int, ModelNode] = {}
            self.paid_out = 0

        def teardown(self) -> None:
            chain.restore(self.snapshot)

        def _live(self, *statuses: int) -> list[int]:
            return [i for i, n in sorted(self.nodes.items()) if n.status in statuses]

        @rule(
            actor=st.sampled_from(range(3)),
            cls=st.sampled_from(range(2)),
            extra=st.integers(0, 50),
            capacity=st.integers(1, 16),
        )
        def register(self, actor: int, cls: int, extra: int, capacity: int) -> None:
            owner = actors[actor]
            name, minimum = CLASSES[cls]
            if any(
                n.owner == owner and n.cls == name and n.status in (ACTIVE, THROTTLED, EXITING)
                for n in self.nodes.values()
            ):
                return
            stake = minimum + extra * VER
            receipt = registry.register(name, capacity, VER, stake, "", sender=owner)
            node_id = receipt.decode_logs(registry.NodeRegistered)[0].nodeId
            self.nodes[node_id] = ModelNode(owner, name, stake, capacity)

        @precondition(lambda self: self._live(ACTIVE, THROTTLED, EXITING))
        @rule(pick=st.integers(0, 100), watts=st.integers(0, 1_000))
        def heartbeat(self, pick: int, watts: int) -> None:
            ids = self._live(ACTIVE, THROTTLED, EXITING)
            node_id = ids[pick % len(ids)]
            node = self.nodes[node_id]
            registry.heartbeat(node_id, 5_000, watts, sender=node.owner)
            node.suspected_at = 0  # a heartbeat voids any suspicion
            if node.status != EXITING:
                over = node.cls == GPU and watts > 400
                node.status = THROTTLED if over else ACTIVE

        @precondition(lambda self: self._live(ACTIVE, THROTTLED))
        @rule(pick=st.integers(0, 100), amount=st.integers(1, 20))
        def add_stake(self, pick: int, amount: int) -> None:
            ids = self._live(ACTIVE, THROTTLED)
            node = self.nodes[ids[pick % len(ids)]]
            registry.addStake(ids[pick % len(ids)], amount * VER, sender=node.owner)
            node.stake += amount * VER

        @precondition(lambda self: self._live(ACTIVE))
        @rule(pick=st.integers(0, 100), units=st.integers(1, 4))
        def reserve(self, pick: int, units: int) -> None:
            ids = self._live(ACTIVE)
            node_id = ids[pick % len(ids)]
            node = self.nodes[node_id]
            if node.capacity - node.reserved < units:
                return
            registry.reserve(node_id, units, sender=market_role_holder)
            node.reserved += units

        @precondition(
            lambda self: any(n.reserved and n.status != FAILED for n in self.nodes.values())
        )
        @rule(pick=st.integers(0, 100))
        def release(self, pick: int) -> None:
            ids = [i for i, n in sorted(self.nodes.items()) if n.reserved and n.status != FAILED]
            node_id = ids[pick % len(ids)]
            registry.release(
                node_id,
                self.nodes[node_id].owner,
                self.nodes[node_id].reserved,
                sender=market_role_holder,
            )
            self.nodes[node_id].reserved = 0

        @precondition(lambda self: self._live(ACTIVE, THROTTLED))
        @rule(pick=st.integers(0, 100))
        def request_exit(self, pick: int) -> None:
            ids = self._live(ACTIVE, THROTTLED)
            node = self.nodes[ids[pick % len(ids)]]
            registry.requestExit(ids[pick % len(ids)], sender=node.owner)
            node.status = EXITING

        @rule(seconds=st.sampled_from([FAILURE_GRACE, HEARTBEAT_TIMEOUT + 1, UNBONDING_PERIOD]))
        def warp(self, seconds: int) -> None:
            chain.mine(1, timestamp=chain.blocks.head.timestamp + seconds)

        @precondition(lambda self: self._live(ACTIVE, THROTTLED, EXITING))
        @rule(pick=st.integers(0, 100))
        def report_failure(self, pick: int) -> None:
            ids = self._live(ACTIVE, THROTTLED, EXITING)
            node_id = ids[pick % len(ids)]
            last = registry.getNode(node_id).lastHeartbeatAt
            if chain.pending_timestamp <= last + HEARTBEAT_TIMEOUT:
                return
            node = self.nodes[node_id]
            if node.status == EXITING and node.reserved == 0:
                return  # nothing at risk: not reportable
            now = chain.pending_timestamp
            if node.suspected_at and now < node.suspected_at + FAILURE_GRACE:
                return  # the grace still runs
            receipt = registry.reportFailure(node_id, sender=stranger)
            if not node.suspected_at:
                assert receipt.decode_logs(registry.NodeFailed) == []
                node.suspected_at = receipt.timestamp
                return
            slashed = node.stake * SLASH_BPS // 10_000
            bounty = slashed * BOUNTY_BPS // 10_000
            pool = slashed - bounty - slashed * BURN_BPS // 10_000
            per_unit = pool // node.reserved if node.reserved else 0
            log = receipt.decode_logs(registry.NodeFailed)[0]
            assert (log.slashed, log.bounty, log.compensationPerUnit) == (slashed, bounty, per_unit)
            assert log.burned == slashed - bounty - per_unit * node.reserved
            node.stake -= slashed
            node.compensation = per_unit * node.reserved
            node.per_unit = per_unit
            node.status = FAILED
            node.suspected_at = 0
            self.paid_out += bounty

        @precondition(
            lambda self: any(n.reserved and n.status == FAILED for n in self.nodes.values())
        )
        @rule(pick=st.integers(0, 100), units=st.integers(1, 4))
        def claim_compensation(self, pick: int, units: int) -> None:
            ids = [i for i, n in sorted(self.nodes.items()) if n.reserved and n.status == FAILED]
            node_id = ids[pick % len(ids)]
            node = self.nodes[node_id]
            units = min(units, node.reserved)
            registry.claimCompensation(
                node_id, units, market_role_holder, sender=market_role_holder
            )
            node.reserved -= units
            node.compensation -= units * node.per_unit

        @precondition(lambda self: self._live(EXITING, FAILED))
        @rule(pick=st.integers(0, 100))
        def withdraw(self, pick: int) -> None:
            ids = [
                i
                for i in self._live(EXITING, FAILED)
                if self.nodes[i].stake and not self.nodes[i].reserved
            ]
            if not ids:
                return
            node_id = ids[pick % len(ids)]
            if chain.pending_timestamp < registry.getNode(node_id).unbondingEndsAt:
                return
            node = self.nodes[node_id]
            registry.withdraw(node_id, sender=node.owner)
            node.stake = 0
            if node.status == EXITING:
                node.status = EXITED

        @invariant()
        def ver_held_equals_stakes_plus_compensation(self) -> None:
            stakes = sum(n.stake for n in self.nodes.values())
            compensation = sum(n.compensation for n in self.nodes.values())
            assert token.balanceOf(registry) == stakes + compensation
            assert tuple(registry.totalHeld()) == (stakes, compensation)

        @invariant()
        def every_node_matches_the_model(self) -> None:
            for node_id, node in self.nodes.items():
                view = registry.getNode(node_id)
                assert (view.status, view.stake, view.reserved) == (
                    node.status,
                    node.stake,
                    node.reserved,
                )
                assert view.reserved <= view.capacity
                if node.status == FAILED:
                    assert registry.compensationHeld(node_id) == view.reserved * node.per_unit

    RegistryMachine.TestCase.settings = settings(
        max_examples=8,
        stateful_step_count=18,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    RegistryMachine.TestCase().runTest()
