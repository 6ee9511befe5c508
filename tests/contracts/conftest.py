"""Contract fixtures: a configured NodeRegistry and funded contributors.

Session-scoped deployments are cheap to share: ape snapshots the chain around every test, so each
test starts from the state these fixtures built.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import VER
from tests.contracts._helpers import class_id

GPU = class_id("GPU-A100-80G")
CPU = class_id("CPU-EPYC-64")
GPU_MIN_STAKE = 100 * VER
CPU_MIN_STAKE = 10 * VER
GPU_WATT_LIMIT = 400
HEARTBEAT_TIMEOUT = 300
UNBONDING_PERIOD = 3_600
SLASH_BPS = 2_000  # 20 % of the stake
BOUNTY_BPS = 1_000  # 10 % of the slashed amount goes to the reporter
FAILURE_GRACE = 60  # a suspected node has a minute to send a heartbeat
BURN_BPS = 5_000  # half of every slash is burned
PARAMS = (HEARTBEAT_TIMEOUT, UNBONDING_PERIOD, SLASH_BPS, BOUNTY_BPS, FAILURE_GRACE, BURN_BPS)
ADMIN_DELAY = 3_600  # an admin transfer is accepted an hour after it starts
FUNDING = 10_000 * VER


@pytest.fixture(scope="session")
def registry(project: Any, admin: Any, token: Any, alice: Any, bob: Any, carol: Any) -> Any:
    contract = admin.deploy(project.NodeRegistry, token, admin, ADMIN_DELAY, PARAMS)
    contract.setClassConfig(GPU, GPU_MIN_STAKE, GPU_WATT_LIMIT, sender=admin)
    contract.setClassConfig(CPU, CPU_MIN_STAKE, 0, sender=admin)
    for account in (alice, bob, carol):
        token.mint(account, FUNDING, sender=admin)
        token.approve(contract, 2**256 - 1, sender=account)
    return contract


@pytest.fixture(scope="session")
def market_role_holder(registry: Any, admin: Any, accounts: Any) -> Any:
    """A plain account holding MARKET_ROLE, standing in for the TaskMarket contract."""
    holder = accounts[8]
    registry.grantRole(registry.MARKET_ROLE(), holder, sender=admin)
    return holder


def report_failure(registry: Any, chain: Any, node_id: int, reporter: Any) -> Any:
    """Fails `node_id` the way a keeper does: lets its heartbeat expire, raises a suspicion,
    lets the grace pass and reports again; returns the receipt of the failing report."""
    last = registry.getNode(node_id).lastHeartbeatAt
    if chain.blocks.head.timestamp <= last + HEARTBEAT_TIMEOUT:
        chain.pending_timestamp = last + HEARTBEAT_TIMEOUT + 1
    registry.reportFailure(node_id, sender=reporter)
    chain.pending_timestamp = chain.blocks.head.timestamp + FAILURE_GRACE
    return registry.reportFailure(node_id, sender=reporter)


def register(
    registry: Any,
    owner: Any,
    cls: bytes = GPU,
    capacity: int = 8,
    price: int = 3 * VER,
    stake: int = GPU_MIN_STAKE,
    uri: str = "ipfs://node",
) -> int:
    receipt = registry.register(cls, capacity, price, stake, uri, sender=owner)
    return int(receipt.decode_logs(registry.NodeRegistered)[0].nodeId)
