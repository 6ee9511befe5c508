"""The page follows the chain by itself: a node going Throttled shows without a reload, and the
page refreshes at most once per new block."""

from __future__ import annotations

from tests.dashboard._chain import ChainAt
from tests.dashboard.conftest import Tab


def test_overview_shows_a_node_going_throttled_without_reload_at_most_once_per_block(
    tab: Tab,
) -> None:
    world = tab.world
    s = world.scenario
    node = s.nodes["a100-2"]
    start = tab.open("/")
    page = tab.page
    badge = f'#node-table tr[data-node="{node}"] .badge'
    assert tab.text(badge) == "Active"
    page.wait_for_selector('#live-state[data-state="live"]', timeout=10_000)
    page.evaluate("() => { window.__sameDocument = true; }")
    refreshes = page.evaluate("() => window.verai.refreshes")
    limit = ChainAt(world.net, start).watt_limit(
        world.net.contracts.registry.functions.getNode(node).call()[1]
    )
    s.heartbeat("a100-2", 9_000, limit + 100)  # over the class's watt limit: Throttled
    page.wait_for_function(
        "([sel]) => document.querySelector(sel)?.textContent.trim() === 'Throttled'",
        arg=[badge],
        timeout=20_000,
    )
    head = world.net.head()
    page.wait_for_selector(f'#live[data-block="{head}"]', timeout=20_000)
    assert page.evaluate("() => window.__sameDocument") is True  # updated in place
    assert (
        tab.text('#class-status tr[data-class="GPU-A100-80G"] td[data-status="Throttled"]') == "1"
    )
    made = page.evaluate("() => window.verai.refreshes") - refreshes
    assert 1 <= made <= head - start, (made, head - start)
    s.heartbeat("a100-2", 2_500, 350)  # back under the limit: Active again
    page.wait_for_function(
        "([sel]) => document.querySelector(sel)?.textContent.trim() === 'Active'",
        arg=[badge],
        timeout=20_000,
    )
    assert page.evaluate("() => window.__sameDocument") is True
    made = page.evaluate("() => window.verai.refreshes") - refreshes
    assert made <= world.net.head() - start
