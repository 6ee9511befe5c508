"""Stateful property test of the market's money: random submit / top-up / assign / checkpoint /
complete / fail / cancel / settle / move / reassign / refund / withdraw / time travel, against a
Python model. Checkpoints and completions are refused once the task takes no more checkpoints
(its end; after a cancellation, the end of the completion window, before which settle is
refused), allocations at any price but the node's ask are refused, and a failure credits each
developer units x the per-unit compensation fixed by the failure. After every step:

* escrow invariant: VER.balanceOf(market) == totalEscrow + totalEarnings + totalCompensation, each
  total equal to the model's sum, and each task's escrow and unit counts equal to the model's;
* no developer pays for time after an assignment's last checkpoint: every closed assignment was
  paid exactly floor(units * price * (min(last checkpoint, task end) - start) / 3600), with the last
  checkpoint taken from the model's own record of commit times, and each task's spending (escrow
  deposited - escrow left - refunded) is exactly the sum of those payments.

Every example starts from the same chain snapshot and restores it at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import VER
from tests.contracts.conftest import FAILURE_GRACE, GPU, HEARTBEAT_TIMEOUT, register

# The market's fixtures (market, checkpoints, nodes, allocator, sponsor) load once per session as a
# plugin; the module is registered for assertion rewriting before its helpers are imported here.
pytest.register_assert_rewrite("tests.contracts._market_fixtures")
pytest_plugins = ["tests.contracts._market_fixtures"]

from tests.contracts._market_fixtures import (  # noqa: E402
    HOUR,
    cid,
)

NODE_PRICES = (3 * VER, 2 * VER, 4 * VER)  # alice, bob, carol (GPU, 8 units each)
COMPLETION_WINDOW = 3_600


@dataclass
class TaskModel:
    developer: Any
    max_price: int
    end: int
    pending: int
    running: int = 0
    escrow: int = 0
    deposited: int = 0
    refunded: int = 0
    cancelled: bool = False

    @property
    def deadline(self) -> int:
        """Until when checkpoints are taken: the end, or the end of the completion window."""
        return self.end + (COMPLETION_WINDOW if self.cancelled else 0)


@dataclass
class AssignmentModel:
    task: int
    node: int
    owner: Any
    units: int
    price: int
    start: int
    last_checkpoint: int
    step: int = 0
    status: str = "running"  # completed, moved, failed, reassigned, ended
    paid: int = 0


@dataclass
class NodeModel:
    owner: Any
    price: int
    free: int = 8
    failed: bool = False


@dataclass
class World:
    market: Any
    checkpoints: Any
    registry: Any
    token: Any
    allocator: Any
    reporter: Any
    developers: list[Any]
    node_ids: list[int]
    owners: list[Any]


def test_market_money_invariants(
    market: Any,
    checkpoints: Any,
    registry: Any,
    token: Any,
    nodes: Any,
    allocator: Any,
    developer: Any,
    sponsor: Any,
    alice: Any,
    bob: Any,
    carol: Any,
    stranger: Any,
    chain: Any,
) -> None:
    carol_gpu = register(registry, carol, GPU, 8, NODE_PRICES[2])
    world = World(
        market=market,
        checkpoints=checkpoints,
        registry=registry,
        token=token,
        allocator=allocator,
        reporter=stranger,
        developers=[developer, sponsor],
        node_ids=[nodes.alice, nodes.bob, carol_gpu],
        owners=[alice, bob, carol],
    )

    class MarketMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.w = world
            self.snapshot = chain.snapshot()
            self.now = chain.blocks.head.timestamp
            self.tasks: dict[int, TaskModel] = {}
            self.assignments: dict[int, AssignmentModel] = {}
            self.nodes: dict[int, NodeModel] = {
                node_id: NodeModel(owner, price)
                for node_id, owner, price in zip(
                    world.node_ids, world.owners, NODE_PRICES, strict=True
                )
            }
            self.earnings: dict[str, int] = {}
            self.compensation: dict[str, int] = {}

        # ---------------------------------------------------------- helpers
        def tick(self, seconds: int = 1) -> int:
            """The timestamp of the next transaction."""
            self.now += seconds
            chain.pending_timestamp = self.now
            return self.now

        def is_open(self, task: TaskModel, at: int) -> bool:
            return at < task.end and (task.pending + task.running) > 0

        def live_nodes(self) -> list[int]:
            return [n for n, m in self.nodes.items() if not m.failed]

        def running(self) -> list[int]:
            return [a for a, m in self.assignments.items() if m.status == "running"]

        def close(self, receipt: Any, aid: int, status: str, until: int) -> None:
            """Checks the AssignmentClosed of `aid` against the model and books the payment."""
            a = self.assignments[aid]
            task = self.tasks[a.task]
            paid_until = min(until, task.end)
            pay = a.units * a.price * (paid_until - a.start) // HOUR
            logs = [
                log
                for log in receipt.decode_logs(world.market.AssignmentClosed)
                if log.assignmentId == aid
            ]
            assert len(logs) == 1
            assert (logs[0].paidUntil, logs[0].earned) == (paid_until, pay)
            # never beyond the last checkpoint (a completion's final checkpoint is at `until`)
            assert paid_until <= (until if status == "completed" else a.last_checkpoint)
            a.status, a.paid = status, pay
            task.escrow -= pay
            key = a.owner.address
            self.earnings[key] = self.earnings.get(key, 0) + pay
            self.nodes[a.node].free += a.units
            if status != "moved":
                task.running -= a.units
                if status != "completed":
                    task.pending += a.units

        def open_assignment(
            self, receipt: Any, task_id: int, node_id: int, units: int, price: int, resumes: int = 0
        ) -> None:
            log = receipt.decode_logs(world.market.AssignmentCreated)[-1]
            assert (log.taskId, log.nodeId, log.units, log.pricePerUnitHour, log.resumesFrom) == (
                task_id,
                node_id,
                units,
                price,
                resumes,
            )
            node = self.nodes[node_id]
            node.free -= units
            self.assignments[int(log.assignmentId)] = AssignmentModel(
                task_id, node_id, node.owner, units, price, receipt.timestamp, receipt.timestamp
            )

        def open_tasks(self, at: int) -> list[int]:
            return sorted(t for t, m in self.tasks.items() if self.is_open(m, at))

        # ---------------------------------------------------------- developers
        @initialize(
            units=st.tuples(st.integers(2, 5), st.integers(2, 5)),
            duration=st.integers(HOUR, 4 * HOUR),
        )
        def start(self, units: tuple[int, int], duration: int) -> None:
            """Each developer starts with a task, half of it assigned."""
            for dev, n in enumerate(units):
                self.submit(dev, n, 5 * VER, duration)
            for i, task_id in enumerate(sorted(self.tasks)):
                node_id = world.node_ids[i]
                price = self.nodes[node_id].price
                at = self.tick()
                receipt = world.market.assign(
                    task_id, node_id, units[i] // 2, price, sender=world.allocator
                )
                assert receipt.timestamp == at
                self.tasks[task_id].pending -= units[i] // 2
                self.tasks[task_id].running += units[i] // 2
                self.open_assignment(receipt, task_id, node_id, units[i] // 2, price)

        @precondition(lambda self: len(self.tasks) < 6)
        @rule(
            dev=st.integers(0, 1),
            units=st.integers(1, 5),
            cap=st.sampled_from([VER, 2 * VER, 3 * VER, 5 * VER]),
            duration=st.integers(60, 3 * HOUR),
        )
        def submit(self, dev: int, units: int, cap: int, duration: int) -> None:
            developer = world.developers[dev]
            at = self.tick()
            receipt = world.market.submitTask(
                GPU, units, cap, duration, "ipfs://s", sender=developer
            )
            log = receipt.decode_logs(world.market.TaskSubmitted)[0]
            escrow = -(-units * cap * duration // HOUR)
            assert log.escrow == escrow and log.expiresAt == at + duration
            self.tasks[int(log.taskId)] = TaskModel(
                developer, cap, at + duration, units, 0, escrow, escrow
            )

        @precondition(lambda self: bool(self.open_tasks(self.now + 1)))
        @rule(data=st.data())
        def top_up(self, data: st.DataObject) -> None:
            task_id = data.draw(st.sampled_from(self.open_tasks(self.now + 1)))
            task = self.tasks[task_id]
            k = task.pending + task.running
            amount = data.draw(st.integers(0, max(1, 2 * k * task.max_price)))
            at = self.tick()
            extension = amount * HOUR // (k * task.max_price) if k else 0
            if not self.is_open(task, at) or extension == 0:
                with ape.reverts():
                    world.market.topUp(task_id, amount, sender=task.developer)
                return
            receipt = world.market.topUp(task_id, amount, sender=task.developer)
            assert receipt.timestamp == at
            task.end += extension
            task.escrow += amount
            task.deposited += amount

        @precondition(lambda self: bool(self.open_tasks(self.now + 1)))
        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            task_id = data.draw(st.sampled_from(self.open_tasks(self.now + 1)))
            task = self.tasks[task_id]
            at = self.tick()
            if not self.is_open(task, at):
                with ape.reverts():
                    world.market.cancel(task_id, sender=task.developer)
                return
            world.market.cancel(task_id, sender=task.developer)
            task.end = at
            task.cancelled = True

        @precondition(lambda self: len(self.open_tasks(self.now + 1)) < len(self.tasks))
        @rule(data=st.data())
        def refund(self, data: st.DataObject) -> None:
            ended = sorted(set(self.tasks) - set(self.open_tasks(self.now + 1)))
            task_id = data.draw(st.sampled_from(ended))
            task = self.tasks[task_id]
            at = self.tick()
            if self.is_open(task, at) or task.running or task.escrow == 0:
                with ape.reverts():
                    world.market.claimRefund(task_id, sender=task.developer)
                return
            world.market.claimRefund(task_id, sender=task.developer)
            task.refunded += task.escrow
            task.escrow = 0

        def _pull(self, account: Any, ledger: dict[str, int], pull: Any) -> None:
            """A pull payment (withdraw / claimCompensation): pays exactly what the model says
            is owed and zeroes it, or reverts when nothing is owed."""
            owed = ledger.get(account.address, 0)
            self.tick()
            if owed == 0:
                with ape.reverts():
                    pull(sender=account)
                return
            before = world.token.balanceOf(account)
            pull(sender=account)
            assert world.token.balanceOf(account) == before + owed
            ledger[account.address] = 0

        @precondition(lambda self: any(self.compensation.values()))
        @rule(dev=st.integers(0, 1))
        def claim_compensation(self, dev: int) -> None:
            self._pull(world.developers[dev], self.compensation, world.market.claimCompensation)

        # ---------------------------------------------------------- allocator
        @precondition(lambda self: any(t.pending for t in self.tasks.values()))
        @rule(data=st.data())
        def assign(self, data: st.DataObject) -> None:
            task_id = data.draw(
                st.sampled_from(sorted(t for t, m in self.tasks.items() if m.pending))
            )
            task = self.tasks[task_id]
            node_id = data.draw(st.sampled_from(self.live_nodes()))
            node = self.nodes[node_id]
            units = data.draw(st.integers(1, task.pending))
            price = data.draw(
                st.integers(min(node.price, task.max_price), max(node.price, task.max_price))
            )
            at = self.tick()
            ok = self.is_open(task, at) and units <= node.free and price == node.price
            ok = ok and price <= task.max_price
            if not ok:
                with ape.reverts():
                    world.market.assign(task_id, node_id, units, price, sender=world.allocator)
                return
            receipt = world.market.assign(task_id, node_id, units, price, sender=world.allocator)
            task.pending -= units
            task.running += units
            self.open_assignment(receipt, task_id, node_id, units, price)

        @precondition(lambda self: bool(self.running()))
        @rule(data=st.data())
        def move(self, data: st.DataObject) -> None:
            aid = data.draw(st.sampled_from(self.running()))
            a = self.assignments[aid]
            task = self.tasks[a.task]
            node_id = data.draw(st.sampled_from(self.live_nodes()))
            node = self.nodes[node_id]
            at = self.tick()
            ok = (
                node_id != a.node
                and self.is_open(task, at)
                and a.units <= node.free
                and node.price <= task.max_price
            )
            if not ok:
                with ape.reverts():
                    world.market.move(aid, node_id, sender=world.allocator)
                return
            receipt = world.market.move(aid, node_id, sender=world.allocator)
            self.close(receipt, aid, "moved", a.last_checkpoint)
            self.open_assignment(receipt, a.task, node_id, a.units, node.price, aid)

        @precondition(lambda self: any(a.status == "failed" for a in self.assignments.values()))
        @rule(data=st.data())
        def reassign(self, data: st.DataObject) -> None:
            failed = sorted(i for i, a in self.assignments.items() if a.status == "failed")
            aid = data.draw(st.sampled_from(failed))
            a = self.assignments[aid]
            task = self.tasks[a.task]
            node_id = data.draw(st.sampled_from(self.live_nodes()))
            node = self.nodes[node_id]
            at = self.tick()
            ok = (
                self.is_open(task, at)
                and a.units <= task.pending
                and a.units <= node.free
                and node.price <= task.max_price
            )
            if not ok:
                with ape.reverts():
                    world.market.reassign(aid, node_id, sender=world.allocator)
                return
            receipt = world.market.reassign(aid, node_id, sender=world.allocator)
            a.status = "reassigned"
            task.pending -= a.units
            task.running += a.units
            self.open_assignment(receipt, a.task, node_id, a.units, node.price, aid)

        # ---------------------------------------------------------- nodes
        @precondition(lambda self: bool(self.running()))
        @rule(data=st.data(), gap=st.integers(1, 3))
        def checkpoint(self, data: st.DataObject, gap: int) -> None:
            aid = data.draw(st.sampled_from(self.running()))
            a = self.assignments[aid]
            at = self.tick()
            if at >= self.tasks[a.task].deadline:
                with ape.reverts():
                    world.checkpoints.commit(
                        aid, a.step + gap, cid(f"{aid}-{a.step + gap}"), sender=a.owner
                    )
                return
            world.checkpoints.commit(
                aid, a.step + gap, cid(f"{aid}-{a.step + gap}"), sender=a.owner
            )
            a.step += gap
            a.last_checkpoint = at

        @precondition(lambda self: bool(self.running()))
        @rule(data=st.data())
        def complete(self, data: st.DataObject) -> None:
            aid = data.draw(st.sampled_from(self.running()))
            a = self.assignments[aid]
            at = self.tick()
            if at >= self.tasks[a.task].deadline:
                with ape.reverts():
                    world.market.complete(aid, cid(f"{aid}-final"), sender=a.owner)
                return
            receipt = world.market.complete(aid, cid(f"{aid}-final"), sender=a.owner)
            self.close(receipt, aid, "completed", at)
            a.last_checkpoint = at

        @precondition(
            lambda self: any(
                self.now + 1 >= self.tasks[self.assignments[a].task].end for a in self.running()
            )
        )
        @rule(data=st.data())
        def settle(self, data: st.DataObject) -> None:
            due = [
                a
                for a in self.running()
                if self.now + 1 >= self.tasks[self.assignments[a].task].end
            ]
            aid = data.draw(st.sampled_from(due))
            a = self.assignments[aid]
            at = self.tick()
            if at < self.tasks[a.task].deadline:
                with ape.reverts():
                    world.market.settle(aid, sender=world.reporter)
                return
            receipt = world.market.settle(aid, sender=world.reporter)
            self.close(receipt, aid, "ended", a.last_checkpoint)

        @precondition(lambda self: bool(self.running()))
        @rule(data=st.data())
        def fail(self, data: st.DataObject) -> None:
            node_id = data.draw(
                st.sampled_from(sorted({self.assignments[a].node for a in self.running()}))
            )
            node = self.nodes[node_id]
            last = world.registry.getNode(node_id).lastHeartbeatAt
            self.now = max(self.now, last + HEARTBEAT_TIMEOUT)
            self.tick()
            world.registry.reportFailure(node_id, sender=world.reporter)  # the suspicion
            self.tick(FAILURE_GRACE)
            world.registry.reportFailure(node_id, sender=world.reporter)
            node.failed = True
            per_unit = world.registry.compensationPerUnit(node_id)
            ids = sorted(
                i
                for i, a in self.assignments.items()
                if a.status == "running" and a.node == node_id
            )
            assert world.registry.compensationHeld(node_id) == per_unit * sum(
                self.assignments[i].units for i in ids
            )
            # settled in pages, the last page first: the order changes nothing
            pages = [ids[len(ids) // 2 :], ids[: len(ids) // 2]] if len(ids) > 1 else [ids]
            for page in pages:
                self.tick()
                receipt = world.market.settleNodeFailure(node_id, page, sender=world.reporter)
                for i in page:
                    a = self.assignments[i]
                    self.close(receipt, i, "failed", a.last_checkpoint)
                    dev = self.tasks[a.task].developer.address
                    self.compensation[dev] = self.compensation.get(dev, 0) + a.units * per_unit
            assert world.registry.compensationHeld(node_id) == 0
            # the owner brings a fresh node, so capacity does not run out
            self.tick()
            new_id = register(world.registry, node.owner, GPU, 8, node.price)
            self.nodes[new_id] = NodeModel(node.owner, node.price)

        @precondition(lambda self: any(self.earnings.values()))
        @rule(owner=st.integers(0, 2))
        def withdraw(self, owner: int) -> None:
            self._pull(world.owners[owner], self.earnings, world.market.withdraw)

        @rule(seconds=st.integers(1, HOUR))
        def time_travel(self, seconds: int) -> None:
            self.now += seconds

        # ---------------------------------------------------------- invariants
        @invariant()
        def escrow_invariant(self) -> None:
            escrow, earnings, compensation = world.market.totals()
            assert world.token.balanceOf(world.market) == escrow + earnings + compensation
            assert escrow == sum(t.escrow for t in self.tasks.values())
            assert earnings == sum(self.earnings.values())
            assert compensation == sum(self.compensation.values())

        @invariant()
        def tasks_match_the_model(self) -> None:
            for task_id, task in self.tasks.items():
                view = world.market.getTask(task_id)
                assert (view.escrow, view.pendingUnits, view.runningUnits, view.expiresAt) == (
                    task.escrow,
                    task.pending,
                    task.running,
                    task.end,
                )

        @invariant()
        def developers_pay_only_for_checkpointed_time(self) -> None:
            for task_id, task in self.tasks.items():
                mine = [a for a in self.assignments.values() if a.task == task_id]
                assert task.deposited - task.escrow - task.refunded == sum(a.paid for a in mine)
                for a in mine:
                    if a.status != "running":
                        until = min(a.last_checkpoint, task.end)
                        assert a.paid == a.units * a.price * max(0, until - a.start) // HOUR

        def teardown(self) -> None:
            chain.restore(self.snapshot)

    MarketMachine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run_state_machine_as_test(MarketMachine, settings=MarketMachine.TestCase.settings)
