"""Keeper duties: `NodeRegistry.reportFailure` for nodes past the heartbeat timeout and
`TaskMarket.settleNodeFailure` for Failed nodes that still hold running assignments, so failed
work reaches the next round's VRF reassignment with no human action.

Failure takes two steps on the registry: a first report once the heartbeat timeout has passed
raises a suspicion (NodeSuspected, failable at `failableAt`), a report from `failableAt` on,
with no heartbeat since, fails the node. The duties follow: "suspect:<node>" from the timeout,
"fail:<node>" from the suspicion's `failableAt` (a registry without suspicions fails the node at
the first report, and the second duty never opens). "settle:<node>" pages through the running
assignments of a Failed node, `MAX_SETTLE_PAGE` ids per call (the market passes over ids no
longer running, so pages sent by several members never block each other).

Who acts: the round's transmission order (the round's transmitter first); position k acts only
when the duty is still open `k * keeper_delay` seconds after this member first saw it due (its
own clock, so members that see the duty at the same time act one after the other, even when
the duty is long overdue on the chain's clock), so in the normal case one member pays the gas
and the others step in when it is down. Every call is simulated first (a revert, e.g. a
heartbeat that came in meanwhile, is logged and retried later, never sent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oracle.chain.calls import calldata
from oracle.chain.contracts import Contracts
from oracle.chain.errors import ChainError, TransactionReverted
from oracle.chain.mirror import ACTIVE, EXITING, FAILED, RUNNING, THROTTLED, Mirror
from oracle.chain.tx import TxSender
from oracle.service.metrics import Metrics
from oracle.service.pacemaker import position

log = logging.getLogger("oracle.service.keeper")
MAX_SETTLE_PAGE = 100  # about 17k gas per assignment: 1.7M gas a page


@dataclass(frozen=True)
class Duty:
    name: str  # "suspect:<node>", "fail:<node>" or "settle:<node>"
    due_at: float  # chain time (seconds) from when it may be done
    call: Any  # the web3 contract call

    @property
    def kind(self) -> str:
        return self.name.split(":")[0]


def duties(mirror: Mirror, contracts: Contracts, block: int, now: int) -> list[Duty]:
    """The open duties at `block` (chain time `now`)."""
    params = mirror.parameters_at(block)
    timeout = int(params.get("heartbeatTimeout", 0))
    found: list[Duty] = []
    running: dict[int, list[int]] = {}
    for a in mirror.assignments_at(block, "status = ?", (RUNNING,)):
        running.setdefault(a.node_id, []).append(a.id)
    registry, market = contracts.registry.functions, contracts.market.functions
    for node in mirror.nodes_at(block):
        at_risk = node.status in (ACTIVE, THROTTLED) or (
            node.status == EXITING and node.reserved > 0
        )
        if at_risk and timeout and now > node.last_heartbeat_at + timeout:
            if node.failable_at:  # an open suspicion (the mirror's suspicionOf)
                found.append(
                    Duty(f"fail:{node.id}", node.failable_at, registry.reportFailure(node.id))
                )
            else:
                due = node.last_heartbeat_at + timeout + 1
                found.append(Duty(f"suspect:{node.id}", due, registry.reportFailure(node.id)))
        elif node.status == FAILED and running.get(node.id):
            ids = sorted(running[node.id])[:MAX_SETTLE_PAGE]
            found.append(Duty(f"settle:{node.id}", 0, market.settleNodeFailure(node.id, ids)))
    return found


class Keeper:
    def __init__(
        self,
        contracts: Contracts,
        sender: TxSender | None,
        metrics: Metrics,
        *,
        me: str,
        keeper_delay: float,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.contracts = contracts
        self.sender = sender
        self.metrics = metrics
        self.me = me
        self.keeper_delay = keeper_delay
        self.retry_after = retry_after
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._tried: dict[str, float] = {}

    def due(self, duty: Duty, order: list[str], chain_now: int) -> bool:
        """Whether this member should act on `duty` now (see the module docstring)."""
        if chain_now < duty.due_at:
            return False
        first_seen = self._seen.setdefault(duty.name, self._clock())
        k = position(order, self.me)
        last = self._tried.get(duty.name)
        return self._clock() - first_seen >= k * self.keeper_delay and (
            last is None or self._clock() - last >= self.retry_after
        )

    def perform(self, duty: Duty) -> str:
        """Simulates and (unless dry) sends `duty`'s call; returns the outcome label."""
        self._tried[duty.name] = self._clock()
        kind = duty.kind
        if self.sender is None:
            log.info("dry run: would call %s", duty.name)
            self.metrics.keeper.labels(kind, "dry_run").inc()
            return "dry_run"
        to = str(duty.call.address)
        data = calldata(duty.call)
        try:
            self.sender.simulate(to, data, block="pending")
            outcome = self.sender.send(to, data, purpose=f"keeper-{kind}", timeout=60)
        except TransactionReverted as exc:
            label = getattr(exc.revert, "name", None) or "reverted"
            log.info("keeper %s not sent: %s", duty.name, exc)
            self.metrics.keeper.labels(kind, label).inc()
            return label
        except ChainError as exc:
            log.warning("keeper %s failed: %s", duty.name, exc)
            self.metrics.keeper.labels(kind, "error").inc()
            return "error"
        self.metrics.keeper.labels(kind, outcome.state).inc()
        log.info("keeper %s: %s", duty.name, outcome.state, extra={"tx": outcome.tx_hash})
        return outcome.state

    def forget(self, open_names: set[str]) -> None:
        for name in list(self._seen):
            if name not in open_names:
                self._seen.pop(name, None)
                self._tried.pop(name, None)
