"""Chart specs for the page's JavaScript (static/app.js draws them with the vendored uPlot).

A spec is plain JSON: x values (unix seconds), one or more series of y values aligned with x
(None where a series has no point), each with a label, a colour and a scale (one y axis per
distinct scale). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PALETTE = ("#4f9dff", "#f5a524", "#2fd27a", "#e5484d", "#b57bff", "#36c5d6", "#f07ec5")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | int | None]
    scale: str
    stepped: bool = False
    bars: bool = False


def chart(
    title: str,
    x: Sequence[int],
    series: Sequence[Series],
    *,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The spec of one time chart; `thresholds` draws a dashed line per scale (e.g. a limit)."""
    for s in series:
        if len(s.values) != len(x):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(x)} x")
    return {
        "title": title,
        "x": list(x),
        "series": [
            {
                "label": s.label,
                "values": list(s.values),
                "scale": s.scale,
                "stepped": s.stepped,
                "bars": s.bars,
                "color": PALETTE[i % len(PALETTE)],
            }
            for i, s in enumerate(series)
        ],
        "thresholds": dict(thresholds or {}),
        "points": sum(1 for s in series for v in s.values if v is not None),
    }


def align_steps(
    steps: Mapping[str, Sequence[tuple[int, int]]],
) -> tuple[list[int], dict[str, list[int]]]:
    """Step functions with their own change points, on one x axis (the union of their times),
    each carried forward to the times it does not change at."""
    xs = sorted({t for points in steps.values() for t, _ in points})
    aligned: dict[str, list[int]] = {}
    for name, points in steps.items():
        values: list[int] = []
        index, level = 0, 0
        for t in xs:
            while index < len(points) and points[index][0] <= t:
                level = points[index][1]
                index += 1
            values.append(level)
        aligned[name] = values
    return xs, aligned


def align_points(
    series: Mapping[str, Sequence[tuple[int, int]]],
) -> tuple[list[int], dict[str, list[int | None]]]:
    """Point series with their own times on one x axis; None where a series has no point."""
    xs = sorted({t for points in series.values() for t, _ in points})
    position = {t: i for i, t in enumerate(xs)}
    aligned: dict[str, list[int | None]] = {}
    for name, points in series.items():
        values: list[int | None] = [None] * len(xs)
        for t, v in points:
            values[position[t]] = v
        aligned[name] = values
    return xs, aligned
