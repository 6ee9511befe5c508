"""The pure solution of a round and its cut into reports.

From `RoundInputs` (chain state at the snapshot block), in this order:

1. **No new work** for nodes that are not Active, and for Active nodes whose reported load
   (`loadBps` of their last heartbeat) is above their reserved share by more than
   `overload_margin_bps`: they are busy with work from outside the network.
2. **Reassignments** of Failed assignments, in id order: the candidates are the Active nodes of
   the task's class (not the failed one, none with no new work) whose price is within the task's
   cap and whose free units hold the assignment, weighted by those free units (after the picks
   before it, so the weights are what the chain sees when it applies them in order); the VRF
   picks one. A failed assignment with no candidate leaves its units to the allocation.
3. **Moves**: Throttled nodes shed every running assignment to the candidate node with the most
   free units (ties: lower id); then the balancer (`oracle.balancing.balance`) moves whole
   assignments of Active nodes that are outside θ of their class mean. A move is kept only if its
   target is eligible and has the units, counted without crediting sources (so the allocations of
   the same report, applied first on-chain, never take units a move needs).
4. **Allocation** (`oracle.allocation.allocate`) of the pending units not being reassigned, on
   the free units left by steps 2 and 3, at each node's own price.

`cut` then splits the entries into reports under the gas cap with the fixed per-entry figures
of `GasTable`: reassignments first (each report of them alone, since the VRF weights are the
free units the chain sees), then moves, then allocations.

Pure: the VRF proofs come from a `prove(alpha) -> proof` callable (members prove with the
committee's key; an auditor replays the published proofs, which `oracle.vrf` verifies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oracle import sortition, vrf
from oracle.allocation import Allocation, Node, Snapshot, Task, allocate
from oracle.allocation.paths import Path
from oracle.balancing import Assignment, LoadNode, LoadState, balance
from oracle.reports import Candidate, MoveEntry, ReassignmentEntry
from oracle.service.inputs import (
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


@dataclass(frozen=True)
class Solution:
    allocation: Allocation
    moves: tuple[MoveEntry, ...]
    reassignments: tuple[ReassignmentEntry, ...]
    no_new_work: tuple[int, ...]
    """Active or Throttled nodes that got no new work (throttled, or overloaded by outside work)."""

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
        or (n.status == NODE_ACTIVE and overloaded(n, params.overload_margin_bps))
    }
    eligible = {n.id for n in inputs.nodes if n.status == NODE_ACTIVE and n.id not in blocked}

    def candidates(task: TaskRow, units: int, exclude: int) -> list[Candidate]:
        return [
            Candidate(n.id, min(free[n.id], UINT32_MAX))
            for n in inputs.nodes
            if n.id in eligible
            and n.id != exclude
            and n.resource_class == task.resource_class
            and n.price <= task.max_price
            and free[n.id] >= units
        ]

    # 2. reassignments
    reassigned_units: dict[int, int] = {}
    reassignments = []
    public_key = bytes.fromhex(inputs.vrf_public_key.removeprefix("0x"))
    for failed in sorted(inputs.failed, key=lambda f: f.id):
        task = tasks.get(failed.task)
        if task is None or task.pending < reassigned_units.get(task.id, 0) + failed.units:
            continue
        pool = candidates(task, failed.units, failed.node)
        if not pool:
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
        pool = sorted(
            candidates(task, a.units, a.node), key=lambda c: (-free[c.node_id], c.node_id)
        )
        if pool and try_move(a.id, a.task, a.units, pool[0].node_id):
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
    allocation = allocate(snapshot, path)
    return Solution(
        allocation=allocation,
        moves=tuple(moves),
        reassignments=tuple(reassignments),
        no_new_work=tuple(sorted(n.id for n in inputs.nodes if n.id in blocked)),
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


def cut(solution: Solution, params: Parameters) -> tuple[Chunk, ...]:
    """The entries in report-sized chunks (see the module docstring); no chunk exceeds the gas
    cap by the fixed figures, and every chunk holds at least one entry."""
    gas = params.gas
    budget = params.gas_cap - gas.base - gas.per_signature * params.threshold
    chunks: list[Chunk] = []

    def capacity(per_entry: int) -> int:
        return max(1, budget // per_entry)

    reassign = list(solution.reassignments)
    step = capacity(gas.reassignment)
    for i in range(0, len(reassign), step):
        chunks.append(Chunk((), (), tuple(reassign[i : i + step])))
    # moves then allocations, greedily filling each report
    items: list[tuple[str, object]] = [("move", m) for m in solution.moves]
    items += [
        ("allocation", (e.task, e.node, e.units, e.price)) for e in solution.allocation.entries
    ]
    current_moves: list[MoveEntry] = []
    current_allocs: list[tuple[int, int, int, int]] = []
    used = 0
    for kind, item in items:
        cost = gas.move if kind == "move" else gas.allocation
        if (current_moves or current_allocs) and used + cost > budget:
            chunks.append(Chunk(tuple(current_allocs), tuple(current_moves), ()))
            current_moves, current_allocs, used = [], [], 0
        if kind == "move":
            assert isinstance(item, MoveEntry)
            current_moves.append(item)
        else:
            current_allocs.append(item)  # type: ignore[arg-type]
        used += cost
    if current_moves or current_allocs:
        chunks.append(Chunk(tuple(current_allocs), tuple(current_moves), ()))
    return tuple(chunks)
