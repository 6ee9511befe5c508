"""Governance as deployed by scripts/_deployment.py: the roles, the two-step admin transfer with
its delay, a TimelockController in front of the admin, and the parameters' on-chain bounds."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from scripts._ape_backend import ApeBackend
from scripts._committee import local_committee
from scripts._deployment import Committee, DeploymentError, Timelock, deploy_all
from tests.contracts._helpers import only_event, reverts_with

ADMIN_DELAY = 3_600
TIMELOCK_DELAY = 600


@pytest.fixture(scope="module")
def deployed(project: Any, chain: Any, admin: Any, accounts: Any) -> tuple[Any, dict[str, Any]]:
    """A full deployment with a timelock whose proposer is accounts[7]."""
    backend = ApeBackend(project, chain, admin)
    record = deploy_all(
        backend,
        local=True,
        committee=Committee(*local_committee()),
        admin_delay=ADMIN_DELAY,
        timelock=Timelock(TIMELOCK_DELAY, [str(accounts[7].address)]),
        pauser=str(accounts[6].address),
    )
    return record, backend.instances(record.contracts)


def test_deploy_wires_every_role_on_the_registry(
    deployed: tuple[Any, dict[str, Any]], admin: Any, accounts: Any
) -> None:
    record, c = deployed
    registry = c["NodeRegistry"]
    assert registry.hasRole(registry.MARKET_ROLE(), c["TaskMarket"])
    assert registry.hasRole(registry.ALLOCATOR_ROLE(), c["ReportVerifier"])
    assert registry.hasRole(registry.PAUSER_ROLE(), accounts[6])
    assert c["TaskMarket"].ALLOCATOR_ROLE() == registry.ALLOCATOR_ROLE()
    assert record.parameters["governance"]["roles"] == {
        "MARKET_ROLE": c["TaskMarket"].address,
        "ALLOCATOR_ROLE": c["ReportVerifier"].address,
        "PAUSER_ROLE": accounts[6].address,
    }
    for key in ("failureGrace", "burnBps", "completionWindow", "maxSupply", "slashBps"):
        assert key in record.parameters
    assert record.parameters["completionWindow"] == 3_600
    for name in ("NodeRegistry", "ReportVerifier"):
        assert c[name].defaultAdminDelay() == ADMIN_DELAY
        assert c[name].defaultAdmin() == admin.address


def test_timelock_accepts_the_admin_after_both_delays(
    deployed: tuple[Any, dict[str, Any]], admin: Any, accounts: Any, chain: Any
) -> None:
    record, c = deployed
    lock = c["VerAITimelock"]
    pending = record.parameters["governance"]["pendingAdminTransfers"]
    assert set(pending) == {"VerToken", "NodeRegistry", "ReportVerifier"}
    registry = c["NodeRegistry"]
    assert tuple(registry.pendingDefaultAdmin()) == (lock.address, pending["NodeRegistry"])
    proposer = accounts[7]
    data = registry.acceptDefaultAdminTransfer.encode_input()
    salt = keccak(text="accept registry admin")
    zero = b"\0" * 32
    lock.schedule(registry, 0, data, zero, salt, TIMELOCK_DELAY, sender=proposer)
    # the timelock's own delay and the registry's admin delay must both pass
    chain.pending_timestamp = max(pending["NodeRegistry"], chain.blocks.head.timestamp) + 1
    chain.pending_timestamp += TIMELOCK_DELAY
    receipt = lock.execute(registry, 0, data, zero, salt, sender=accounts[8])
    assert registry.defaultAdmin() == lock.address
    assert not registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), admin)
    only_event(receipt, lock.CallExecuted)
    # the old admin can do nothing any more; governance now goes through the timelock
    with reverts_with(registry.AccessControlUnauthorizedAccount, account=admin.address):
        registry.setParameters((600, 7_200, 500, 0, 120, 2_500), sender=admin)


def test_deploy_refuses_a_minority_committee() -> None:
    signers, _, key = local_committee()
    with pytest.raises(DeploymentError, match="majority"):
        Committee(signers, 2, key)


def test_timelock_needs_a_delay_and_a_proposer() -> None:
    with pytest.raises(DeploymentError, match="delay"):
        Timelock(0, ["0x" + "11" * 20])
    with pytest.raises(DeploymentError, match="proposer"):
        Timelock(60, [])
