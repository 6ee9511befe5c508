"""The contributor's wallet commands of `verai node`: register, status, update-price,
update-capacity, add-stake, renewable, exit, withdraw (`run`, the agent itself, is
oracle/agent/cli.py)."""

from __future__ import annotations

from typing import Any

import click

from oracle.agent.registration import (
    NodeOffer,
    RegistrationError,
    check_offer,
    ensure_registered,
    find_node,
)
from oracle.commands._energy import bps_text, node_energy, show_node_energy
from oracle.commands._options import (
    AMOUNT,
    SHARE,
    WalletOptions,
    json_option,
    wallet_command,
    yes_option,
)
from oracle.commands._output import (
    amount,
    emit_json,
    fail,
    fields,
    show_age,
    show_price,
    show_time,
    show_ver,
    table,
)
from oracle.commands._session import Session
from oracle.commands._spend import pay_and_send, sign_permit
from oracle.commands._views import has_function
from oracle.explain import NODE_STATUS
from oracle.explain import duration as show_duration

EXITING, FAILED = 4, 3


def _require_node(session: Session, node_id: int) -> dict[str, Any]:
    count = int(session.view(session.contracts.registry.functions.nodeCount()))
    if not 1 <= node_id <= count:
        known = f"nodes 1 to {count}" if count else "no nodes yet"
        fail(
            f"unknown node {node_id}: this deployment has {known} (chain {session.chain.chain_id})"
        )
    node: dict[str, Any] = session.view(session.contracts.registry.functions.getNode(node_id))
    return node


def _require_owner(session: Session, node_id: int, node: dict[str, Any]) -> None:
    if str(node["owner"]).lower() != session.signer.address.lower():
        fail(f"node {node_id} belongs to {node['owner']}, not to {session.signer.address}")


# ------------------------------------------------------------------------------- register
@click.command("register")
@click.argument("resource_class", metavar="CLASS")
@click.option("--capacity", required=True, type=click.IntRange(min=1), help="Units offered.")
@click.option("--price", required=True, type=AMOUNT, help="Asking price, VER per unit-hour.")
@click.option("--stake", required=True, type=AMOUNT, help="VER to stake (the class minimum+).")
@click.option("--metadata-uri", default="", help="Where the node describes itself.")
@yes_option
@json_option
@wallet_command(signs=True)
def register(
    resource_class: str,
    capacity: int,
    price: int,
    stake: int,
    metadata_uri: str,
    yes: bool,
    as_json: bool,
    opts: WalletOptions,
) -> None:
    """Register a node of CLASS and stake VER (one transaction: the stake is approved with a
    permit). Does nothing when the wallet already has a live node of CLASS."""
    session = Session(opts)
    offer = NodeOffer(resource_class, capacity, price, stake, metadata_uri)
    owner = session.signer.address
    try:
        existing = find_node(session.contracts, owner, offer)
        if not existing:
            check_offer(session.contracts, owner, offer)
    except RegistrationError as exc:
        fail(str(exc))
    if existing:
        _print_registration(session, existing, created=False, tx=None, as_json=as_json)
        return
    registry = session.contracts.registry
    permit = sign_permit(session, registry.address, stake)
    probe = registry.functions.registerWithPermit(
        offer.key,
        capacity,
        price,
        stake,
        metadata_uri,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
    )
    fee = session.require_gas(session.check_call(probe))
    config = session.view(registry.functions.classConfig(offer.key))
    lines: list[tuple[str, object]] = [
        ("owner", owner),
        ("class", session.class_label(offer.key)),
        ("capacity", f"{capacity} units"),
        ("price", show_price(price)),
        ("stake", f"{show_ver(stake)} (class minimum {show_ver(int(config['minStake']))})"),
        ("earns", f"up to {show_ver(capacity * price)} per hour when fully allocated"),
    ]
    session.propose(f"Register a node on chain {session.chain.chain_id}:", lines, fee, yes)
    try:
        registration = ensure_registered(session.contracts, session.sender, offer)
    except RegistrationError as exc:
        fail(str(exc))
    sent = session.sender.outcome(f"register:{owner.lower()}:0x{offer.key.hex()}")
    tx = sent.tx_hash if sent is not None else None
    _print_registration(session, registration.node_id, created=True, tx=tx, as_json=as_json)


def _print_registration(
    session: Session, node_id: int, *, created: bool, tx: str | None, as_json: bool
) -> None:
    session.refresh()
    node = session.view(session.contracts.registry.functions.getNode(node_id))
    if as_json:
        doc: dict[str, Any] = {
            "schema": "verai.node.register/1",
            "node_id": node_id,
            "created": created,
            "owner": node["owner"],
            "class": session.class_label(bytes(node["resourceClass"])),
            "capacity": int(node["capacity"]),
            "tx_hash": tx,
        }
        amount(doc, "price", int(node["pricePerUnitHour"]))
        amount(doc, "stake", int(node["stake"]))
        emit_json(doc)
        return
    what = "registered" if created else "already registered (nothing sent)"
    click.echo(
        f"node {node_id} {what}: {session.class_label(bytes(node['resourceClass']))}, "
        f"{node['capacity']} units at {show_price(int(node['pricePerUnitHour']))}, "
        f"stake {show_ver(int(node['stake']))}" + (f" (tx {tx})" if tx else "")
    )
    if created:
        click.echo("start its agent: verai node run (same wallet and class)")


# --------------------------------------------------------------------------------- status
@click.command("status")
@click.argument("node_id", metavar="[ID]", type=click.IntRange(min=1), required=False)
@json_option
@wallet_command(signs=False)
def status(node_id: int | None, as_json: bool, opts: WalletOptions) -> None:
    """A node's status, reserved/capacity, price, stake, last heartbeat, watts, energy (kWh the
    registry credited, measured or estimated; the declared renewable share) and the owner's
    earnings; without ID, every node of the wallet (--address / --account / --keystore)."""
    session = Session(opts)
    owner: str | None = None
    if node_id is not None:
        _require_node(session, node_id)
        ids = [node_id]
    else:
        owner = session.require_address()
        state = session.cache(quiet=as_json)
        ids = [
            n.id for n in state.mirror.nodes_at(state.block, "lower(owner) = ?", (owner.lower(),))
        ]
    registry = session.contracts.registry.functions
    nodes = session.views([registry.getNode(i) for i in ids])
    owners = sorted({str(n["owner"]) for n in nodes} | ({owner} if owner else set()))
    market = session.contracts.market.functions
    earnings = dict(zip(owners, session.views([market.earningsOf(o) for o in owners]), strict=True))
    classes = sorted({bytes(n["resourceClass"]) for n in nodes})
    limits = {
        key: int(c["wattLimit"])
        for key, c in zip(
            classes, session.views([registry.classConfig(k) for k in classes]), strict=True
        )
    }
    rows = [_node_json(session, i, n, limits) for i, n in zip(ids, nodes, strict=True)]
    if has_function(session.contracts.registry, "suspicionOf"):  # the two-step failure registry
        suspicions = session.views([registry.suspicionOf(i) for i in ids])
        for row, suspicion in zip(rows, suspicions, strict=True):
            open_ = int(suspicion["suspectedAt"]) != 0
            row["suspected_by"] = suspicion["reporter"] if open_ else None
            row["suspected_at"] = int(suspicion["suspectedAt"]) if open_ else None
            row["failable_at"] = int(suspicion["failableAt"]) if open_ else None
    has_energy = has_function(session.contracts.registry, "energyOf")  # issue 13
    energies = session.views([registry.energyOf(i) for i in ids]) if has_energy else []
    for row, energy in zip(rows, energies or [None] * len(rows), strict=True):
        row.update(node_energy(energy))
    if as_json:
        doc: dict[str, Any] = {
            "schema": "verai.node.status/1",
            "block": session.pin.number,
            "timestamp": session.pin.timestamp,
            "owner": owner,
            "nodes": rows,
            "earnings": [],
        }
        for who in owners:
            entry: dict[str, Any] = {"owner": who}
            amount(entry, "earnings", int(earnings[who]))
            doc["earnings"].append(entry)
        emit_json(doc)
        return
    now = session.pin.timestamp
    if not rows:
        click.echo(f"{owner} has no node on chain {session.chain.chain_id} (verai node register)")
        return
    if node_id is not None:
        click.echo(_render_one(rows[0], now, session.pin.number))
    else:
        click.echo(_render_many(rows, now))
    for who in owners:
        click.echo(
            f"earnings of {who}: {show_ver(int(earnings[who]))} owed"
            + (" (verai earnings withdraw)" if earnings[who] else "")
        )


def _node_json(
    session: Session, node_id: int, n: dict[str, Any], limits: dict[bytes, int]
) -> dict[str, Any]:
    key = bytes(n["resourceClass"])
    doc: dict[str, Any] = {
        "node_id": node_id,
        "owner": n["owner"],
        "class": session.class_label(key),
        "class_key": "0x" + key.hex(),
        "status": NODE_STATUS[int(n["status"])],
        "capacity": int(n["capacity"]),
        "reserved": int(n["reserved"]),
        "free": int(n["capacity"]) - int(n["reserved"]),
        "last_heartbeat_at": int(n["lastHeartbeatAt"]),
        "heartbeat_age": max(0, session.pin.timestamp - int(n["lastHeartbeatAt"])),
        "load_bps": int(n["loadBps"]),
        "watts": int(n["watts"]),
        "watt_limit": limits.get(key, 0),
        "unbonding_ends_at": int(n["unbondingEndsAt"]),
    }
    amount(doc, "price", int(n["pricePerUnitHour"]))
    amount(doc, "stake", int(n["stake"]))
    return doc


def _render_one(n: dict[str, Any], now: int, block: int) -> str:
    limit = f"; class limit {n['watt_limit']} W" if n["watt_limit"] else ""
    pairs: list[tuple[str, object]] = [
        ("owner", n["owner"]),
        ("capacity", f"{n['reserved']} of {n['capacity']} units reserved, {n['free']} free"),
        ("price", show_price(int(n["price"]))),
        ("stake", show_ver(int(n["stake"]))),
        (
            "heartbeat",
            f"{show_age(n['last_heartbeat_at'], now)} (load "
            f"{n['load_bps'] / 100:g} %, {n['watts']} W{limit})",
        ),
    ]
    if n.get("energy"):
        energy, renewable = show_node_energy(n["energy"])
        pairs += [("energy", energy), ("renewable", renewable)]
    if n["unbonding_ends_at"]:
        pairs.append(("unbonding", f"ends {show_time(n['unbonding_ends_at'], now)}"))
    if n.get("suspected_at"):
        pairs.append(
            (
                "suspected",
                f"reported by {n['suspected_by']} {show_age(n['suspected_at'], now)}: it fails at "
                f"a second report from {show_time(n['failable_at'], now)} unless it heartbeats",
            )
        )
    head = f"node {n['node_id']}  {n['class']}  {n['status']}  (block {block:,})"
    return head + "\n" + fields(pairs)


def _render_many(rows: list[dict[str, Any]], now: int) -> str:
    headers: tuple[str, ...] = (
        "node", "class", "status", "reserved/capacity", "price", "stake", "heartbeat", "watts",
    )  # fmt: skip
    energy = any(n.get("energy") for n in rows)
    if energy:
        headers += ("kWh", "source", "renewable")
    lines = []
    for n in rows:
        line: tuple[object, ...] = (
            n["node_id"],
            n["class"],
            n["status"],
            f"{n['reserved']}/{n['capacity']}",
            show_price(int(n["price"])),
            show_ver(int(n["stake"])),
            show_age(n["last_heartbeat_at"], now),
            f"{n['watts']} W",
        )
        if energy:
            e = n.get("energy") or {}
            bps = int(e.get("renewable_bps", 0))
            line += (
                e.get("energy_kwh", "-"),
                e.get("source", "-"),
                f"{bps_text(bps)} declared" if bps else "not declared",
            )
        lines.append(line)
    return table(headers, lines, right="stake,watts,kWh")


# -------------------------------------------------------------------------------- changes
def _owner_change(
    session: Session,
    node_id: int,
    call: Any,
    title: str,
    lines: list[tuple[str, object]],
    yes: bool,
    purpose: str,
) -> Any:
    fee = session.require_gas(session.check_call(call))
    session.propose(title, lines, fee, yes)
    return session.send(call, purpose=purpose)


@click.command("update-price")
@click.argument("node_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("price", metavar="PRICE", type=AMOUNT)
@yes_option
@wallet_command(signs=True)
def update_price(node_id: int, price: int, yes: bool, opts: WalletOptions) -> None:
    """Ask PRICE VER per unit-hour for node ID's new work (running work keeps its price)."""
    session = Session(opts)
    node = _require_node(session, node_id)
    _require_owner(session, node_id, node)
    call = session.contracts.registry.functions.updatePrice(node_id, price)
    old = int(node["pricePerUnitHour"])
    sent = _owner_change(
        session,
        node_id,
        call,
        f"Change the price of node {node_id}:",
        [("price", f"{show_price(old)} -> {show_price(price)}")],
        yes,
        "updatePrice",
    )
    click.echo(f"node {node_id} now asks {show_price(price)} (tx {sent.outcome.tx_hash})")


@click.command("update-capacity")
@click.argument("node_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("capacity", metavar="UNITS", type=click.IntRange(min=1))
@yes_option
@wallet_command(signs=True)
def update_capacity(node_id: int, capacity: int, yes: bool, opts: WalletOptions) -> None:
    """Offer UNITS units on node ID (never below the units reserved by running work)."""
    session = Session(opts)
    node = _require_node(session, node_id)
    _require_owner(session, node_id, node)
    call = session.contracts.registry.functions.updateCapacity(node_id, capacity)
    lines: list[tuple[str, object]] = [
        ("capacity", f"{node['capacity']} -> {capacity} units ({node['reserved']} reserved)")
    ]
    sent = _owner_change(
        session,
        node_id,
        call,
        f"Change the capacity of node {node_id}:",
        lines,
        yes,
        "updateCapacity",
    )
    click.echo(f"node {node_id} now offers {capacity} units (tx {sent.outcome.tx_hash})")


@click.command("add-stake")
@click.argument("node_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("value", metavar="AMOUNT", type=AMOUNT)
@yes_option
@wallet_command(signs=True)
def add_stake(node_id: int, value: int, yes: bool, opts: WalletOptions) -> None:
    """Add AMOUNT VER to node ID's stake."""
    from oracle.commands._spend import require_ver

    session = Session(opts)
    node = _require_node(session, node_id)
    _require_owner(session, node_id, node)
    balance = require_ver(session, value, "the stake")
    registry = session.contracts.registry
    stake = int(node["stake"])
    sent = pay_and_send(
        session,
        spender=registry.address,
        spender_name="NodeRegistry",
        value=value,
        build=lambda permit: registry.functions.addStake(node_id, value),
        permit_allowed=False,
        title=f"Add stake to node {node_id}:",
        lines=[
            ("wallet", f"{session.signer.address} ({show_ver(balance)})"),
            ("stake", f"{show_ver(stake)} -> {show_ver(stake + value)}"),
        ],
        yes=yes,
        purpose="addStake",
    )
    click.echo(f"node {node_id} stakes {show_ver(stake + value)} (tx {sent.outcome.tx_hash})")


@click.command("renewable", context_settings={"ignore_unknown_options": True})
@click.argument("node_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("share", metavar="SHARE", type=SHARE)
@click.option(
    "--evidence",
    "evidence_uri",
    default="",
    metavar="URI",
    help="Where the evidence is: a certificate, a utility statement (emitted, not stored).",
)
@yes_option
@wallet_command(signs=True)
def renewable(node_id: int, share: int, evidence_uri: str, yes: bool, opts: WalletOptions) -> None:
    """Declare that SHARE of node ID's electricity is renewable: a percent (80, 80%, 72.5%)
    or basis points (7250bps), 0 to 100 %. A declaration by the owner, shown everywhere as
    declared (never as measured); changeable at any time, each change an event."""
    session = Session(opts)
    node = _require_node(session, node_id)
    _require_owner(session, node_id, node)
    registry = session.contracts.registry.functions
    current = int(session.view(registry.energyOf(node_id))["renewableBps"])
    call = registry.declareRenewableShare(node_id, share, evidence_uri)
    lines: list[tuple[str, object]] = [
        ("node", f"{node_id} ({NODE_STATUS[int(node['status'])]})"),
        ("renewable", f"{bps_text(current)} -> {bps_text(share)} ({share} bps), declared"),
        ("evidence", evidence_uri or "none"),
    ]
    sent = _owner_change(
        session,
        node_id,
        call,
        f"Declare the renewable share of node {node_id}:",
        lines,
        yes,
        "declareRenewableShare",
    )
    click.echo(
        f"node {node_id} declares {bps_text(share)} renewable"
        + (f" (evidence {evidence_uri})" if evidence_uri else "")
        + f" (tx {sent.outcome.tx_hash})"
    )


@click.command("exit")
@click.argument("node_id", metavar="ID", type=click.IntRange(min=1))
@yes_option
@wallet_command(signs=True)
def exit_node(node_id: int, yes: bool, opts: WalletOptions) -> None:
    """Start node ID's exit: it takes no new work and its stake unbonds; withdraw it after."""
    session = Session(opts)
    node = _require_node(session, node_id)
    _require_owner(session, node_id, node)
    registry = session.contracts.registry.functions
    period = int(session.view(registry.parameters())["unbondingPeriod"])
    call = registry.requestExit(node_id)
    lines: list[tuple[str, object]] = [
        (
            "node",
            f"{node_id} ({NODE_STATUS[int(node['status'])]}, {node['reserved']} units "
            "reserved by running work)",
        ),
        ("stake", f"{show_ver(int(node['stake']))} unbonds for {show_duration(period)}"),
        (
            "withdraw",
            f"from {show_time(session.pin.timestamp + period, None)}: "
            f"verai node withdraw {node_id}",
        ),
    ]
    sent = _owner_change(session, node_id, call, f"Exit node {node_id}:", lines, yes, "requestExit")
    event = sent.event("ExitRequested")
    ends = int(event.args["unbondingEndsAt"]) if event else session.pin.timestamp + period
    click.echo(
        f"node {node_id} is exiting: withdraw its stake from {show_time(ends, None)} "
        f"(verai node withdraw {node_id}; tx {sent.outcome.tx_hash})"
    )


@click.command("withdraw")
@click.argument("node_id", metavar="ID", type=click.IntRange(min=1))
@yes_option
@wallet_command(signs=True)
def withdraw(node_id: int, yes: bool, opts: WalletOptions) -> None:
    """Pay node ID's stake back to its owner once the unbonding period is over."""
    session = Session(opts)
    node = _require_node(session, node_id)
    _require_owner(session, node_id, node)
    call = session.contracts.registry.functions.withdraw(node_id)
    lines: list[tuple[str, object]] = [
        ("node", f"{node_id} ({NODE_STATUS[int(node['status'])]})"),
        ("stake", show_ver(int(node["stake"]))),
        ("to", session.signer.address),
    ]
    sent = _owner_change(
        session,
        node_id,
        call,
        f"Withdraw the stake of node {node_id}:",
        lines,
        yes,
        "withdrawStake",
    )
    event = sent.event("StakeWithdrawn")
    paid = int(event.args["amount"]) if event else int(node["stake"])
    click.echo(
        f"withdrew {show_ver(paid)} of node {node_id} to {session.signer.address} "
        f"(tx {sent.outcome.tx_hash})"
    )


WALLET_COMMANDS: list[click.Command] = [
    register,
    status,
    update_price,
    update_capacity,
    add_stake,
    renewable,
    exit_node,
    withdraw,
]
