"""Stateful property (issue 13): whatever heartbeats the nodes send (estimated power, energy
counters that grow, jump, go backwards or are lost), with time gaps shorter and longer than the
heartbeat timeout, each node's energy is the one the rule gives (an independent Python model),
each class's totals are exactly the sums over its nodes, and the network's the sums over the
classes; the renewable declarations are the model's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.conftest import VER
from tests.contracts._helpers import events_of
from tests.contracts.conftest import CPU, CPU_MIN_STAKE, GPU, GPU_MIN_STAKE, HEARTBEAT_TIMEOUT

MAX_WATTS = 2**24 - 1
CLASSES = ((GPU, GPU_MIN_STAKE), (CPU, CPU_MIN_STAKE))


@dataclass
class Node:
    owner: Any
    cls: bytes
    last: int  # time of the last heartbeat (or the registration)
    energy: int = 0
    measured: int = 0
    counter: int = 0
    renewable: int = 0


def test_energy_totals_equal_the_sums_over_nodes(
    registry: Any, chain: Any, alice: Any, bob: Any, carol: Any
) -> None:
    actors = (alice, bob, carol)

    class EnergyMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.snapshot = chain.snapshot()
            self.nodes: dict[int, Node] = {}
            # energy the session's other tests left on the classes (none: the chain is reverted)
            _, _, classes, energy, measured = registry.energyTotals()
            self.base = {
                bytes(c): (int(e), int(m))
                for c, e, m in zip(classes, energy, measured, strict=True)
            }

        def teardown(self) -> None:
            chain.restore(self.snapshot)

        @precondition(lambda self: len(self.nodes) < 5)
        @rule(actor=st.integers(0, 2), cls=st.integers(0, 1))
        def register(self, actor: int, cls: int) -> None:
            owner = actors[actor]
            name, stake = CLASSES[cls]
            if any(n.owner == owner and n.cls == name for n in self.nodes.values()):
                return
            receipt = registry.register(name, 8, VER, stake, "", sender=owner)
            node_id = int(receipt.decode_logs(registry.NodeRegistered)[0].nodeId)
            self.nodes[node_id] = Node(owner, name, receipt.timestamp)

        @precondition(lambda self: bool(self.nodes))
        @rule(
            pick=st.integers(0, 10),
            gap=st.sampled_from([1, 30, 61, HEARTBEAT_TIMEOUT, 3 * HEARTBEAT_TIMEOUT]),
            watts=st.integers(0, 2_000),
            mode=st.sampled_from(["estimate", "grow", "jump", "backwards"]),
            growth=st.integers(0, 10**7),
        )
        def heartbeat(self, pick: int, gap: int, watts: int, mode: str, growth: int) -> None:
            node_id = sorted(self.nodes)[pick % len(self.nodes)]
            node = self.nodes[node_id]
            counter = {
                "estimate": 0,
                "grow": node.counter + growth + 1,
                "jump": node.counter + 2**62,
                "backwards": node.counter - 1 if node.counter > 1 else 0,
            }[mode]
            counter = min(counter, 2**64 - 1)
            chain.pending_timestamp = chain.blocks.head.timestamp + gap
            if mode == "backwards" and node.counter > 1:
                with ape.reverts(registry.NodeRegistryEnergyCounterBackwards):
                    registry.heartbeat(node_id, 0, watts, counter, sender=node.owner)
                return
            receipt = registry.heartbeat(node_id, 5_000, watts, counter, sender=node.owner)
            interval = min(receipt.timestamp - node.last, HEARTBEAT_TIMEOUT)
            if counter == 0 or node.counter == 0:
                earned = watts * interval
            elif counter - node.counter > MAX_WATTS * HEARTBEAT_TIMEOUT:
                earned = watts * interval  # a glitch: estimated, the counter the new baseline
            elif counter - node.counter > MAX_WATTS * interval:
                # capped: the baseline moves by the credited part, later beats credit the rest
                earned = MAX_WATTS * interval
                counter = node.counter + earned
            else:
                earned = counter - node.counter
            node.energy += earned
            node.measured += earned if counter else 0
            node.counter, node.last = counter, receipt.timestamp
            log = events_of(receipt, registry.HeartbeatRecorded)[0]
            assert (log.energyJ, log.counterJ) == (node.energy, counter)

        @precondition(lambda self: bool(self.nodes))
        @rule(pick=st.integers(0, 10), share=st.integers(0, 10_000))
        def declare(self, pick: int, share: int) -> None:
            node_id = sorted(self.nodes)[pick % len(self.nodes)]
            node = self.nodes[node_id]
            registry.declareRenewableShare(node_id, share, "ipfs://evidence", sender=node.owner)
            node.renewable = share

        @invariant()
        def nodes_match_the_model(self) -> None:
            for node_id, node in self.nodes.items():
                energy, counter, measured, renewable = registry.energyOf(node_id)
                assert (energy, counter, measured, renewable) == (
                    node.energy,
                    node.counter,
                    node.counter != 0,
                    node.renewable,
                )

        @invariant()
        def totals_are_the_sums_over_nodes(self) -> None:
            total, measured, classes, energy, measured_per_class = registry.energyTotals()
            for cls, class_energy, class_measured in zip(
                classes, energy, measured_per_class, strict=True
            ):
                mine = [n for n in self.nodes.values() if n.cls == bytes(cls)]
                base_energy, base_measured = self.base.get(bytes(cls), (0, 0))
                assert class_energy == base_energy + sum(n.energy for n in mine)
                assert class_measured == base_measured + sum(n.measured for n in mine)
                assert class_measured <= class_energy
            assert total == sum(energy) and measured == sum(measured_per_class)

    EnergyMachine.TestCase.settings = settings(
        max_examples=10,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    EnergyMachine.TestCase().runTest()
