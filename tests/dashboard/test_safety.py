"""Read-only, local-only, observable: no method but GET and HEAD is answered anywhere; the page
needs nothing from beyond the dashboard; /metrics and /healthz tell how the ingestion does."""

from __future__ import annotations

import requests

from tests.dashboard.conftest import Tab, World

PATHS = (
    "/",
    "/nodes",
    "/node/1",
    "/task/1",
    "/rounds",
    "/round/1",
    "/energy",
    "/events",
    "/metrics",
    "/healthz",
    "/static/app.js",
    "/no/such/page",
)


def test_every_path_refuses_every_method_that_could_change_something(world: World) -> None:
    for path in PATHS:
        for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
            reply = requests.request(method, world.url + path, data=b"x", timeout=10)
            assert reply.status_code == 405, (method, path, reply.status_code)
            assert reply.headers["Allow"] == "GET, HEAD"
    for path in ("/", "/node/1", "/static/app.js", "/healthz"):
        assert requests.head(world.url + path, timeout=10).status_code == 200, path


def test_pages_carry_a_strict_content_security_policy(world: World) -> None:
    reply = requests.get(world.url + "/", timeout=10)
    policy = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_bad_parameters_and_unknown_ids_are_precise_errors(world: World) -> None:
    bad = requests.get(world.url + "/energy?window=forever", timeout=10)
    assert bad.status_code == 400
    assert "window=&#39;forever&#39; is not one of 1h, 6h, 24h, 7d, all" in bad.text
    assert requests.get(world.url + "/tasks?page=0", timeout=10).status_code == 400
    assert requests.get(world.url + "/node/424242", timeout=10).status_code == 404
    assert requests.get(world.url + "/task/99999999999999999999", timeout=10).status_code == 404


def test_healthz_and_metrics_report_the_ingestion(world: World) -> None:
    import time

    deadline = time.monotonic() + 20
    while True:
        health = requests.get(world.url + "/healthz", timeout=10)
        body = health.json()
        if body.get("cursor") == world.net.head() or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert health.status_code == 200 and body["healthy"] is True
    assert body["cursor"] == world.net.head(), body
    metrics = requests.get(world.url + "/metrics", timeout=10).text
    assert f"verai_dashboard_ingested_block {float(world.net.head())}" in metrics
    assert 'verai_dashboard_polls_total{result="ok"}' in metrics
    assert "verai_dashboard_requests_total" in metrics


def test_the_page_loads_everything_from_the_dashboard_itself(tab: Tab) -> None:
    """No CDN, no font service: the page works with no internet (the tab fixture also fails on
    any request that leaves the dashboard)."""
    tab.open("/")
    sources = tab.page.evaluate(
        "() => [...document.querySelectorAll('script[src], link[href]')]"
        ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
    )
    assert sources and all(s.startswith("/static/") or s == "data:," for s in sources), sources
    assert tab.page.evaluate("() => typeof uPlot") == "function"
