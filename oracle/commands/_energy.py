"""Energy as the wallet commands show it (issue 13): the registry's own credited joules in kWh,
measured (the node's energy counter) or estimated (watts x time), and renewable shares, always
labelled *declared* (an owner's statement, not a measurement)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from oracle.energy import BPS, JOULES_PER_KWH, RENEWABLE_GOAL, renewable_share

LIVE = frozenset({1, 2, 4})  # Active, Throttled, Exiting: the nodes a share by count is over
GOAL_YEAR = 2030


def kwh_text(joules: int) -> str:
    """kWh to the milliwatt-hour, trailing zeros dropped ("0.00058", "12.5", "0")."""
    value = Fraction(joules, JOULES_PER_KWH)
    units = round(value * 1_000_000)  # exact: Fraction rounds half to even
    whole, frac = divmod(units, 1_000_000)
    return f"{whole:,}" + (f".{frac:06d}".rstrip("0") if frac else "")


def share_text(share: Fraction | None) -> str:
    """A share as a percent with up to two decimals ("80 %", "72.35 %"), "-" for none."""
    if share is None:
        return "-"
    bps = round(share * BPS)
    return f"{bps // 100}" + (f".{bps % 100:02d}".rstrip("0") if bps % 100 else "") + " %"


def bps_text(bps: int) -> str:
    return share_text(Fraction(bps, BPS))


def node_energy(energy: Mapping[str, Any] | None) -> dict[str, Any]:
    """The energy fields of a node's status document from `energyOf` (None: an older registry
    without energy accounting)."""
    if energy is None:
        return {"energy": None}
    joules, counter = int(energy["energyJ"]), int(energy["counterJ"])
    bps = int(energy["renewableBps"])
    return {
        "energy": {
            "energy_j": joules,
            "energy_kwh": kwh_text(joules),
            # the source of the node's last heartbeat: its counter (measured) or watts x time
            "source": "measured" if bool(energy["measured"]) else "estimated",
            "counter_j": counter,
            "renewable_bps": bps,
            "renewable_declared": True,  # a declaration by the owner, never a measurement
        }
    }


def show_node_energy(e: Mapping[str, Any]) -> tuple[str, str]:
    """(energy line, renewable line) of a node's status."""
    if e["source"] == "measured":
        how = f"last heartbeat measured: energy counter {e['counter_j']:,} J"
    else:
        how = "last heartbeat estimated: watts x time"
    renewable = (
        f"{bps_text(e['renewable_bps'])} declared by the owner"
        if e["renewable_bps"]
        else "not declared (verai node renewable)"
    )
    return f"{e['energy_kwh']} kWh credited on chain ({how})", renewable


def renewable_summary(
    nodes: Iterable[tuple[int, int, int, int]],
) -> dict[str, Any]:
    """The network's declared renewable share from (node id, status, energy J, declared bps):
    by node count (the mean declared share of the live nodes, none declared = 0; the seed's goal
    of 80 % by 2030) and weighted by each node's credited energy (with its current declaration).
    Same definitions as `verai energy report`."""
    rows = list(nodes)
    live = [r for r in rows if r[1] in LIVE]
    by_count = Fraction(sum(r[3] for r in live), BPS * len(live)) if live else None
    by_energy = renewable_share({r[0]: r[2] for r in rows}, {r[0]: r[3] for r in rows})
    return {
        "declared": True,
        "live_nodes": len(live),
        "declaring_nodes": sum(1 for r in live if r[3] > 0),
        "by_node_count": share_text(by_count) if by_count is not None else None,
        "by_node_count_bps": round(by_count * BPS) if by_count is not None else None,
        "by_energy": share_text(by_energy) if by_energy is not None else None,
        "by_energy_bps": round(by_energy * BPS) if by_energy is not None else None,
        "goal": share_text(RENEWABLE_GOAL),
        "goal_year": GOAL_YEAR,
    }


def show_renewable(r: Mapping[str, Any]) -> str:
    if not r["live_nodes"]:
        return "no live node"
    text = (
        f"{r['by_node_count']} by node count ({r['declaring_nodes']} of {r['live_nodes']} live "
        "nodes declare a share)"
    )
    if r["by_energy"] is not None:
        text += f", {r['by_energy']} by energy"
    return text + f"; declared, not measured; goal {r['goal']} by {r['goal_year']}"


def energy_totals(raw: Mapping[str, Any], label: Any) -> dict[str, Any]:
    """The document of `energyTotals()` (network and per class), kWh beside exact joules."""
    classes = []
    for key, joules, measured in zip(
        raw["classes"], raw["classEnergyJ"], raw["classMeasuredJ"], strict=True
    ):
        classes.append(
            {
                "class": label(bytes(key)),
                "class_key": "0x" + bytes(key).hex(),
                **_amounts(int(joules), int(measured)),
            }
        )
    return {**_amounts(int(raw["energyJ"]), int(raw["measuredJ"])), "classes": classes}


def _amounts(joules: int, measured: int) -> dict[str, Any]:
    return {
        "energy_j": joules,
        "energy_kwh": kwh_text(joules),
        "measured_j": measured,
        "measured_kwh": kwh_text(measured),
        "measured_share": share_text(Fraction(measured, joules)) if joules else None,
    }


def show_energy(e: Mapping[str, Any]) -> str:
    measured = f"{e['measured_kwh']} kWh measured" + (
        f" ({e['measured_share']})" if e["measured_share"] else ""
    )
    return f"{e['energy_kwh']} kWh credited by the registry, {measured}, the rest estimated"
