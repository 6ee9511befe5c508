"""The chart library the dashboard serves is the pinned npm package's file, byte for byte
(committed under oracle/dashboard/static/vendor/ so images need no node_modules; refreshed by
`make dashboard-vendor`)."""

from __future__ import annotations

import json

from tests.dashboard.conftest import ROOT

VENDOR = ROOT / "oracle" / "dashboard" / "static" / "vendor"
PACKAGE = ROOT / "node_modules" / "uplot"
FILES = {
    "uPlot.iife.min.js": "dist/uPlot.iife.min.js",
    "uPlot.min.css": "dist/uPlot.min.css",
    "uPlot.LICENSE": "LICENSE",
}


def test_the_vendored_chart_library_equals_the_pinned_npm_package() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/uplot"]["version"]
    assert json.loads((ROOT / "package.json").read_text())["dependencies"]["uplot"] == pinned
    installed = json.loads((PACKAGE / "package.json").read_text())["version"]
    assert installed == pinned, "node_modules is stale: run `make deps`"
    for mine, theirs in FILES.items():
        assert (VENDOR / mine).read_bytes() == (PACKAGE / theirs).read_bytes(), (
            f"{VENDOR / mine} differs from uplot@{pinned}/{theirs}: run `make dashboard-vendor`"
        )
    assert (
        (VENDOR / "uPlot.iife.min.js")
        .read_text()
        .startswith(f"/*! https://github.com/leeoniya/uPlot (v{pinned}) */")
    )
