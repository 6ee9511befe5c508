"""Rows and rules several pages share."""

from __future__ import annotations

from dataclasses import dataclass

from oracle.chain.mirror import ACTIVE, EXITING, NODE_STATUS, THROTTLED, AssignmentState, NodeState
from oracle.dashboard.view import View
from oracle.energy import Reading, power_at

LIVE = (ACTIVE, THROTTLED, EXITING)  # statuses in which a node holds work and heartbeats
DEFAULT_HEARTBEAT_TIMEOUT = 900  # before the registry's ParametersSet has been ingested
STATUS_ORDER = tuple(NODE_STATUS[1:])  # Active, Throttled, Failed, Exiting, Exited


def gap_cap(view: View) -> int:
    """How long a watts reading holds (oracle/energy.py): the registry's heartbeat timeout."""
    return int(view.mirror.parameters_at(view.block).get("heartbeatTimeout", 0)) or (
        DEFAULT_HEARTBEAT_TIMEOUT
    )


def power_now(node: NodeState, view: View, cap: int) -> int:
    """The node's watts at the view's block time under the gap-cap rule."""
    if node.status not in LIVE:
        return 0
    return power_at([Reading(node.last_heartbeat_at, node.watts)], view.timestamp, gap_cap=cap)


@dataclass(frozen=True)
class NodeRow:
    id: int
    owner: str
    resource_class: str
    status: str
    load_bps: int
    watts: int
    heartbeat_age: int
    capacity: int
    reserved: int
    price: int
    stake: int
    metadata_uri: str


def node_row(node: NodeState, view: View) -> NodeRow:
    return NodeRow(
        id=node.id,
        owner=node.owner,
        resource_class=view.class_name(node.resource_class),
        status=node.status_name,
        load_bps=node.load_bps,
        watts=node.watts,
        heartbeat_age=view.timestamp - node.last_heartbeat_at,
        capacity=node.capacity,
        reserved=node.reserved,
        price=node.price,
        stake=node.stake,
        metadata_uri=node.metadata_uri,
    )


def accrued(assignment: AssignmentState) -> int:
    """What a running assignment has earned so far and will be paid at settlement:
    floor(units x price x (last checkpoint - start) / 3600), TaskMarket's rule."""
    span = assignment.last_checkpoint_at - assignment.start_at
    return assignment.units * assignment.price * max(0, span) // 3600


def page_bounds(page: int, per_page: int, total: int) -> tuple[int, int, int]:
    """(offset, pages, page) with `page` clamped into 1..pages."""
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    return (page - 1) * per_page, pages, page
