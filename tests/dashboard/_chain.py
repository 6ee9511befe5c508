"""What the chain itself says at a block, through the contracts' views (web3, committed ABIs),
for the dashboard tests to compare the pages with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests._localnet import CPU, GPU, RTX, Localnet

CLASS_NAMES = {GPU: "GPU-A100-80G", RTX: "GPU-RTX4090-24G", CPU: "CPU-EPYC-64"}
NODE_STATUS = ("None", "Active", "Throttled", "Failed", "Exiting", "Exited")
ASSIGNMENT_STATUS = ("None", "Running", "Completed", "Moved", "Failed", "Reassigned", "Ended")
LIVE = ("Active", "Throttled", "Exiting")


@dataclass(frozen=True)
class NodeView:
    id: int
    owner: str
    cls: str
    status: str
    capacity: int
    reserved: int
    price: int
    last_heartbeat_at: int
    watts: int


@dataclass(frozen=True)
class AssignmentView:
    id: int
    task: int
    node: int
    units: int
    price: int
    start_at: int
    last_checkpoint_at: int
    step: int
    status: str
    resumes_from: int


class ChainAt:
    """The views at one block."""

    def __init__(self, net: Localnet, block: int) -> None:
        self.net = net
        self.block = block
        self.at = {"block_identifier": block}
        self.c = net.contracts

    @property
    def timestamp(self) -> int:
        return self.net.timestamp(self.block)

    def nodes(self) -> list[NodeView]:
        count = self.c.registry.functions.nodeCount().call(**self.at)
        out = []
        for i in range(1, count + 1):
            v = self.c.registry.functions.getNode(i).call(**self.at)
            out.append(
                NodeView(
                    i,
                    v[0],
                    CLASS_NAMES[bytes(v[1])],
                    NODE_STATUS[v[2]],
                    v[3],
                    v[4],
                    v[5],
                    v[7],
                    v[9],
                )
            )
        return out

    def task(self, task_id: int) -> tuple[Any, ...]:
        """(developer, class, max_price, escrow, expires_at, pending, running, seed, status)"""
        return tuple(self.c.market.functions.getTask(task_id).call(**self.at))

    def tasks(self) -> list[tuple[int, tuple[Any, ...]]]:
        count = self.c.market.functions.taskCount().call(**self.at)
        return [(i, self.task(i)) for i in range(1, count + 1)]

    def assignments(self) -> list[AssignmentView]:
        count = self.c.market.functions.assignmentCount().call(**self.at)
        out = []
        for i in range(1, count + 1):
            v = self.c.market.functions.getAssignment(i).call(**self.at)
            out.append(
                AssignmentView(
                    i, v[0], v[1], v[3], v[4], v[5], v[6], v[7], ASSIGNMENT_STATUS[v[10]], v[9]
                )
            )
        return out

    def earnings_of(self, account: str) -> int:
        return int(self.c.market.functions.earningsOf(account).call(**self.at))

    def latest_round(self) -> tuple[int, int]:
        return tuple(self.c.verifier.functions.latestRound().call(**self.at))  # type: ignore[return-value]

    def heartbeat_timeout(self) -> int:
        return int(self.c.registry.functions.parameters().call(**self.at)[0])

    def watt_limit(self, cls: bytes) -> int:
        return int(self.c.registry.functions.classConfig(cls).call(**self.at)[2])
