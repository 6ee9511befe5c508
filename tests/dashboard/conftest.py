"""Fixtures of the dashboard tests: one real Anvil with the scenario's history, one `verai
dashboard` process following it (its own SQLite mirror, a free port), and Debian's Chromium
driven headless by Playwright. Every page a test opens may talk to the dashboard only: any
other request is refused and fails the test, and so does any console error (a CSP violation
included)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts._processes import ManagedProcess
from tests._localnet import Localnet, start_localnet
from tests.dashboard._scenario import Scenario, drive

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = Path(os.environ.get("VERAI_CHROMIUM", "/usr/bin/chromium"))
# Playwright's own browser download cannot work on these machines: Debian's chromium, with the
# flags that keep it from calling home (and a fresh profile: Playwright makes one per launch).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 60


@dataclass
class World:
    net: Localnet
    scenario: Scenario
    dashboard: ManagedProcess
    url: str
    folder: Path


def verai(*args: str) -> list[str]:
    return [sys.executable, "-c", "from oracle.cli import main; main()", *args]


def start_dashboard(
    net: Localnet,
    folder: Path,
    *extra: str,
    name: str = "dashboard",
    rpc_url: str | None = None,
    env: dict[str, str] | None = None,
) -> tuple[ManagedProcess, str]:
    """`verai dashboard` on a free port of 127.0.0.1; returns the process and its URL."""
    argv = verai(
        "dashboard",
        "--network",
        rpc_url or net.url,
        "--deployment",
        str(net.record_path),
        "--listen",
        "127.0.0.1:0",
        "--db",
        str(folder / f"{name}.sqlite"),
        "--poll-interval",
        "0.2",
        "--log-format",
        "text",
        *extra,
    )
    process = ManagedProcess(
        name, argv, folder / f"{name}.log", cwd=ROOT, env={**os.environ, **(env or {})}
    ).start()
    try:
        match = process.wait_for_output(
            r"Listening on (http://127\.0\.0\.1:\d+)", timeout=START_TIMEOUT
        )
    except BaseException:
        process.stop()
        raise
    return process, match.group(1)


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("dashboard")
    net = start_localnet(folder)
    try:
        scenario = drive(net, folder)
        process, url = start_dashboard(net, folder, "--store-folder", str(scenario.store_folder))
        try:
            yield World(net, scenario, process, url, folder)
        finally:
            process.stop()
    finally:
        net.anvil.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `make deps` installs Debian's chromium "
            "(apt-get install -y chromium), or set VERAI_CHROMIUM to another binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """A browser page on the dashboard, with what it tried beyond it and what it complained of."""

    page: Any
    world: World
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(self, path: str, *, at_head: bool = True) -> int:
        """Opens `path` and waits (the page follows new blocks by itself) until it shows the
        chain's head block; returns that block."""
        self.page.goto(self.world.url + path)
        if not at_head:
            return int(self.page.get_attribute("#live", "data-block"))
        head = self.world.net.head()
        self.page.wait_for_selector(f'#live[data-block="{head}"]', timeout=20_000)
        return head

    def text(self, selector: str) -> str:
        return str(self.page.inner_text(selector)).strip()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def chart_pixels(self, selector: str, colour: str) -> int:
        """How many pixels of `colour` (#rrggbb) the chart's canvas holds: the series drawn."""
        return int(
            self.page.evaluate(
                """([selector, colour]) => {
                    const canvas = document.querySelector(selector + ' canvas');
                    if (!canvas) return -1;
                    const want = [1, 3, 5].map(i => parseInt(colour.slice(i, i + 2), 16));
                    const data = canvas.getContext('2d')
                        .getImageData(0, 0, canvas.width, canvas.height).data;
                    let n = 0;
                    for (let i = 0; i < data.length; i += 4) {
                        if (data[i + 3] > 200 && Math.abs(data[i] - want[0]) < 8
                            && Math.abs(data[i + 1] - want[1]) < 8
                            && Math.abs(data[i + 2] - want[2]) < 8) n++;
                    }
                    return n;
                }""",
                [selector, colour],
            )
        )


@pytest.fixture
def tab(browser: Any, world: World) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    opened = Tab(page, world)

    def route(request_route: Any) -> None:
        url = str(request_route.request.url)
        if url.startswith(world.url + "/"):
            request_route.continue_()
        else:
            opened.outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    page.on("console", lambda m: opened.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.problems.append(f"page error: {e}"))
    try:
        yield opened
    finally:
        context.close()
    assert not opened.outside, f"the page reached beyond the dashboard: {opened.outside}"
    assert not opened.problems, f"the browser reported: {opened.problems}"
