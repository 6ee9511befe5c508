"""Pull payments of the TaskMarket: a node owner's earnings and a developer's compensation from
failed nodes, each a `show` (read) and one transaction that pays it out."""

from __future__ import annotations

from typing import Any

import click

from oracle.commands._options import WalletOptions, json_option, wallet_command, yes_option
from oracle.commands._output import amount, emit_json, fail, show_ver
from oracle.commands._session import Session


def payout_group(
    *, name: str, noun: str, view: str, action: str, past: str, event: str, about: str
) -> click.Group:
    """`verai NAME show` and `verai NAME ACTION` over TaskMarket.VIEW(account) and ACTION()."""

    @click.group(name, help=about)
    def group() -> None: ...

    @group.command("show", help=f"The {noun} owed to a wallet (not yet paid out).")
    @json_option
    @wallet_command(signs=False)
    def show(as_json: bool, opts: WalletOptions) -> None:
        session = Session(opts)
        who = session.require_address()
        owed = int(session.view(getattr(session.contracts.market.functions, view)(who)))
        if as_json:
            doc: dict[str, Any] = {
                "schema": f"verai.{name}.show/1",
                "block": session.pin.number,
                "account": who,
            }
            amount(doc, "owed", owed)
            emit_json(doc)
            return
        hint = f" (verai {name} {action})" if owed else ""
        click.echo(f"{noun} owed to {who}: {show_ver(owed)}{hint}")

    @group.command(action, help=f"Transfer the wallet's {noun} to it (one transaction).")
    @yes_option
    @wallet_command(signs=True)
    def pay(yes: bool, opts: WalletOptions) -> None:
        session = Session(opts)
        who = session.signer.address
        market = session.contracts.market.functions
        owed = int(session.view(getattr(market, view)(who)))
        if owed == 0:
            fail(
                f"{who} has no {noun} to {action} on chain {session.chain.chain_id} (nothing sent)"
            )
        call = getattr(market, action_function(action))()
        fee = session.require_gas(session.check_call(call))
        session.propose(
            f"{action.capitalize()} {noun}:", [("amount", show_ver(owed)), ("to", who)], fee, yes
        )
        sent = session.send(call, purpose=action)
        paid = sent.event(event)
        value = int(paid.args["amount"]) if paid is not None else owed
        click.echo(f"{past} {show_ver(value)} of {noun} to {who} (tx {sent.outcome.tx_hash})")

    return group


def action_function(action: str) -> str:
    return {"withdraw": "withdraw", "claim": "claimCompensation"}[action]
