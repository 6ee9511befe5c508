"""The dashboard through an RPC that fails: it keeps serving the last block it ingested, says
the chain is unreachable, fails /healthz, and catches up once the RPC answers again; stopped and
started again on the same database it resumes from its cursor (nothing ingested twice)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest
import requests

from scripts._processes import ManagedProcess, wait_until
from tests.dashboard.conftest import ROOT, World, start_dashboard


@pytest.fixture
def proxy(world: World) -> Iterator[str]:
    argv = [sys.executable, str(ROOT / "tools" / "faulty_rpc.py"), "--upstream", world.net.url]
    process = ManagedProcess("faulty-rpc", argv, world.folder / "faulty-rpc.log").start()
    try:
        match = process.wait_for_output(r"Listening on (127\.0\.0\.1:\d+)", timeout=30)
        yield f"http://{match.group(1)}"
    finally:
        process.stop()


def page_block(url: str) -> tuple[int, bool]:
    """(block shown, whether the page says the chain is unreachable)."""
    html = requests.get(url + "/", timeout=10).text
    match = re.search(r'<main id="live" data-block="(\d+)"', html)
    assert match is not None, html[:500]
    return int(match.group(1)), 'id="follow-error"' in html


def healthy(url: str) -> bool:
    return requests.get(url + "/healthz", timeout=10).status_code == 200


def test_an_unreachable_rpc_shows_the_last_block_fails_healthz_and_recovers(
    world: World, proxy: str
) -> None:
    net, s = world.net, world.scenario
    env = {"VERAI_HEALTH_TIMEOUT": "2"}
    process, url = start_dashboard(net, world.folder, name="through-proxy", rpc_url=proxy, env=env)
    try:
        head = net.head()
        wait_until(lambda: page_block(url) == (head, False), timeout=30, what="catching up")
        assert healthy(url)
        requests.post(proxy + "/__faults", json={"error_rate": 1.0}, timeout=10)
        s.heartbeat("cpu", 1_500, 130)  # the chain moves on; the dashboard cannot see it
        wait_until(lambda: page_block(url) == (head, True), timeout=60, what="the error banner")
        wait_until(lambda: not healthy(url), timeout=60, what="/healthz to fail")
        requests.post(proxy + "/__faults", json={"error_rate": 0.0}, timeout=10)
        wait_until(lambda: page_block(url) == (net.head(), False), timeout=60, what="the recovery")
        assert healthy(url)
        assert process.stop() == 0  # SIGTERM: a clean shutdown
        beats = sum(1 for b in s.beats if b.node == s.nodes["cpu"])
        process, url = start_dashboard(
            net, world.folder, name="through-proxy", rpc_url=proxy, env=env
        )
        assert page_block(url) == (net.head(), False)  # from its own database at once
        node = requests.get(f"{url}/node/{s.nodes['cpu']}", timeout=10).text
        assert f"{beats} heartbeats" in node  # none ingested twice
    finally:
        process.stop()
