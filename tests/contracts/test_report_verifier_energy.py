"""ReportVerifier's energy weight (issue 13 item 3): the governance parameter of the oracle's
energy-aware mode. Off (0) on deployment; set by the admin role only, within
[0, MAX_ENERGY_WEIGHT] (ReportVerifierParameterOutOfRange otherwise), each change an
EnergyWeightSet event; reports are verified and applied the same whatever it is (the weight is
an input of the members' solution, read from the chain at the snapshot block)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import VER
from tests.contracts._helpers import only_event, reverts_with
from tests.contracts._report_fixtures import World, deploy_world

NAME = b"energyWeight".ljust(32, b"\0")


@pytest.fixture(scope="module")
def world(project: Any, admin: Any, token: Any, registry: Any, alice: Any, stranger: Any) -> World:
    return deploy_world(project, admin, token, registry)


def test_energy_weight_is_off_on_deployment(world: World) -> None:
    assert world.verifier.energyWeight() == 0
    assert world.verifier.MAX_ENERGY_WEIGHT() == 1_000 * VER


@pytest.mark.parametrize("weight", [VER // 5, 1, 1_000 * VER, 0])
def test_admin_sets_the_weight_with_an_event(
    world: World, admin: Any, gas_log: Any, weight: int
) -> None:
    receipt = world.verifier.setEnergyWeight(weight, sender=admin)
    assert int(only_event(receipt, world.verifier.EnergyWeightSet).weiPerKWh) == weight
    assert world.verifier.energyWeight() == weight
    if weight == VER // 5:  # from 0: the slot's first write
        gas_log.record("ReportVerifier.setEnergyWeight[0 to 0.2 VER/kWh]", receipt)


def test_a_weight_above_the_maximum_reverts_out_of_range(world: World, admin: Any) -> None:
    maximum = 1_000 * VER
    for value in (maximum + 1, 2**256 - 1):
        with reverts_with(
            world.verifier.ReportVerifierParameterOutOfRange,
            name=NAME, value=value, minimum=0, maximum=maximum,
        ):  # fmt: skip
            world.verifier.setEnergyWeight(value, sender=admin)
    assert world.verifier.energyWeight() == 0


def test_only_the_admin_role_sets_the_weight(world: World, stranger: Any, alice: Any) -> None:
    for caller in (stranger, alice):
        with reverts_with(world.verifier.AccessControlUnauthorizedAccount, account=caller.address):
            world.verifier.setEnergyWeight(VER, sender=caller)
    assert world.verifier.energyWeight() == 0
