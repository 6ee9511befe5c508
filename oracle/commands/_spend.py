"""Paying VER into a contract: the balance check before anything is signed, and the approval
(an ERC-2612 permit signed off-chain when the token supports it: one transaction instead of
two; else an `approve` transaction first)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from oracle.agent.registration import PERMIT_LIFETIME, permit_signature
from oracle.commands._output import fail, show_ver
from oracle.commands._session import Session
from oracle.commands._views import has_function

APPROVE_GAS = 60_000  # an ERC-20 approve, generously

Approval = Literal["allowance", "permit", "approve"]


@dataclass(frozen=True)
class Permit:
    deadline: int
    v: int
    r: bytes
    s: bytes


def require_ver(session: Session, needed: int, what: str) -> int:
    """The wallet's VER balance; fails with one line when it is below `needed`."""
    owner = session.signer.address
    balance = int(session.view(session.contracts.token.functions.balanceOf(owner)))
    if balance < needed:
        hint = f" (local chain: verai faucet {owner})" if session.is_local else ""
        fail(
            f"insufficient VER: {owner} holds {show_ver(balance)}, {what} needs "
            f"{show_ver(needed)}{hint}"
        )
    return balance


def approval_for(session: Session, spender: str, needed: int, *, permit: bool) -> Approval:
    """How `spender` gets to pull `needed` VER from the wallet."""
    token = session.contracts.token
    allowance = int(session.view(token.functions.allowance(session.signer.address, spender)))
    if allowance >= needed:
        return "allowance"
    if permit and has_function(token, "permit") and has_function(token, "nonces"):
        return "permit"
    return "approve"


def sign_permit(session: Session, spender: str, value: int) -> Permit:
    # the token compares the deadline with the block's time, which on a dev chain that was
    # moved forward runs ahead of this machine's clock
    deadline = max(int(time.time()), session.pin.timestamp) + PERMIT_LIFETIME
    v, r, s = permit_signature(session.contracts, session.sender, spender, value, deadline)
    return Permit(deadline, v, r, s)


def approve(session: Session, spender: str, value: int) -> None:
    call = session.contracts.token.functions.approve(spender, value)
    session.send(call, purpose="approve")


def describe(approval: Approval, spender_name: str) -> str:
    return {
        "allowance": f"the existing allowance of {spender_name}",
        "permit": "an ERC-2612 permit signed with the transaction (one transaction)",
        "approve": f"an approve transaction for {spender_name} first (two transactions)",
    }[approval]


def approve_call(session: Session, spender: str, value: int) -> Any:
    return session.contracts.token.functions.approve(spender, value)


PAID_CALL_GAS = 300_000  # the call that pulls the VER, before the approval lets it simulate


def pay_and_send(
    session: Session,
    *,
    spender: str,
    spender_name: str,
    value: int,
    build: Any,
    permit_allowed: bool,
    title: str,
    lines: list[tuple[str, object]],
    yes: bool,
    purpose: str,
) -> Any:
    """Shows the proposal (with its approval and fee), then approves (permit or transaction)
    and sends `build(permit_or_None)`. Every check runs before anything is signed."""
    approval = approval_for(session, spender, value, permit=permit_allowed)
    permit = sign_permit(session, spender, value) if approval == "permit" else None
    if approval == "approve":
        gas = session.check_call(approve_call(session, spender, value)) + PAID_CALL_GAS
    else:
        gas = session.check_call(build(permit))
    fee = session.require_gas(gas)
    session.propose(title, [*lines, ("approval", describe(approval, spender_name))], fee, yes)
    if approval == "approve":
        approve(session, spender, value)
        session.check_call(build(None))
    return session.send(build(permit), purpose=purpose)
