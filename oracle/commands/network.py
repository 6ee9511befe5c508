"""`verai network status`: the network at one block, from the event cache: nodes by class and
status, free units and price range per class, open tasks and pending units, the committee's last
round and its age, the governance parameters, and energy (issue 13): the registry's network and
per-class totals (`energyTotals()`, kWh, the measured part) and the declared renewable share."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from oracle.chain.mirror import NodeState, TaskState
from oracle.commands._cache import CachedState
from oracle.commands._energy import (
    energy_totals,
    renewable_summary,
    show_energy,
    show_renewable,
)
from oracle.commands._options import WalletOptions, json_option, wallet_command
from oracle.commands._output import (
    amount,
    emit_json,
    fields,
    show_age,
    show_price,
    show_time,
    show_ver,
    table,
)
from oracle.commands._session import Session
from oracle.commands._views import has_function
from oracle.explain import NODE_STATUS, TASK_STATUS, duration

ACTIVE, OPEN = 1, 1
LIVE_STATUSES = NODE_STATUS[1:]  # every status a registered node can have


@click.group("network")
def network_group() -> None:
    """The network as a whole: nodes, prices, tasks, the committee, governance."""


def _parameter(name: str, value: Any) -> str:
    if name.endswith("Bps"):
        return f"{int(value) / 100:g} %"
    if name.endswith(("Timeout", "Period", "Grace", "Delay", "Window")):
        return duration(int(value))
    return str(value)


def _class_rows(
    session: Session, state: CachedState, nodes: list[NodeState], tasks: list[TaskState]
) -> list[dict[str, Any]]:
    configured = state.mirror.classes_at(state.block)
    keys = sorted(
        {bytes.fromhex(k.removeprefix("0x")) for k in configured}
        | {n.resource_class for n in nodes}
    )
    keys.sort(key=session.class_label)
    rows = []
    for key in keys:
        mine = [n for n in nodes if n.resource_class == key]
        active = [n for n in mine if n.status == ACTIVE]
        prices = sorted(n.price for n in active)
        open_tasks = [t for t in tasks if t.resource_class == key and t.status == OPEN]
        config = configured.get("0x" + key.hex(), {})
        row: dict[str, Any] = {
            "class": session.class_label(key),
            "class_key": "0x" + key.hex(),
            "watt_limit": int(config.get("wattLimit", 0)),
            "nodes": {s: sum(1 for n in mine if NODE_STATUS[n.status] == s) for s in LIVE_STATUSES},
            "active_capacity": sum(n.capacity for n in active),
            "free_units": sum(n.free_units for n in active),
            "open_tasks": len(open_tasks),
            "pending_units": sum(t.pending for t in open_tasks),
            "running_units": sum(t.running for t in tasks if t.resource_class == key),
        }
        amount(row, "min_stake", int(config.get("minStake", 0)))
        amount(row, "price_min", prices[0] if prices else 0)
        amount(row, "price_max", prices[-1] if prices else 0)
        rows.append(row)
    return rows


@network_group.command("status")
@json_option
@wallet_command(signs=False)
def status(as_json: bool, opts: WalletOptions) -> None:
    """Nodes by class and status, free units and price range per class, open tasks and pending
    units, the committee's last round and its age, the governance parameters, and energy: kWh
    the registry credited (network and per class, the measured part) and the declared renewable
    share of the nodes."""
    session = Session(opts)
    state = session.cache(quiet=as_json)
    mirror, block, now = state.mirror, state.block, state.timestamp
    nodes = mirror.nodes_at(block)
    tasks = mirror.tasks_at(block, now)
    round_number, snapshot_block = mirror.latest_round_at(block)
    round_block = state.since("verifier.latest") if round_number else None
    round_time = mirror.block_timestamp(round_block) if round_block is not None else None
    config = mirror.config_at(block) or {}
    escrow, earnings, compensation = mirror.totals_at(block)
    registry = session.contracts.registry
    paused = (
        bool(session.view(registry.functions.paused()))
        if has_function(registry, "paused")
        else None
    )
    by_status = Counter(TASK_STATUS[t.status] for t in tasks)
    doc: dict[str, Any] = {
        "schema": "verai.network.status/1",
        "chain_id": session.chain.chain_id,
        "deployment": str(session.chain.record.path),
        "block": block,
        "timestamp": now,
        "paused": paused,
        "classes": _class_rows(session, state, nodes, tasks),
        "nodes": {s: sum(1 for n in nodes if NODE_STATUS[n.status] == s) for s in LIVE_STATUSES},
        "tasks": {
            "open": by_status.get("Open", 0),
            "completed": by_status.get("Completed", 0),
            "ended": by_status.get("Ended", 0),
            "pending_units": sum(t.pending for t in tasks if t.status == OPEN),
            "running_units": sum(t.running for t in tasks),
        },
        "market": {},
        "committee": {
            "round": round_number,
            "snapshot_block": snapshot_block,
            "round_block": round_block,
            "round_timestamp": round_time,
            "round_age": (now - round_time) if round_time is not None else None,
            "signers": len(config.get("signers", [])),
            "threshold": config.get("threshold"),
        },
        "parameters": {k: v for k, v in mirror.parameters_at(block).items()},
    }
    for name, value in (("escrow", escrow), ("earnings", earnings), ("compensation", compensation)):
        amount(doc["market"], name, value)
    doc["energy"], doc["renewable"] = _energy(session, state, nodes)
    if as_json:
        emit_json(doc)
        return
    click.echo(_render(doc))


def _render(doc: dict[str, Any]) -> str:
    now = doc["timestamp"]
    c = doc["committee"]
    if c["round"]:
        age = show_age(c["round_timestamp"], now) if c["round_timestamp"] else "?"
        committee = f"round {c['round']}, {age} (snapshot block {c['snapshot_block']:,})"
    else:
        committee = "no report yet"
    if c["threshold"]:
        committee += f"; {c['threshold']} of {c['signers']} signatures"
    t, m = doc["tasks"], doc["market"]
    params = ", ".join(f"{k} {_parameter(k, v)}" for k, v in doc["parameters"].items()) or "-"
    nodes = ", ".join(f"{v} {k}" for k, v in doc["nodes"].items() if v) or "none"
    head = (
        f"VerAI network on chain {doc['chain_id']}, block {doc['block']:,} ({show_time(now, None)})"
    )
    summary = fields(
        [
            ("deployment", doc["deployment"]),
            ("paused", {True: "yes", False: "no", None: "-"}[doc["paused"]]),
            ("nodes", nodes),
            (
                "tasks",
                f"{t['open']} open ({t['pending_units']} units pending, "
                f"{t['running_units']} running), {t['completed']} completed, "
                f"{t['ended']} ended",
            ),
            (
                "market holds",
                f"{show_ver(int(m['escrow']))} escrow, "
                f"{show_ver(int(m['earnings']))} earnings, "
                f"{show_ver(int(m['compensation']))} compensation",
            ),
            ("committee", committee),
            ("parameters", params),
            *_energy_lines(doc),
        ]
    )
    rows = []
    for r in doc["classes"]:
        counts = "/".join(str(r["nodes"][s]) for s in LIVE_STATUSES)
        price = "-"
        if int(r["price_max"]):
            low, high = int(r["price_min"]), int(r["price_max"])
            price = show_price(low) if low == high else f"{show_ver(low)} - {show_price(high)}"
        rows.append(
            (
                r["class"],
                counts,
                f"{r['free_units']}/{r['active_capacity']}",
                price,
                r["open_tasks"],
                r["pending_units"],
                show_ver(int(r["min_stake"])),
                f"{r['watt_limit']} W" if r["watt_limit"] else "-",
            )
        )
    classes = table(
        (
            "class",
            "nodes A/T/F/E/X",
            "free/capacity",
            "price range",
            "open tasks",
            "pending",
            "min stake",
            "watt limit",
        ),
        rows,
        right="open tasks,pending,min stake",
    )
    parts = [head, summary, "", classes, "  (nodes: Active/Throttled/Failed/Exiting/Exited)"]
    if doc.get("energy"):
        parts += ["", _energy_table(doc["energy"])]
    return "\n".join(parts)


def _energy(
    session: Session, state: CachedState, nodes: list[NodeState]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """energyTotals() at the pinned block, and the declared renewable share of the nodes (from
    the event cache when it keeps energy, else energyOf of each node in one batch)."""
    registry = session.contracts.registry
    if not has_function(registry, "energyTotals"):
        return None, None
    totals = energy_totals(session.view(registry.functions.energyTotals()), session.class_label)
    energy_at = getattr(state.mirror, "energy_at", None)
    if energy_at is not None:
        mine = energy_at(state.block)
        shares = {i: (int(e.energy_j), int(e.renewable_bps)) for i, e in mine.items()}
    else:
        views = session.views([registry.functions.energyOf(n.id) for n in nodes])
        shares = {
            n.id: (int(v["energyJ"]), int(v["renewableBps"]))
            for n, v in zip(nodes, views, strict=True)
        }
    renewable = renewable_summary((n.id, n.status, *shares.get(n.id, (0, 0))) for n in nodes)
    return totals, renewable


def _energy_lines(doc: dict[str, Any]) -> list[tuple[str, object]]:
    if not doc.get("energy"):
        return []
    return [
        ("energy", show_energy(doc["energy"])),
        ("renewable", show_renewable(doc["renewable"])),
    ]


def _energy_table(energy: dict[str, Any]) -> str:
    rows = [
        (
            c["class"],
            c["energy_kwh"],
            c["measured_kwh"],
            c["measured_share"] or "-",
        )
        for c in energy["classes"]
    ]
    rows.append(("network", energy["energy_kwh"], energy["measured_kwh"],
                 energy["measured_share"] or "-"))  # fmt: skip
    return table(
        ("energy by class", "kWh", "measured kWh", "measured"),
        rows,
        right="kWh,measured kWh,measured",
    )
