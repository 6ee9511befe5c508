"""Views the agent reads, pinned to one block, as named fields (from the committed ABI's struct
components, so a field added to a struct never shifts the others)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oracle.chain.calls import read
from oracle.chain.contracts import Contracts

NODE_STATUS = ("None", "Active", "Throttled", "Failed", "Exiting", "Exited")
ASSIGNMENT_STATUS = ("None", "Running", "Completed", "Moved", "Failed", "Reassigned", "Ended")
RUNNING = 1
FAILED, EXITING, EXITED = 3, 4, 5


def _fields(function: Any, value: Any) -> dict[str, Any]:
    outputs = function.abi["outputs"]
    components = outputs[0].get("components") if len(outputs) == 1 else None
    names = [c["name"] for c in components] if components else [o["name"] for o in outputs]
    return dict(zip(names, value, strict=True))


@dataclass(frozen=True)
class AssignmentView:
    id: int
    task_id: int
    node_id: int
    units: int
    price: int
    step: int
    resumes_from: int
    status: int

    @property
    def status_name(self) -> str:
        return ASSIGNMENT_STATUS[self.status] if self.status < len(ASSIGNMENT_STATUS) else "?"


@dataclass(frozen=True)
class NodeView:
    id: int
    owner: str
    status: int
    capacity: int
    reserved: int
    price: int
    stake: int
    last_heartbeat_at: int
    unbonding_ends_at: int

    @property
    def status_name(self) -> str:
        return NODE_STATUS[self.status] if self.status < len(NODE_STATUS) else "?"


@dataclass(frozen=True)
class ResumePoint:
    source: int  # the assignment whose checkpoint it is; 0: start fresh
    step: int
    cid: bytes


def assignment(contracts: Contracts, assignment_id: int, block: int | str) -> AssignmentView:
    function = contracts.market.functions.getAssignment(assignment_id)
    f = _fields(function, read(function, block))
    return AssignmentView(
        assignment_id,
        int(f["taskId"]),
        int(f["nodeId"]),
        int(f["units"]),
        int(f["pricePerUnitHour"]),
        int(f["checkpointStep"]),
        int(f["resumesFrom"]),
        int(f["status"]),
    )


def node(contracts: Contracts, node_id: int, block: int | str = "latest") -> NodeView:
    function = contracts.registry.functions.getNode(node_id)
    f = _fields(function, read(function, block))
    return NodeView(
        node_id,
        str(f["owner"]),
        int(f["status"]),
        int(f["capacity"]),
        int(f["reserved"]),
        int(f["pricePerUnitHour"]),
        int(f["stake"]),
        int(f["lastHeartbeatAt"]),
        int(f["unbondingEndsAt"]),
    )


@dataclass(frozen=True)
class EnergyView:
    """NodeRegistry.energyOf: joules credited, the counter of the last heartbeat (0: estimated),
    whether it is measured, the declared renewable share (basis points)."""

    energy_j: int
    counter_j: int
    measured: bool
    renewable_bps: int


def has_energy(contracts: Contracts) -> bool:
    """True when the registry's ABI has the energy views (issue 13)."""
    return any(e.get("name") == "energyOf" for e in contracts.registry.abi)


def energy(contracts: Contracts, node_id: int, block: int | str = "latest") -> EnergyView:
    function = contracts.registry.functions.energyOf(node_id)
    f = _fields(function, read(function, block))
    return EnergyView(
        int(f["energyJ"]), int(f["counterJ"]), bool(f["measured"]), int(f["renewableBps"])
    )


def resume_point(contracts: Contracts, assignment_id: int, block: int | str) -> ResumePoint:
    source, step, cid = read(contracts.checkpoints.functions.resumePoint(assignment_id), block)
    return ResumePoint(int(source), int(step), bytes(cid))


def chain_root(contracts: Contracts, assignment_id: int, block: int | str) -> int:
    """The first assignment of the checkpoint chain `assignment_id` continues (itself if none)."""
    current = assignment_id
    for _ in range(10_000):  # resumesFrom always points to an older id; this only bounds it
        previous = assignment(contracts, current, block).resumes_from
        if previous == 0:
            return current
        current = previous
    raise RuntimeError(f"assignment {assignment_id}: resumesFrom chain does not end")


def earnings(contracts: Contracts, owner: str, block: int | str = "latest") -> int:
    return int(read(contracts.market.functions.earningsOf(owner), block))


def heartbeat_timeout(contracts: Contracts) -> int:
    function = contracts.registry.functions.parameters()
    return int(_fields(function, read(function))["heartbeatTimeout"])
