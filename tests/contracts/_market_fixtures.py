"""Fixtures and helpers of the TaskMarket and CheckpointRegistry tests.

The market is deployed on top of the configured NodeRegistry of tests/contracts/conftest.py and
wired the way scripts/deploy.py wires it: the market holds the registry's MARKET_ROLE, an allocator
account holds the registry's ALLOCATOR_ROLE (which the market checks), and the market deployed its
own CheckpointRegistry.
Three nodes are registered: alice and bob (GPU, 8 units, 3 and 2 VER per unit-hour) and carol
(CPU, 16 units, 1 VER). Two developers are funded and have approved the market.

A test module binds the fixtures it uses to module names (`market = market_fixtures.market`),
where pytest finds them, and imports the helpers and constants.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from oracle.cid import cid_bytes_for
from tests.conftest import VER
from tests.contracts.conftest import CPU, CPU_MIN_STAKE, GPU, register, report_failure

HOUR = 3_600
ALICE_PRICE = 3 * VER
BOB_PRICE = 2 * VER
CAROL_PRICE = 1 * VER
DEVELOPER_FUNDS = 1_000_000 * VER

# ITaskMarket.TaskStatus
TASK_NONE, TASK_OPEN, TASK_COMPLETED, TASK_ENDED = 0, 1, 2, 3
# ITaskMarket.AssignmentStatus
NONE, RUNNING, COMPLETED, MOVED, FAILED, REASSIGNED, ENDED = range(7)
# INodeRegistry.Status
NODE_ACTIVE, NODE_THROTTLED, NODE_FAILED, NODE_EXITING = 1, 2, 3, 4

CODEC_RAW, CODEC_DAG_PB = 0x55, 0x70


class Nodes(NamedTuple):
    alice: int  # GPU, 8 units at 3 VER
    bob: int  # GPU, 8 units at 2 VER
    carol: int  # CPU, 16 units at 1 VER


@pytest.fixture(scope="session")
def allocator(accounts: Any) -> Any:
    """Holds the registry's ALLOCATOR_ROLE (the committee's verifier contract in production)."""
    return accounts[5]


@pytest.fixture(scope="session")
def sponsor(accounts: Any) -> Any:
    """A second developer."""
    return accounts[6]


@pytest.fixture(scope="module")
def market(
    project: Any,
    admin: Any,
    token: Any,
    registry: Any,
    allocator: Any,
    developer: Any,
    sponsor: Any,
) -> Any:
    contract = admin.deploy(project.TaskMarket, token, registry)
    registry.grantRole(registry.MARKET_ROLE(), contract, sender=admin)
    registry.grantRole(registry.ALLOCATOR_ROLE(), allocator, sender=admin)
    for account in (developer, sponsor):
        token.mint(account, DEVELOPER_FUNDS, sender=admin)
        token.approve(contract, 2**256 - 1, sender=account)
    return contract


@pytest.fixture(scope="module")
def checkpoints(project: Any, market: Any) -> Any:
    return project.CheckpointRegistry.at(market.checkpointRegistry())


@pytest.fixture(scope="module")
def nodes(registry: Any, market: Any, alice: Any, bob: Any, carol: Any) -> Nodes:
    return Nodes(
        alice=register(registry, alice, GPU, 8, ALICE_PRICE),
        bob=register(registry, bob, GPU, 8, BOB_PRICE),
        carol=register(registry, carol, CPU, 16, CAROL_PRICE, stake=CPU_MIN_STAKE),
    )


# ------------------------------------------------------------------ helpers
def escrow_for(units: int, max_price: int, duration: int) -> int:
    """ceil(units * maxPrice * duration / 3600), the escrow the market pulls."""
    return -(-units * max_price * duration // HOUR)


def earned(units: int, price: int, span: int) -> int:
    """floor(units * price * span / 3600), what an assignment earns for a checkpointed span."""
    return units * price * span // HOUR


def cid(tag: str | bytes) -> bytes:
    """The 36-byte binary CID of some checkpoint bytes (raw codec: at most 256 KiB)."""
    data = tag.encode() if isinstance(tag, str) else tag
    return cid_bytes_for(data)


def submit(
    market: Any,
    developer: Any,
    units: int = 4,
    max_price: int = 5 * VER,
    duration: int = 10 * HOUR,
    cls: bytes = GPU,
    uri: str = "ipfs://spec",
) -> int:
    receipt = market.submitTask(cls, units, max_price, duration, uri, sender=developer)
    return int(receipt.decode_logs(market.TaskSubmitted)[0].taskId)


def assign(market: Any, allocator: Any, task_id: int, node_id: int, units: int, price: int) -> int:
    receipt = market.assign(task_id, node_id, units, price, sender=allocator)
    return int(receipt.decode_logs(market.AssignmentCreated)[0].assignmentId)


def advance(chain: Any, seconds: int) -> None:
    """The next transaction is mined `seconds` after the latest block."""
    chain.pending_timestamp = chain.blocks.head.timestamp + seconds


def fail_node(registry: Any, chain: Any, node_id: int, reporter: Any) -> Any:
    """Lets the node's heartbeat expire, suspects it, lets the grace pass and fails it."""
    return report_failure(registry, chain, node_id, reporter)


def assert_ledger(market: Any, token: Any) -> None:
    """The escrow invariant: the market owns exactly what it owes."""
    escrow, earnings, compensation = market.totals()
    assert token.balanceOf(market) == escrow + earnings + compensation
