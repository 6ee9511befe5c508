"""A node reported once after its heartbeat timeout is suspected (issue 10's two-step failure):
its page says by whom and from when a second report fails it, until a heartbeat voids it."""

from __future__ import annotations

import pytest

from oracle.chain.abi import load_abi
from oracle.dashboard.format import utc
from tests.dashboard._chain import ChainAt
from tests.dashboard.conftest import Tab


def test_a_suspected_node_says_so_until_its_next_heartbeat(tab: Tab) -> None:
    names = {e.get("name") for e in load_abi("NodeRegistry") if e.get("type") == "event"}
    if "NodeSuspected" not in names:
        pytest.skip("the committed NodeRegistry ABI fails nodes in one step")
    net, s = tab.world.net, tab.world.scenario
    node = s.nodes["cpu"]
    timeout = ChainAt(net, net.head()).heartbeat_timeout()
    net.mine(seconds=timeout + 1)
    net.send(net.contracts.registry.functions.reportFailure(node), net.account(9))
    reporter, _, failable_at = net.contracts.registry.functions.suspicionOf(node).call()
    tab.open(f"/node/{node}")
    text = tab.text("#node-suspicion")
    assert text.startswith(f"Suspected by {reporter[:8]}…{reporter[-6:]}"), text
    assert f"fails it from {utc(failable_at)}" in text
    s.heartbeat("cpu", 1_000, 120)
    tab.page.wait_for_selector("#node-suspicion", state="detached", timeout=20_000)
    assert tab.text(".badge") == "Active"
