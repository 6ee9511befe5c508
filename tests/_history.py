"""Random but valid histories on a deployed local chain, and the comparison of the event-built
mirror with the contracts' own views at a block.

`RandomHistory.run(steps)` drives registrations, heartbeats (some over the class's watt limit),
price, capacity and stake changes, exits and withdrawals, failures and their settlement, tasks
with top-ups, cancellations and refunds, committee reports (allocations, moves and VRF
reassignments), checkpoints, completions and payouts, with time jumps in between. Actions that
the chain refuses at that moment are simply not taken (each is checked by simulation first).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from oracle.allocation import allocate
from oracle.chain.mirror import Mirror
from oracle.chain.snapshot import read_snapshot
from oracle.cid import cid_bytes_for
from oracle.reports import Candidate, MoveEntry, Report, build_report, prove_reassignment
from scripts._committee import LOCAL_VRF_SECRET
from tests._localnet import CPU, GPU, RTX, VER, Localnet, Reverted

CLASSES = (GPU, RTX, CPU)
MIN_STAKE = {GPU: 100 * VER, RTX: 50 * VER, CPU: 10 * VER}
WATT_LIMIT = {GPU: 400, RTX: 450, CPU: 0}


class _Views:
    """The contracts' views through web3 at one block, in the mirror's shapes."""

    NODE = (
        "owner",
        "resource_class",
        "status",
        "capacity",
        "reserved",
        "price",
        "stake",
        "last_heartbeat_at",
        "load_bps",
        "watts",
        "unbonding_ends_at",
    )
    TASK = (
        "developer",
        "resource_class",
        "max_price",
        "escrow",
        "expires_at",
        "pending",
        "running",
        "seed",
        "status",
    )
    ASSIGNMENT = (
        "task_id",
        "node_id",
        "node_owner",
        "units",
        "price",
        "start_at",
        "last_checkpoint_at",
        "step",
        "codec",
        "resumes_from",
        "status",
    )

    def __init__(self, net: Localnet, block: int) -> None:
        self.c = net.contracts
        self.at = {"block_identifier": block}

    def node(self, node_id: int) -> dict[str, Any]:
        f = self.c.registry.functions
        out = dict(zip(self.NODE, f.getNode(node_id).call(**self.at), strict=True))
        out["compensation_held"] = f.compensationHeld(node_id).call(**self.at)
        out["compensation_per_unit"] = f.compensationPerUnit(node_id).call(**self.at)
        reporter, suspected_at, failable_at = f.suspicionOf(node_id).call(**self.at)
        out["suspected_by"] = "" if int(reporter, 16) == 0 else reporter
        out["suspected_at"], out["failable_at"] = suspected_at, failable_at
        return out

    def task(self, task_id: int) -> dict[str, Any]:
        f = self.c.market.functions
        out = dict(zip(self.TASK, f.getTask(task_id).call(**self.at), strict=True))
        out["checkpoints_close_at"] = f.checkpointDeadline(task_id).call(**self.at)
        return out

    def assignment(self, assignment_id: int) -> dict[str, Any]:
        f = self.c.market.functions
        out = dict(
            zip(self.ASSIGNMENT, f.getAssignment(assignment_id).call(**self.at), strict=True)
        )
        out["draws"] = f.drawsOf(assignment_id).call(**self.at)
        return out


def compare_at(net: Localnet, mirror: Mirror, block: int) -> int:
    """Asserts that the mirror equals the views at `block`; returns how many entities matched."""
    views = _Views(net, block)
    c = net.contracts
    at = views.at
    timestamp = net.timestamp(block)
    checked = 0
    node_count = c.registry.functions.nodeCount().call(**at)
    mirrored_nodes = {n.id: n for n in mirror.nodes_at(block)}
    assert sorted(mirrored_nodes) == list(range(1, node_count + 1)), f"nodes at block {block}"
    for node_id in range(1, node_count + 1):
        view, mine = views.node(node_id), mirrored_nodes[node_id]
        for key, value in view.items():
            assert getattr(mine, key) == value, f"node {node_id}.{key} at block {block}"
        checked += 1
    task_count = c.market.functions.taskCount().call(**at)
    mirrored_tasks = {t.id: t for t in mirror.tasks_at(block, timestamp)}
    assert sorted(mirrored_tasks) == list(range(1, task_count + 1)), f"tasks at block {block}"
    for task_id in range(1, task_count + 1):
        view, task = views.task(task_id), mirrored_tasks[task_id]
        for key, value in view.items():
            assert getattr(task, key) == value, f"task {task_id}.{key} at block {block}"
        checked += 1
    count = c.market.functions.assignmentCount().call(**at)
    mirrored = {a.id: a for a in mirror.assignments_at(block)}
    assert sorted(mirrored) == list(range(1, count + 1)), f"assignments at block {block}"
    for assignment_id in range(1, count + 1):
        view, mine_a = views.assignment(assignment_id), mirrored[assignment_id]
        for key, value in view.items():
            assert getattr(mine_a, key) == value, f"assignment {assignment_id}.{key} at {block}"
        checked += 1
    energy = mirror.energy_at(block)
    for node_id in range(1, node_count + 1):
        energy_j, counter_j, measured, renewable_bps = c.registry.functions.energyOf(node_id).call(
            **at
        )
        mine_e = energy[node_id]
        got = (mine_e.energy_j, mine_e.counter_j, mine_e.measured, mine_e.renewable_bps)
        assert got == (energy_j, counter_j, measured, renewable_bps), (
            f"energyOf({node_id}) at {block}"
        )
    total, measured_total, classes, class_energy, class_measured = (
        c.registry.functions.energyTotals().call(**at)
    )
    totals = mirror.energy_totals_at(block)
    assert (totals.energy_j, totals.measured_j) == (total, measured_total), f"energy at {block}"
    assert totals.classes == {
        bytes(k): (e, m) for k, e, m in zip(classes, class_energy, class_measured, strict=True)
    }, f"class energy at {block}"
    assert mirror.totals_at(block) == tuple(c.market.functions.totals().call(**at))
    assert mirror.paused_at(block) == c.registry.functions.paused().call(**at)
    assert mirror.latest_round_at(block) == tuple(c.verifier.functions.latestRound().call(**at))
    config = mirror.config_at(block)
    assert config is not None
    assert config["configDigest"] == "0x" + bytes(c.verifier.functions.config().call(**at)[0]).hex()
    # the allocation snapshot built from the mirror equals the one read view by view
    from oracle.chain.snapshot import snapshot_from_mirror

    assert snapshot_from_mirror(mirror, block, timestamp) == read_snapshot(
        _ViewAdapter(c.registry, block), _ViewAdapter(c.market, block), block
    )
    return checked


class _ViewAdapter:
    """Gives web3 contracts the ape-like call shape `read_snapshot` expects."""

    def __init__(self, contract: Any, block: int) -> None:
        self._contract = contract

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._contract.functions, name)

        def call(*args: Any, block_identifier: int) -> Any:
            result = fn(*args).call(block_identifier=block_identifier)
            return _Struct(fn(*args).abi, result)

        return call


class _Struct:
    def __init__(self, abi: dict[str, Any], value: Any) -> None:
        self._value = value
        outputs = abi.get("outputs", [])
        self._names: dict[str, int] = {}
        if len(outputs) == 1 and outputs[0].get("components"):
            self._names = {c["name"]: i for i, c in enumerate(outputs[0]["components"])}

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        return int(self._value)

    def __getattr__(self, name: str) -> Any:
        return self._value[self._names[name]]


@dataclass
class RandomHistory:
    net: Localnet
    rng: random.Random
    owners: list[Any] = field(default_factory=list)
    developers: list[Any] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)
    taken: dict[str, int] = field(default_factory=dict)
    counters: dict[int, int] = field(default_factory=dict)  # last energy counter sent per node
    # The energy choices draw from their own generator, so that they leave the sequence of the
    # other actions (and so what a seed covers) as it was before energy existed.
    energy_rng: random.Random = field(default_factory=lambda: random.Random(0))

    def __post_init__(self) -> None:
        # Block time from the chain's own clock (+1 s a block), not the wall clock, so that a
        # seed gives the same history on every run.
        self.net.rpc_call("anvil_setBlockTimestampInterval", 1)
        # hashing the state (a tuple of ints) draws nothing from the main generator
        self.energy_rng = random.Random(hash(self.rng.getstate()))
        self.owners = [self.net.account(i) for i in range(1, 7)]
        self.developers = [self.net.account(i) for i in range(7, 10)]
        for account in self.owners + self.developers:
            self.net.fund(account)

    # ------------------------------------------------------------------ reading
    @property
    def c(self) -> Any:
        return self.net.contracts

    def _nodes(self) -> list[tuple[int, Any]]:
        count = self.c.registry.functions.nodeCount().call()
        return [(i, self.c.registry.functions.getNode(i).call()) for i in range(1, count + 1)]

    def _assignments(self) -> list[tuple[int, Any]]:
        count = self.c.market.functions.assignmentCount().call()
        return [(i, self.c.market.functions.getAssignment(i).call()) for i in range(1, count + 1)]

    def _owner_of(self, address: str) -> Any:
        return next(a for a in self.owners + self.developers if a.address == address)

    def _try(self, name: str, call: Any, account: Any) -> bool:
        try:
            self.net.send(call, account)
        except Reverted:
            return False
        self.taken[name] = self.taken.get(name, 0) + 1
        self.blocks.append(self.net.head())
        return True

    # ------------------------------------------------------------------ actions
    def register(self) -> bool:
        owner = self.rng.choice(self.owners)
        cls = self.rng.choice(CLASSES)
        capacity = self.rng.randint(1, 12)
        price = self.rng.randint(1, 5) * VER // 2
        stake = MIN_STAKE[cls] + self.rng.randint(0, 3) * VER
        call = self.c.registry.functions.register(
            cls, capacity, price, stake, f"ipfs://n{capacity}"
        )
        return self._try("register", call, owner)

    def heartbeat(self) -> bool:
        nodes = [(i, n) for i, n in self._nodes() if n[2] in (1, 2, 4)]
        if not nodes:
            return False
        node_id, node = self.rng.choice(nodes)
        watts = self.rng.choice((50, 300, 420, 500))
        load = self.rng.randint(0, 10_000)
        # Half the beats carry the node's own energy counter: it mostly grows (sometimes by more
        # than the power field allows, which the registry caps), sometimes restarts (a beat
        # without it drops the baseline) and sometimes goes backwards (refused).
        counter = self.counters.get(node_id, 0)
        roll = self.energy_rng.random()
        if self.energy_rng.random() < 0.2:
            self.declare_renewable(node_id, node)
        if roll < 0.5:
            call = self.c.registry.functions.heartbeat(node_id, load, watts)
            self.counters[node_id] = 0
        else:
            if roll < 0.9 or counter == 0:
                counter += self.energy_rng.choice((1, watts * 60, 10**6, 2**40))
            else:
                counter -= 1
            call = self.c.registry.functions.heartbeat(node_id, load, watts, counter)
            if self._try("heartbeat", call, self._owner_of(node[0])):
                self.counters[node_id] = counter
                return True
            return False
        return self._try("heartbeat", call, self._owner_of(node[0]))

    def declare_renewable(self, node_id: int, node: Any) -> bool:
        share = self.energy_rng.choice((0, 2_500, 8_000, 10_000, 10_001))  # 10,001: refused
        call = self.c.registry.functions.declareRenewableShare(
            node_id, share, f"ipfs://cert{share}"
        )
        return self._try("declare renewable", call, self._owner_of(node[0]))

    def all_alive(self) -> bool:
        """Every live node heartbeats (so that time can pass without everyone failing)."""
        any_sent = False
        for node_id, node in self._nodes():
            # a suspected node answers with a heartbeat only sometimes, so some do fail
            suspected = self.c.registry.functions.suspicionOf(node_id).call()[2] != 0
            answer = (0.15 if node[4] else 0.3) if suspected else 0.8
            if node[2] in (1, 2, 4) and self.rng.random() < answer:
                call = self.c.registry.functions.heartbeat(node_id, 5_000, 100)
                any_sent |= self._try("heartbeat", call, self._owner_of(node[0]))
                self.counters[node_id] = 0  # a beat without a counter drops the baseline
        return any_sent

    def node_update(self) -> bool:
        nodes = [(i, n) for i, n in self._nodes() if n[2] in (1, 2)]
        if not nodes:
            return False
        node_id, node = self.rng.choice(nodes)
        owner = self._owner_of(node[0])
        kind = self.rng.choice(("price", "capacity", "stake", "exit"))
        f = self.c.registry.functions
        if kind == "price":
            return self._try(
                "updatePrice", f.updatePrice(node_id, self.rng.randint(1, 6) * VER // 2), owner
            )
        if kind == "capacity":
            return self._try(
                "updateCapacity",
                f.updateCapacity(node_id, node[4] + self.rng.randint(0, 4) or 1),
                owner,
            )
        if kind == "stake":
            return self._try("addStake", f.addStake(node_id, self.rng.randint(1, 5) * VER), owner)
        return self._try("requestExit", f.requestExit(node_id), owner)

    def withdraw_stake(self) -> bool:
        nodes = [(i, n) for i, n in self._nodes() if n[2] in (3, 4) and n[6] > 0]
        if not nodes:
            return False
        node_id, node = self.rng.choice(nodes)
        return self._try(
            "withdrawStake", self.c.registry.functions.withdraw(node_id), self._owner_of(node[0])
        )

    def report_failure(self) -> bool:
        timeout = self.c.registry.functions.parameters().call()[0]
        now = self.net.timestamp()
        nodes = [i for i, n in self._nodes() if n[2] in (1, 2, 4) and n[7] + timeout < now]
        if not nodes:
            return False
        # the first report raises a suspicion; one after the failure grace fails the node
        failable = [
            i for i in nodes if 0 < self.c.registry.functions.suspicionOf(i).call()[2] <= now
        ]
        node_id = self.rng.choice(failable or nodes)
        suspected = self.c.registry.functions.suspicionOf(node_id).call()[2] != 0
        call = self.c.registry.functions.reportFailure(node_id)
        return self._try(
            "reportFailure" if suspected else "suspect", call, self.rng.choice(self.developers)
        )

    def pause(self) -> bool:
        """The emergency pause, now and then, and lifted at the next chance."""
        f = self.c.registry.functions
        if f.paused().call():
            return self._try("unpause", f.unpause(), self.net.deployer)
        if self.rng.random() < 0.3:
            return self._try("pause", f.pause(), self.net.deployer)
        return False

    def settle_failure(self) -> bool:
        for node_id, node in self._nodes():
            if node[2] == 3 and node[4] > 0:
                running = [i for i, a in self._assignments() if a[1] == node_id and a[10] == 1]
                # a page: any part of the running work, in any order
                page = (
                    self.rng.sample(running, self.rng.randint(1, len(running))) if running else []
                )
                call = self.c.market.functions.settleNodeFailure(node_id, page)
                return self._try("settleNodeFailure", call, self.rng.choice(self.developers))
        return False

    def submit(self) -> bool:
        cls = self.rng.choice(CLASSES)
        call = self.c.market.functions.submitTask(
            cls,
            self.rng.randint(1, 6),
            self.rng.randint(1, 6) * VER,
            self.rng.choice((1800, 7200)),
            "spec",
        )
        return self._try("submitTask", call, self.rng.choice(self.developers))

    def task_action(self) -> bool:
        count = self.c.market.functions.taskCount().call()
        if not count:
            return False
        task_id = self.rng.randint(1, count)
        task = self.c.market.functions.getTask(task_id).call()
        developer = self._owner_of(task[0])
        f = self.c.market.functions
        kind = self.rng.choice(("topUp", "cancel", "claimRefund"))
        if kind == "topUp":
            return self._try("topUp", f.topUp(task_id, self.rng.randint(1, 20) * VER), developer)
        if kind == "cancel":
            return self._try("cancel", f.cancel(task_id), developer)
        return self._try("claimRefund", f.claimRefund(task_id), developer)

    def allocate(self) -> bool:
        block = self.net.head()
        snapshot = read_snapshot(
            _ViewAdapter(self.c.registry, block), _ViewAdapter(self.c.market, block), block
        )
        result = allocate(snapshot)
        if not result.entries:
            return False
        self.net.mine()
        report = build_report(
            result,
            config_digest=self.net.config_digest(),
            round=self.net.next_round(),
            snapshot_block=block,
            inputs_digest=b"\x11" * 32,
        )
        return self._transmit(report, "allocation")

    def move(self) -> bool:
        running = [(i, a) for i, a in self._assignments() if a[10] == 1]
        if not running:
            return False
        assignment_id, a = self.rng.choice(running)
        nodes = self._nodes()
        cls = nodes[a[1] - 1][1][1]
        targets = [
            i for i, n in nodes if n[1] == cls and n[2] == 1 and i != a[1] and n[3] - n[4] >= a[3]
        ]
        if not targets:
            return False
        self.net.mine()
        report = Report(
            self.net.config_digest(),
            self.net.next_round(),
            self.net.head() - 1,
            b"\x22" * 32,
            moves=(MoveEntry(assignment_id, self.rng.choice(targets)),),
        )
        return self._transmit(report, "move")

    def reassign(self) -> bool:
        failed = [(i, a) for i, a in self._assignments() if a[10] == 4]
        if not failed:
            return False
        assignment_id, a = self.rng.choice(failed)
        nodes = self._nodes()
        cls = nodes[a[1] - 1][1][1]
        task = self.c.market.functions.getTask(a[0]).call()
        candidates = [
            Candidate(i, n[3] - n[4])
            for i, n in nodes
            if n[1] == cls and n[2] == 1 and n[3] - n[4] >= a[3] and n[5] <= task[2]
        ]
        if not candidates:
            return False
        entry = prove_reassignment(
            LOCAL_VRF_SECRET,
            chain_id=self.net.chain_id,
            market=self.c.market.address,
            task_id=a[0],
            task_seed=int(task[7]).to_bytes(32, "big"),
            assignment_id=assignment_id,
            draw=self.c.market.functions.drawsOf(assignment_id).call(),
            candidates=candidates,
        )
        self.net.mine()
        report = Report(
            self.net.config_digest(),
            self.net.next_round(),
            self.net.head() - 1,
            b"\x33" * 32,
            reassignments=(entry,),
        )
        return self._transmit(report, "reassign")

    def _transmit(self, report: Report, name: str) -> bool:
        try:
            self.net.transmit(report)
        except Reverted:
            return False
        self.taken[name] = self.taken.get(name, 0) + 1
        self.blocks.append(self.net.head())
        return True

    def work(self) -> bool:
        running = [(i, a) for i, a in self._assignments() if a[10] == 1]
        if not running:
            return False
        assignment_id, a = self.rng.choice(running)
        owner = self._owner_of(a[2])
        cid = cid_bytes_for(self.rng.randbytes(32))
        task_end = self.c.market.functions.getTask(a[0]).call()[4]
        ended = task_end <= self.net.timestamp()
        kind = "settle" if ended else self.rng.choice(("commit", "commit", "complete"))
        if kind == "commit":
            call = self.c.checkpoints.functions.commit(
                assignment_id, a[7] + self.rng.randint(1, 3), cid
            )
            return self._try("commit", call, owner)
        if kind == "complete":
            return self._try(
                "complete", self.c.market.functions.complete(assignment_id, cid), owner
            )
        return self._try(
            "settle",
            self.c.market.functions.settle(assignment_id),
            self.rng.choice(self.developers),
        )

    def payout(self) -> bool:
        account = self.rng.choice(self.owners + self.developers)
        f = self.c.market.functions
        call = f.withdraw() if self.rng.random() < 0.5 else f.claimCompensation()
        return self._try("payout", call, account)

    def time_passes(self) -> bool:
        self.net.mine(seconds=self.rng.choice((60, 600, 1000, 4000)))
        self.all_alive()
        if self.rng.random() < 0.6:
            self.report_failure()
            self.report_failure()
        return True

    def run(self, steps: int) -> None:
        actions = (
            (self.register, 4),
            (self.heartbeat, 3),
            (self.node_update, 2),
            (self.withdraw_stake, 1),
            (self.report_failure, 2),
            (self.settle_failure, 3),
            (self.submit, 4),
            (self.task_action, 2),
            (self.allocate, 4),
            (self.move, 2),
            (self.reassign, 4),
            (self.work, 6),
            (self.payout, 1),
            (self.time_passes, 3),
            (self.pause, 1),
        )
        functions = [a for a, _ in actions]
        weights = [w for _, w in actions]
        for _ in range(steps):
            self.rng.choices(functions, weights)[0]()
