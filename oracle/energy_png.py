"""The energy report's plots as a PNG (`verai energy report --png FILE`): power over time per
class (the energy each heartbeat was credited, as mean watts over the span the registry
credited it for: for an estimated heartbeat that is its reported watts; the heartbeat timeout
caps a span, so a silent node drops to 0), throttled periods shaded, and the declared renewable
share by node count and by energy against the 80 % goal.

At the edge: matplotlib (the `report` extra) with its Agg canvas, no display, no global
backend switch; everything it draws comes from an `EnergyReport`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from oracle.energy import RENEWABLE_GOAL, kwh_string
from oracle.energy_report import THROTTLED, EnergyReport
from oracle.errors import OracleError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


class PlotError(OracleError):
    """The plots cannot be drawn (matplotlib missing, a file that cannot be written)."""


def check_available() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError(
            "the plots need matplotlib: pip install 'verai-network[report]' (make deps does)"
        ) from None


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def write_png(report: EnergyReport, path: Path, *, title: str = "VerAI network") -> None:
    """Draws the report's plots into `path` (a PNG, 150 dpi)."""
    check_available()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    power, share = figure.subplots(2, 1, height_ratios=(3, 1.4))

    w = report.window
    colour = {c.resource_class: COLOURS[i % len(COLOURS)] for i, c in enumerate(report.classes)}
    energy = {c.resource_class: c for c in report.classes}
    for series in report.power:
        times = [_time(t) for t, _ in series.points]
        watts = [float(p) for _, p in series.points]
        c = energy[series.resource_class]
        power.step(
            times,
            watts,
            where="post",
            color=colour[series.resource_class],
            linewidth=1.6,
            label=f"{series.resource_class}: {kwh_string(c.energy_j, 4)} kWh, {c.source.label}",
        )
    class_of = {n.node_id: n.resource_class for n in report.nodes}
    open_since: dict[int, int] = {}
    shaded = False
    for event in report.throttling:
        if event.to_status == THROTTLED:
            open_since[event.node_id] = event.at.timestamp
        elif event.node_id in open_since:
            since = open_since.pop(event.node_id)
            power.axvspan(
                _time(since), _time(event.at.timestamp), color="#d62728", alpha=0.12,
                label=None if shaded else "a node throttled (over its class's watt limit)",
            )  # fmt: skip
            shaded = True
    for node_id, since in open_since.items():
        power.axvspan(
            _time(since), _time(w.to_time), color="#d62728", alpha=0.12,
            label=None if shaded else f"throttled ({class_of.get(node_id, '?')})",
        )  # fmt: skip
        shaded = True
    power.set_xlim(_time(w.from_time), _time(max(w.to_time, w.from_time + 1)))
    peak = max((float(p) for series in report.power for _, p in series.points), default=0.0)
    power.set_ylim(0, max(peak * 1.3, 1.0))  # room for the legend above the highest step
    power.set_ylabel("power (W)")
    cap = f", gap cap {report.gap_cap} s" if report.gap_cap else ""
    power.set_title(
        f"{title}: {kwh_string(report.energy_j, 4)} kWh in blocks {w.from_block + 1:,} .. "
        f"{w.to_block:,} ({report.source.label}{cap})",
        fontsize=10,
    )
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    power.xaxis.set_major_locator(locator)
    power.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    power.set_xlabel("time (UTC)")
    power.grid(alpha=0.3)
    power.legend(loc="upper left", fontsize=8)

    r = report.renewable
    labels = [f"by node count ({r.live_nodes} live nodes)", "by energy"]
    values = [r.by_count, r.by_energy]
    colours = ["#2ca02c", "#98df8a"]
    for c in report.classes:
        labels.append(f"{c.resource_class}, by energy")
        values.append(c.renewable_by_energy)
        colours.append(colour[c.resource_class])
    rows = list(range(len(labels)))[::-1]
    share.barh(rows, [100 * float(v or 0) for v in values], color=colours, height=0.6)
    for row, value in zip(rows, values, strict=True):
        text = "no energy" if value is None else f"{100 * float(value):.1f} %"
        share.text(1 + 100 * float(value or 0), row, text, va="center", fontsize=8)
    goal = 100 * float(RENEWABLE_GOAL)
    share.axvline(goal, color="#555555", linestyle="--", linewidth=1)
    share.set_ylim(-0.6, len(rows) - 0.1)
    share.text(goal + 0.8, rows[0] + 0.42, "goal: 80 % by 2030", fontsize=8, color="#555555")
    share.set_yticks(rows, labels, fontsize=8)
    share.set_xlim(0, 105)
    share.set_xlabel("renewable share of supply, % (declared by the node owners)")
    share.set_title("Declared renewable share", fontsize=10)
    share.grid(axis="x", alpha=0.3)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    except OSError as exc:
        raise PlotError(f"cannot write {path}: {exc.strerror or exc}") from None
