"""A paused network says so on every page (the registry's emergency pause, issue 10)."""

from __future__ import annotations

import pytest

from oracle.chain.abi import load_abi
from tests.dashboard.conftest import Tab


def test_every_page_says_when_the_network_is_paused(tab: Tab) -> None:
    names = {e.get("name") for e in load_abi("NodeRegistry") if e.get("type") == "event"}
    if "Paused" not in names:
        pytest.skip("the committed NodeRegistry ABI has no pause yet")
    net = tab.world.net
    registry = net.contracts.registry.functions
    net.send(registry.pause(), net.deployer)
    try:
        tab.open("/")
        assert "the network is paused" in tab.text("#paused")
        tab.open(f"/task/{tab.world.scenario.tasks['train']}")
        assert tab.page.locator("#paused").count() == 1
    finally:
        net.send(registry.unpause(), net.deployer)
    tab.page.wait_for_selector("#paused", state="detached", timeout=20_000)  # live, no reload
