"""The pure solution of a round and its cut into reports.

From `RoundInputs` (chain state at the snapshot block), in this order:

1. **No new work** for nodes that are not Active, for Active nodes whose reported load
   (`loadBps` of their last heartbeat) is above their reserved share by more than
   `overload_margin_bps` (they are busy with work from outside the network), and for Active
   nodes silent for longer than the heartbeat timeout (about to be reported failed).
2. **Reassignments** of Failed assignments, in id order: the candidates are the Active nodes of
   the task's class (not the failed one, none with no new work) whose price is within the task's
   cap and whose free units hold the assignment, at most `max_candidates` of them (a cyclic run
   of consecutive ids starting where the VRF output says, see `window`), each weighted by its
   free units as the chain will have them when the entry applies: the snapshot's, minus the
   picks of the entries before it (the chain skips an entry whose weights differ,
   CandidateWeightMismatch). The VRF picks one. A failed assignment with no candidate leaves its
   units to the allocation.
3. **Moves**: Throttled nodes shed every running assignment to the candidate node with the most
   free units (ties: lower id); then the balancer (`oracle.balancing.balance`) moves whole
   assignments of Active nodes that are outside θ of their class mean. A move is kept only if its
   target is eligible and has the units, counted without crediting sources (so the allocations of
   the same report, applied first on-chain, never take units a move needs).
4. **Allocation** (`oracle.allocation.allocate`) of the pending units not being reassigned, on
   the free units left by steps 2 and 3, at each node's own price. In an energy-aware round
   (`RoundInputs.energy_weight` > 0, ReportVerifier.energyWeight() at the snapshot) every
   eligible pair also carries its node's energy cost per unit-hour (`energy_surcharge`) as a
   surcharge, so the allocation runs on the `mcf` path and minimises price + energy cost; the
   served units and the prices paid are the same rule's, and steps 1-3 do not change. Should
   the surcharged costs not fit the `mcf` path's int64 range (node prices off the
   `ENERGY_QUANTUM` grid on a large network), the round falls back to the prices alone and the
   document says so (`Solution.energy`). The decision is taken once, from the `mcf` bound
   (`oracle.allocation.mcf.mcf_fits`) whatever path is asked for, so an auditor's `lp`
   re-solve runs on the snapshot the members' `mcf` solved (`lp`'s float64 bound, 2**53 after
   rescaling, is above mcf's once tasks + nodes > 512: deciding by the path that raised would
   split them).

`cut` then splits the entries into reports under the gas cap with the measured per-entry
bounds of `GasTable`: reassignments first, in reports of their own (the chain applies a report's
allocations and moves before its reassignments, and reports in round order, so a reassignment's
weights are the free units the chain has when it applies it), then moves, then allocations.

Pure: the VRF proofs come from a `prove(alpha) -> proof` callable (members prove with the
committee's key; an auditor replays the published proofs, which `oracle.vrf` verifies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oracle import sortition, vrf
from oracle.allocation import Allocation, Node, Snapshot, Surcharge, Task, allocate
from oracle.allocation.mcf import mcf_fits
from oracle.allocation.paths import Path
from oracle.balancing import Assignment, LoadNode, LoadState, balance
from oracle.reports import Candidate, MoveEntry, ReassignmentEntry
from oracle.service.inputs import (
    MAX_REASSIGNMENTS_PER_REPORT,
    NODE_ACTIVE,
    NODE_STATUS_NAMES,
    NODE_THROTTLED,
    NodeRow,
    Parameters,
    RoundInputs,
    TaskRow,
)

UINT32_MAX = 2**32 - 1
Prover = Callable[[bytes], bytes]

ENERGY_QUANTUM = 10**9
"""Energy surcharges are whole multiples of 10**9 wei (a billionth of a VER per unit-hour,
far below any price step that matters). The `mcf` path divides every cost by the gcd of the
cost differences to fit OR-tools' int64 range; surcharges on a coarse grid keep that gcd as
large as the node prices allow (prices in whole gwei-VER: any realistic price list), where
arbitrary wei amounts would bring it down to 1 and 1-VER prices out of range."""

ENERGY_FALLBACK = "not applied: price + energy costs exceed the mcf path's int64 range"


def energy_surcharge(node: NodeRow, weight: int) -> int:
    """The energy cost of one unit-hour on `node`, in VER wei, at `weight` wei per kWh.

    The node's measured power per unit of capacity (`NodeRow.watts`: the larger of its last
    heartbeat's watts and the power the registry credited on it, over its capacity,
    the power split evenly over its units) for one hour is watts / capacity Wh, i.e.
    watts / (1000 * capacity) kWh, so the cost is watts * weight / (1000 * capacity) wei.
    Integers only, one rounding: the exact quotient rounded down (floor division of
    watts * weight by 1000 * capacity), then down to a multiple of `ENERGY_QUANTUM`.

    A node with no watts on record (no heartbeat since it registered, or an agent that reads no
    power) costs 0: there is no measurement to charge, and an estimate (a class average, a
    guess) would be a number the chain does not hold, which every member and auditor would have
    to agree on. This favours nodes that report no power; the registry records each heartbeat's
    measurement source, so a stricter rule can come from there."""
    if weight <= 0 or node.watts <= 0 or node.capacity <= 0:
        return 0
    wei = node.watts * weight // (1000 * node.capacity)
    return wei - wei % ENERGY_QUANTUM


def energy_costs(inputs: RoundInputs) -> dict[int, int]:
    """Node id -> `energy_surcharge` of every node with a non-zero one (empty when the mode is
    off)."""
    if not inputs.energy_aware:
        return {}
    costs = {n.id: energy_surcharge(n, inputs.energy_weight) for n in inputs.nodes}
    return {node: wei for node, wei in costs.items() if wei > 0}


def objective(allocation: Allocation, costs: dict[int, int]) -> int:
    """What the allocation minimises, wei per hour: units * (price + energy cost) summed."""
    return sum(e.units * (e.price + costs.get(e.node, 0)) for e in allocation.entries)


@dataclass(frozen=True)
class Solution:
    allocation: Allocation
    moves: tuple[MoveEntry, ...]
    reassignments: tuple[ReassignmentEntry, ...]
    no_new_work: tuple[int, ...]
    """Active or Throttled nodes that got no new work (throttled, or overloaded by outside work)."""
    energy: str = ""
    """"" when the round is not energy-aware, "applied" when the allocation ran with the energy
    surcharges, else why not (`ENERGY_FALLBACK`)."""

    @property
    def entry_count(self) -> int:
        return len(self.allocation.entries) + len(self.moves) + len(self.reassignments)

    @property
    def empty(self) -> bool:
        return self.entry_count == 0


@dataclass(frozen=True)
class Chunk:
    """The entries of one report of the round."""

    allocations: tuple[tuple[int, int, int, int], ...]  # (task, node, units, price)
    moves: tuple[MoveEntry, ...]
    reassignments: tuple[ReassignmentEntry, ...]

    @property
    def entry_count(self) -> int:
        return len(self.allocations) + len(self.moves) + len(self.reassignments)


def overloaded(node: NodeRow, margin_bps: int) -> bool:
    """Reported load far above the share the network reserved on the node."""
    return node.load_bps > node.reserved_share_bps + margin_bps


def silent(node: NodeRow, inputs: RoundInputs) -> bool:
    """No heartbeat within the heartbeat timeout before the snapshot: about to be reported."""
    timeout = inputs.heartbeat_timeout
    return timeout > 0 and inputs.timestamp - node.last_heartbeat_at > timeout


def window(nodes: list[NodeRow], beta: bytes, size: int) -> list[NodeRow]:
    """At most `size` of `nodes` (sorted by id): the cyclic run of consecutive ones starting at
    index beta mod len(nodes), by id again. The VRF output decides where, so nobody can steer a
    reassignment towards a chosen subset, and a reassignment's gas stays bounded."""
    if len(nodes) <= size:
        return nodes
    start = int.from_bytes(beta, "big") % len(nodes)
    chosen = nodes[start : start + size]
    chosen += nodes[: size - len(chosen)]
    return sorted(chosen, key=lambda n: n.id)


def solve(inputs: RoundInputs, prove: Prover, *, path: Path | None = None) -> Solution:
    """The round's solution (see the module docstring)."""
    params = inputs.parameters
    nodes = {n.id: n for n in inputs.nodes}
    tasks = {t.id: t for t in inputs.tasks}
    free = {n.id: n.free for n in inputs.nodes}
    blocked = {
        n.id
        for n in inputs.nodes
        if n.status == NODE_THROTTLED
        or (
            n.status == NODE_ACTIVE
            and (overloaded(n, params.overload_margin_bps) or silent(n, inputs))
        )
    }
    eligible = {n.id for n in inputs.nodes if n.status == NODE_ACTIVE and n.id not in blocked}
    by_class: dict[str, list[NodeRow]] = {}
    for n in sorted(inputs.nodes, key=lambda n: n.id):
        if n.id in eligible:
            by_class.setdefault(n.resource_class, []).append(n)

    def candidates(task: TaskRow, units: int, exclude: int) -> list[NodeRow]:
        """Eligible nodes that can take `units` of `task` now, by id."""
        return [
            n
            for n in by_class.get(task.resource_class, ())
            if n.id != exclude and n.price <= task.max_price and units <= free[n.id] <= UINT32_MAX
        ]

    # 2. reassignments
    reassigned_units: dict[int, int] = {}
    reassignments = []
    public_key = bytes.fromhex(inputs.vrf_public_key.removeprefix("0x"))
    for failed in sorted(inputs.failed, key=lambda f: f.id):
        task = tasks.get(failed.task)
        if task is None or task.pending < reassigned_units.get(task.id, 0) + failed.units:
            continue
        room = candidates(task, failed.units, failed.node)
        if not room:
            continue
        alpha = sortition.vrf_alpha(
            inputs.chain_id,
            inputs.market,
            task.id,
            task.seed.to_bytes(32, "big"),
            failed.attempt,
        )
        proof = prove(alpha)
        checked = vrf.verifier_inputs(public_key, proof, alpha)  # raises on a bad proof
        pool = [
            Candidate(n.id, free[n.id]) for n in window(room, checked.beta, params.max_candidates)
        ]
        chosen = pool[sortition.pick(checked.beta, failed.attempt, [c.weight for c in pool])]
        reassignments.append(
            ReassignmentEntry(
                assignment_id=failed.id,
                node_id=chosen.node_id,
                candidates=tuple(pool),
                proof=proof,
                helpers=checked.as_abi(),
            )
        )
        free[chosen.node_id] -= failed.units
        reassigned_units[task.id] = reassigned_units.get(task.id, 0) + failed.units

    # 3. moves: throttled nodes shed, then the balancer
    moves: list[MoveEntry] = []

    def try_move(assignment_id: int, task_id: int, units: int, target: int) -> bool:
        task = tasks.get(task_id)
        node = nodes.get(target)
        if task is None or node is None or target not in eligible or free[target] < units:
            return False
        if node.resource_class != task.resource_class or node.price > task.max_price:
            return False
        free[target] -= units
        moves.append(MoveEntry(assignment_id, target))
        return True

    open_running = [a for a in sorted(inputs.running, key=lambda a: a.id) if a.task in tasks]
    moved: set[int] = set()
    for a in open_running:
        source = nodes.get(a.node)
        if source is None or source.status != NODE_THROTTLED:
            continue
        task = tasks[a.task]
        targets = sorted(candidates(task, a.units, a.node), key=lambda n: (-free[n.id], n.id))
        if targets and try_move(a.id, a.task, a.units, targets[0].id):
            moved.add(a.id)
    state = _load_state(inputs, eligible, moved, params)
    if state is not None:
        for m in balance(state):
            if m.assignment not in moved and try_move(m.assignment, m.task, m.units, m.target):
                moved.add(m.assignment)

    # 4. allocation
    snapshot = Snapshot(
        classes=tuple(
            sorted(
                {n.resource_class for n in inputs.nodes} | {t.resource_class for t in inputs.tasks}
            )
        ),
        nodes=tuple(
            Node(
                id=n.id,
                resource_class=n.resource_class,
                free_units=max(0, free[n.id]),
                price=n.price,
                status="active" if n.id in eligible else _status_name(n),
            )
            for n in sorted(inputs.nodes, key=lambda n: n.id)
        ),
        tasks=tuple(
            Task(
                id=t.id,
                resource_class=t.resource_class,
                units=t.pending - reassigned_units.get(t.id, 0),
                max_price=t.max_price,
            )
            for t in sorted(inputs.tasks, key=lambda t: t.id)
            if t.pending - reassigned_units.get(t.id, 0) > 0
        ),
    )
    energy = ""
    if inputs.energy_aware:
        # Decided once, from the members' (mcf) bound on the surcharged network, whatever path
        # runs: an auditor's lp re-solve must take the same snapshot as the members' mcf one.
        energy = "applied"
        costs = _surcharges(snapshot, energy_costs(inputs))
        surcharged = Snapshot(snapshot.classes, snapshot.nodes, snapshot.tasks, costs)
        if costs and not mcf_fits(surcharged):
            energy = ENERGY_FALLBACK
            allocation = allocate(snapshot, None if path == "mcf" else path)
        else:
            allocation = allocate(surcharged, path)
    else:
        allocation = allocate(snapshot, path)
    return Solution(
        allocation=allocation,
        moves=tuple(moves),
        reassignments=tuple(reassignments),
        no_new_work=tuple(sorted(n.id for n in inputs.nodes if n.id in blocked)),
        energy=energy,
    )


def _surcharges(snapshot: Snapshot, costs: dict[int, int]) -> tuple[Surcharge, ...]:
    """The energy surcharge of every pair that can carry flow: an eligible node (active, free
    units) with a cost, and a task of its class whose cap admits its price. Pairs the allocation
    cannot use are left out (a surcharge there has no effect, and a class of n nodes and m
    tasks would otherwise give n * m of them)."""
    by_class: dict[str, list[Node]] = {}
    for n in snapshot.nodes:
        if n.status == "active" and n.free_units > 0 and n.id in costs:
            by_class.setdefault(n.resource_class, []).append(n)
    return tuple(
        Surcharge(task=t.id, node=n.id, wei=costs[n.id])
        for t in snapshot.tasks
        for n in by_class.get(t.resource_class, ())
        if n.price <= t.max_price
    )


def _status_name(node: NodeRow) -> str:
    name = NODE_STATUS_NAMES[node.status] if 0 <= node.status < len(NODE_STATUS_NAMES) else "exited"
    return "throttled" if name == "active" else name


def _load_state(
    inputs: RoundInputs, eligible: set[int], moved: set[int], params: Parameters
) -> LoadState | None:
    """The balancer's view: None when no running assignment can move (most rounds), before
    building 10k LoadNode rows for nothing."""
    known = {n.id for n in inputs.nodes if n.capacity >= 1}
    tasks = {t.id for t in inputs.tasks}
    assignments = [
        Assignment(id=a.id, task=a.task, node=a.node, units=a.units)
        for a in sorted(inputs.running, key=lambda a: a.id)
        if a.node in known and a.task in tasks and a.id not in moved and a.node in eligible
    ]
    if not assignments:
        return None
    nodes = [
        LoadNode(
            id=n.id,
            resource_class=n.resource_class,
            capacity=n.capacity,
            status="active" if n.id in eligible else _status_name(n),
        )
        for n in sorted(inputs.nodes, key=lambda n: n.id)
        if n.capacity >= 1
    ]
    return LoadState(nodes=tuple(nodes), assignments=tuple(assignments), theta_bps=params.theta_bps)


def tries(entry: ReassignmentEntry) -> int:
    """Rejected hash-to-curve tries of the entry's VRF proof (one witness word each)."""
    return len(entry.helpers[4]) if entry.helpers is not None else 0


def cut(solution: Solution, params: Parameters) -> tuple[Chunk, ...]:
    """The entries in report-sized chunks (see the module docstring): filled greedily in order,
    a chunk closes when the next entry would take it over the gas cap by the `GasTable` bounds;
    every chunk holds at least one entry."""
    gas = params.gas
    budget = params.gas_cap - gas.base - gas.per_signature * params.threshold
    chunks: list[Chunk] = []
    group: list[ReassignmentEntry] = []
    used = 0
    for entry in solution.reassignments:
        cost = gas.reassignment_gas(len(entry.candidates), tries(entry))
        if group and (used + cost > budget or len(group) == MAX_REASSIGNMENTS_PER_REPORT):
            chunks.append(Chunk((), (), tuple(group)))
            group, used = [], 0
        group.append(entry)
        used += cost
    if group:
        chunks.append(Chunk((), (), tuple(group)))
    # moves then allocations (a report applies its allocations first, then its moves: the
    # moves' targets were solved with room the allocations do not take)
    moves: list[MoveEntry] = []
    allocations: list[tuple[int, int, int, int]] = []
    used = 0

    def close() -> None:
        nonlocal moves, allocations, used
        chunks.append(Chunk(tuple(allocations), tuple(moves), ()))
        moves, allocations, used = [], [], 0

    for move in solution.moves:
        if (moves or allocations) and used + gas.move > budget:
            close()
        moves.append(move)
        used += gas.move
    for e in solution.allocation.entries:
        if (moves or allocations) and used + gas.allocation > budget:
            close()
        allocations.append((e.task, e.node, e.units, e.price))
        used += gas.allocation
    if moves or allocations:
        close()
    return tuple(chunks)
