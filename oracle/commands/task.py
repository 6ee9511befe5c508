"""`verai task`: a developer's tasks: submit (escrow shown and confirmed before signing), status,
list, watch, top up, cancel, refund and verify (re-execute checkpoint intervals)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from oracle.agent.registration import RegistrationError, class_key
from oracle.checkpoints import CheckpointError, IpfsStore
from oracle.cid import cid_for
from oracle.commands import _task_view
from oracle.commands._cache import CachedState
from oracle.commands._options import (
    AMOUNT,
    DURATION,
    WalletOptions,
    json_option,
    wallet_command,
    yes_option,
)
from oracle.commands._output import (
    amount,
    emit_json,
    fail,
    note,
    plural,
    show_price,
    show_time,
    show_ver,
    table,
)
from oracle.commands._session import Session
from oracle.commands._spend import pay_and_send, require_ver
from oracle.commands._views import has_function
from oracle.explain import TASK_STATUS
from oracle.explain import duration as show_duration

MAX_UNITS = 2**24 - 1
MAX_ESCROW = 2**96 - 1


@click.group("task")
def task_group() -> None:
    """Developer: escrow VER for a task, watch it run, top it up, cancel it, get the rest back.

    Amounts take VER with decimals ("2.5", "2.5 VER") or wei ("123wei"); durations take
    seconds or units ("90m", "2h", "1d")."""


def escrow_for(units: int, max_price: int, duration: int) -> int:
    """TaskMarket's escrow: ceil(units x max price x duration / 3600)."""
    return -(-units * max_price * duration // 3600)


def _resolve_class(session: Session, name: str) -> bytes:
    try:
        key = class_key(name)
    except RegistrationError as exc:
        fail(str(exc))
    config = session.view(session.contracts.registry.functions.classConfig(key))
    if not config["configured"]:
        known = ", ".join(sorted(session.class_names().values())) or "none"
        fail(
            f"CLASS: {name!r} is not configured on chain {session.chain.chain_id} (known: {known})"
        )
    return key


def _spec_uri(spec: str, ipfs_api: str | None) -> str:
    path = Path(spec)
    if not path.is_file():
        if ipfs_api:
            fail(f"--spec {spec}: --ipfs-api publishes a FILE, and there is no such file")
        if not spec.strip() or any(c.isspace() for c in spec):
            fail(f"--spec: {spec!r} is neither a file nor a URI")
        return spec
    data = path.read_bytes()
    cid = cid_for(data)
    if ipfs_api:
        try:
            IpfsStore(ipfs_api).put(data)
        except CheckpointError as exc:
            fail(f"--ipfs-api: {exc}")
    else:
        note(
            f"spec {path} is ipfs://{cid}; make it available to the nodes "
            "(`ipfs add --cid-version=1 FILE`, or pass --ipfs-api URL)"
        )
    return f"ipfs://{cid}"


def _market_offer(state: CachedState, key: bytes, max_price: int) -> str:
    nodes = [
        n
        for n in state.mirror.nodes_at(state.block, "resource_class = ?", (key,))
        if n.status == 1 and n.free_units > 0
    ]
    if not nodes:
        return "no active node of this class has free units now: the task waits for one"
    prices = sorted(n.price for n in nodes)
    within = [n for n in nodes if n.price <= max_price]
    free = sum(n.free_units for n in within)
    span = (
        show_price(prices[0])
        if prices[0] == prices[-1]
        else (f"{show_ver(prices[0])} to {show_price(prices[-1])}")
    )
    return (
        f"{plural(len(nodes), 'active node')} ask {span}; {len(within)} within your cap "
        f"({plural(free, 'free unit')})"
    )


@task_group.command("submit")
@click.argument("resource_class", metavar="CLASS")
@click.argument("units", type=click.IntRange(min=1, max=MAX_UNITS))
@click.option("--max-price", required=True, type=AMOUNT, help="Most VER per unit-hour you pay.")
@click.option("--duration", required=True, type=DURATION, help="Longest run (e.g. 2h, 90m).")
@click.option("--spec", required=True, metavar="FILE|URI", help="What to run: a file or a URI.")
@click.option("--ipfs-api", metavar="URL", help="Publish --spec FILE to this IPFS RPC API.")
@click.option("--no-permit", is_flag=True, help="Approve with a transaction, not a permit.")
@yes_option
@json_option
@wallet_command(signs=True)
def submit(
    resource_class: str,
    units: int,
    max_price: int,
    duration: int,
    spec: str,
    ipfs_api: str | None,
    no_permit: bool,
    yes: bool,
    as_json: bool,
    opts: WalletOptions,
) -> None:
    """Escrow VER for UNITS units of CLASS and submit the task.

    Shows the escrow, ceil(units x max price x duration / 3600), and asks before signing;
    what the nodes do not earn comes back with `verai task refund`."""
    session = Session(opts)
    key = _resolve_class(session, resource_class)
    escrow = escrow_for(units, max_price, duration)
    if escrow > MAX_ESCROW:
        fail(f"escrow {show_ver(escrow)} does not fit the market's 96-bit field: ask for less")
    balance = require_ver(session, escrow, "the escrow")
    uri = _spec_uri(spec, ipfs_api)
    state = session.cache(quiet=as_json)
    market = session.contracts.market

    def build(permit: Any) -> Any:
        if permit is None:
            return market.functions.submitTask(key, units, max_price, duration, uri)
        return market.functions.submitTaskWithPermit(
            key, units, max_price, duration, uri, permit.deadline, permit.v, permit.r, permit.s
        )

    name = session.class_label(key)
    lines: list[tuple[str, object]] = [
        ("wallet", f"{session.signer.address} ({show_ver(balance)})"),
        ("class", name),
        ("units", units),
        ("max price", show_price(max_price)),
        ("duration", show_duration(duration)),
        ("spec", uri),
        ("market", _market_offer(state, key, max_price)),
        ("escrow", f"{show_ver(escrow)} (the most it can cost; the rest is refunded)"),
    ]
    sent = pay_and_send(
        session,
        spender=market.address,
        spender_name="TaskMarket",
        value=escrow,
        build=build,
        permit_allowed=not no_permit,
        title=f"Submit a task on chain {session.chain.chain_id}:",
        lines=lines,
        yes=yes,
        purpose="submitTask",
    )
    event = sent.event("TaskSubmitted")
    if event is None:
        fail(f"transaction {sent.outcome.tx_hash} was mined but emitted no TaskSubmitted")
    task_id = int(event.args["taskId"])
    if as_json:
        doc: dict[str, Any] = {
            "schema": "verai.task.submit/1",
            "task_id": task_id,
            "tx_hash": sent.outcome.tx_hash,
            "block": sent.outcome.block_number,
            "class": name,
            "units": units,
            "duration": duration,
            "spec_uri": uri,
            "expires_at": int(event.args["expiresAt"]),
        }
        amount(doc, "max_price", max_price)
        amount(doc, "escrow", int(event.args["escrow"]))
        emit_json(doc)
        return
    click.echo(
        f"task {task_id} submitted: {units} units of {name} at most {show_price(max_price)} "
        f"for {show_duration(duration)}, escrow {show_ver(int(event.args['escrow']))} "
        f"(tx {sent.outcome.tx_hash}, block {sent.outcome.block_number})"
    )
    click.echo(f"follow it: verai task watch {task_id}")


@task_group.command("status")
@click.argument("task_id", metavar="ID", type=click.IntRange(min=1))
@json_option
@wallet_command(signs=False)
def status(task_id: int, as_json: bool, opts: WalletOptions) -> None:
    """Where task ID is and what it cost: units pending, running and completed, each assignment
    with its node, price, last checkpoint (step, time, CID) and earnings, the escrow left."""
    session = Session(opts)
    _task_view.require_task(session, task_id)
    report = _task_view.build(session, session.cache(quiet=as_json), task_id)
    if as_json:
        emit_json(_task_view.to_json(report))
    else:
        click.echo(_task_view.render(report))


@task_group.command("watch")
@click.argument("task_id", metavar="ID", type=click.IntRange(min=1))
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between looks at the chain.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Give up after this many seconds (0: watch until the task ends).",
)
@json_option
@wallet_command(signs=False)
def watch(
    task_id: int, interval: float, timeout: float, as_json: bool, opts: WalletOptions
) -> None:
    """Follow task ID live until it ends: prints its status each time it changes (with --json,
    one document per line)."""
    session = Session(opts)
    _task_view.require_task(session, task_id)
    deadline = time.monotonic() + timeout if timeout else None
    last: dict[str, Any] | None = None
    while True:
        report = _task_view.build(session, session.cache(quiet=True), task_id)
        doc = _task_view.to_json(report)
        comparable = {k: v for k, v in doc.items() if k not in ("block", "timestamp")}
        if comparable != last:
            last = comparable
            if as_json:
                import json

                click.echo(json.dumps(doc, separators=(",", ":")))
            else:
                click.echo(_task_view.render(report) + "\n")
        if report.finished:
            if not as_json:
                click.echo(
                    f"task {task_id} is {report.status_name}: spent {show_ver(report.spent)}, "
                    f"escrow left {show_ver(report.escrow_left)}"
                    + (f"; get it back: verai task refund {task_id}" if report.escrow else "")
                )
            return
        if deadline is not None and time.monotonic() >= deadline:
            fail(f"task {task_id} is still {report.status_name} after {timeout:g} s (--timeout)")
        time.sleep(interval)
        session.refresh()


@task_group.command("list")
@click.option("--mine", is_flag=True, help="Only the tasks of the --account / --keystore wallet.")
@click.option("--developer", metavar="ADDRESS", help="Only the tasks of this developer.")
@click.option("--open", "only_open", is_flag=True, help="Only tasks still Open.")
@json_option
@wallet_command(signs=False)
def list_tasks(
    mine: bool, developer: str | None, only_open: bool, as_json: bool, opts: WalletOptions
) -> None:
    """The tasks of the deployment (or yours): units, max price, escrow held, status, end."""
    from oracle.commands._accounts import parse_address

    session = Session(opts)
    who: str | None = None
    if mine and developer:
        fail("give --mine or --developer, not both")
    if mine:
        who = session.require_address()
    elif developer:
        who = parse_address(developer, "--developer")
    state = session.cache(quiet=as_json)
    where, params = ("lower(developer) = ?", (who.lower(),)) if who else ("", ())
    tasks = state.mirror.tasks_at(state.block, state.timestamp, where, params)
    if only_open:
        tasks = [t for t in tasks if t.status == 1]
    if as_json:
        items = []
        for t in tasks:
            item: dict[str, Any] = {
                "task_id": t.id,
                "developer": t.developer,
                "class": session.class_label(t.resource_class),
                "status": t.status_name,
                "units": t.units,
                "pending_units": t.pending,
                "running_units": t.running,
                "completed_units": t.units - t.pending - t.running,
                "expires_at": t.expires_at,
                "cancelled": t.cancelled,
                "spec_uri": t.spec_uri,
            }
            amount(item, "max_price", t.max_price)
            amount(item, "escrow", t.escrow)
            items.append(item)
        emit_json(
            {
                "schema": "verai.task.list/1",
                "block": state.block,
                "timestamp": state.timestamp,
                "developer": who,
                "tasks": items,
            }
        )
        return
    if not tasks:
        click.echo("no tasks" + (f" of {who}" if who else "") + f" at block {state.block:,}")
        return
    rows = [
        (
            t.id,
            session.class_label(t.resource_class),
            t.status_name + (" (cancelled)" if t.cancelled else ""),
            f"{t.pending}/{t.running}/{t.units - t.pending - t.running}",
            show_price(t.max_price),
            show_ver(t.escrow),
            show_time(t.expires_at, state.timestamp),
        )
        for t in tasks
    ]
    headers = (
        "task",
        "class",
        "status",
        "pending/running/done",
        "max price",
        "escrow held",
        "ends",
    )
    click.echo(table(headers, rows, right="escrow held"))


@task_group.command("topup")
@click.argument("task_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("value", metavar="AMOUNT", type=AMOUNT)
@yes_option
@wallet_command(signs=True)
def topup(task_id: int, value: int, yes: bool, opts: WalletOptions) -> None:
    """Add AMOUNT VER to task ID's escrow; its end moves by what the amount buys at the cap."""
    session = Session(opts)
    _task_view.require_task(session, task_id)
    market = session.contracts.market
    task = session.view(market.functions.getTask(task_id))
    balance = require_ver(session, value, "the top-up")
    remaining = int(task["pendingUnits"]) + int(task["runningUnits"])
    cap = int(task["maxPricePerUnitHour"])
    bought = value * 3600 // (remaining * cap) if remaining and cap else 0
    expires = int(task["expiresAt"])
    lines: list[tuple[str, object]] = [
        ("wallet", f"{session.signer.address} ({show_ver(balance)})"),
        ("top-up", show_ver(value)),
        ("escrow", f"{show_ver(int(task['escrow']))} -> {show_ver(int(task['escrow']) + value)}"),
        ("buys", f"{show_duration(bought)} for {remaining} units at {show_price(cap)}"),
        (
            "ends",
            f"{show_time(expires, session.pin.timestamp)} -> "
            f"{show_time(expires + bought, session.pin.timestamp)}",
        ),
    ]
    sent = pay_and_send(
        session,
        spender=market.address,
        spender_name="TaskMarket",
        value=value,
        build=lambda permit: market.functions.topUp(task_id, value),
        permit_allowed=False,
        title=f"Top up task {task_id}:",
        lines=lines,
        yes=yes,
        purpose="topUp",
    )
    event = sent.event("TaskToppedUp")
    end = int(event.args["expiresAt"]) if event else expires + bought
    click.echo(
        f"task {task_id} topped up by {show_ver(value)}: it now ends "
        f"{show_time(end, None)} (tx {sent.outcome.tx_hash})"
    )


@task_group.command("cancel")
@click.argument("task_id", metavar="ID", type=click.IntRange(min=1))
@yes_option
@wallet_command(signs=True)
def cancel(task_id: int, yes: bool, opts: WalletOptions) -> None:
    """End task ID now: nothing after now is paid; running work may still deliver its final
    checkpoint during the completion window, then the rest can be refunded."""
    session = Session(opts)
    _task_view.require_task(session, task_id)
    market = session.contracts.market
    task = session.view(market.functions.getTask(task_id))
    call = market.functions.cancel(task_id)
    fee = session.require_gas(session.check_call(call))
    window = (
        int(session.view(market.functions.COMPLETION_WINDOW()))
        if has_function(market, "COMPLETION_WINDOW")
        else 0
    )
    lines: list[tuple[str, object]] = [
        (
            "task",
            f"{task_id}, {task['runningUnits']} units running, {task['pendingUnits']} pending",
        ),
        ("escrow held", show_ver(int(task["escrow"]))),
    ]
    if window:
        lines.append(("completion window", f"{show_duration(window)} for the running work"))
    session.propose(f"Cancel task {task_id}:", lines, fee, yes)
    sent = session.send(call, purpose="cancel")
    event = sent.event("TaskCancelled")
    closes = int(event.args.get("checkpointsCloseAt", 0)) if event else 0
    after = f"; running work may complete until {show_time(closes, None)}" if closes else ""
    click.echo(f"task {task_id} cancelled (tx {sent.outcome.tx_hash}){after}")
    click.echo(f"then get the rest back: verai task refund {task_id}")


@task_group.command("refund")
@click.argument("task_id", metavar="ID", type=click.IntRange(min=1))
@yes_option
@wallet_command(signs=True)
def refund(task_id: int, yes: bool, opts: WalletOptions) -> None:
    """Pay the unused escrow of a Completed or Ended task ID back to your wallet."""
    session = Session(opts)
    _task_view.require_task(session, task_id)
    market = session.contracts.market
    task = session.view(market.functions.getTask(task_id))
    call = market.functions.claimRefund(task_id)
    fee = session.require_gas(session.check_call(call))
    lines: list[tuple[str, object]] = [
        ("task", f"{task_id} ({TASK_STATUS[int(task['status'])]})"),
        ("refund", show_ver(int(task["escrow"]))),
        ("to", session.signer.address),
    ]
    session.propose(f"Refund task {task_id}:", lines, fee, yes)
    sent = session.send(call, purpose="claimRefund")
    event = sent.event("TaskRefunded")
    paid = int(event.args["amount"]) if event else int(task["escrow"])
    click.echo(
        f"refunded {show_ver(paid)} of task {task_id} to {session.signer.address} "
        f"(tx {sent.outcome.tx_hash})"
    )


@task_group.command("settle")
@click.argument("task_id", metavar="ID", type=click.IntRange(min=1))
@yes_option
@wallet_command(signs=True)
def settle(task_id: int, yes: bool, opts: WalletOptions) -> None:
    """Settle the running assignments of an ended task ID at their last checkpoints (after a
    cancellation, once the completion window closed), so its escrow can be refunded."""
    session = Session(opts)
    _task_view.require_task(session, task_id)
    report = _task_view.build(session, session.cache(), task_id)
    running = [a for a in report.assignments if a.status == _task_view.RUNNING]
    if not running:
        fail(f"task {task_id} has no running assignment to settle (nothing sent)")
    market = session.contracts.market.functions
    gas = sum(session.check_call(market.settle(a.id)) for a in running)
    fee = session.require_gas(gas)
    lines: list[tuple[str, object]] = [
        (f"assignment {a.id}", f"node {a.node_id}, {a.units} units, earns {show_ver(a.earned)}")
        for a in running
    ]
    session.propose(
        f"Settle {plural(len(running), 'assignment')} of task {task_id}:", lines, fee, yes
    )
    for a in running:
        sent = session.send(market.settle(a.id), purpose="settle")
        click.echo(f"assignment {a.id} settled (tx {sent.outcome.tx_hash})")
    click.echo(f"then get the rest back: verai task refund {task_id}")


@task_group.command("verify")
@click.argument("assignment_id", metavar="ASSIGNMENT", type=click.IntRange(min=1))
@click.option(
    "--step",
    "steps",
    type=click.IntRange(min=1),
    multiple=True,
    help="Verify only the interval ending at this committed step (repeatable; default: all).",
)
@click.option(
    "--store-folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="LocalStore folder holding the checkpoints (VERAI_STORE_FOLDER; default: checkpoints).",
)
@click.option("--ipfs-url", default=None, help="Fetch checkpoints from this Kubo RPC API instead.")
@json_option
@wallet_command(signs=False)
def verify(
    assignment_id: int,
    steps: tuple[int, ...],
    store_folder: Path | None,
    ipfs_url: str | None,
    as_json: bool,
    opts: WalletOptions,
) -> None:
    """Re-execute the checkpoint intervals of ASSIGNMENT and compare each result with the CID
    its node committed: from each committed checkpoint (or the one it resumed, or the initial
    state) to the next. Exit status 1 when any interval differs. Needs no key, only the chain
    and the checkpoints (a LocalStore folder or IPFS). Workloads that do not declare themselves
    deterministic (commands) are listed as not verified, never as differing."""
    import os

    from oracle.checkpoints import LocalStore
    from oracle.commands import _verify

    session = Session(opts)
    state = session.cache(quiet=as_json)
    ipfs = ipfs_url or os.environ.get("VERAI_IPFS_URL")
    folder = store_folder or Path(os.environ.get("VERAI_STORE_FOLDER", "checkpoints"))
    if not ipfs and not folder.is_dir():
        fail(f"--store-folder {folder}: no such folder (the checkpoints' LocalStore; or give "
             "--ipfs-url)")  # fmt: skip
    store: Any = IpfsStore(ipfs) if ipfs else LocalStore(folder)
    facts, results = _verify.verify_assignment(
        session, state, assignment_id, store, set(steps) if steps else None,
        progress=(lambda _: None) if as_json else note,
    )  # fmt: skip
    differs = [r for r in results if r.reexecuted is not None and not r.verified]
    if as_json:
        emit_json({**facts, "intervals": [
            {"from_step": r.from_step, "to_step": r.to_step, "committed_cid": r.committed,
             "reexecuted_cid": r.reexecuted, "verdict": r.verdict, "reason": r.reason}
            for r in results
        ]})  # fmt: skip
    else:
        click.echo(
            f"assignment {assignment_id} of task {facts['task_id']} on node {facts['node_id']}: "
            f"{plural(facts['commits'], 'checkpoint')} committed (block {facts['block']})"
        )
        rows = [
            (f"{r.from_step} -> {r.to_step}", r.committed, r.reexecuted or "-", r.verdict, r.reason)
            for r in results
        ]
        if rows:
            click.echo(table(("steps", "committed", "re-executed", "verdict", "why"), rows))
        verified = sum(r.verified for r in results)
        click.echo(
            f"{verified} verified, {len(differs)} differ, "
            f"{len(results) - verified - len(differs)} not verified"
        )
    if differs:
        raise SystemExit(1)
