"""The round state machine, driven with plain values and a fake clock: no I/O."""

from __future__ import annotations

import itertools

import pytest

from oracle.reports import AllocationEntry, Domain, Report, report_digest
from oracle.service.errors import RejectedMessage
from oracle.service.machine import (
    Compute,
    Computed,
    Hold,
    Propose,
    RequestRound,
    RoundMachine,
    Sign,
    Transmit,
    View,
)
from oracle.service.messages import Signatures, sign_reports
from oracle.service.pacemaker import leader, transmission_order
from scripts._committee import LOCAL_MEMBERS

DOMAIN = Domain(84532, "0x" + "ab" * 20)
DIGEST = b"\x07" * 32
MEMBERS = tuple(sorted((m.address for m in LOCAL_MEMBERS), key=lambda a: int(a, 16)))
KEYS = {m.address: m.key for m in LOCAL_MEMBERS}


def machine(me: str, **kw: float) -> RoundMachine:
    return RoundMachine(
        me=me, members=MEMBERS, threshold=3, config_digest=DIGEST, domain=DOMAIN,
        stage_delay=kw.get("stage_delay", 4.0), leader_timeout=kw.get("leader_timeout", 5.0),
    )  # fmt: skip


def computed(round_: int, block: int, units: int = 1) -> Computed:
    report = Report(
        DIGEST, round_, block, b"\x09" * 32, allocations=(AllocationEntry(1, 1, units, 10),)
    )
    return Computed(
        round_, block, b"\x05" * 32, b"\x09" * 32, (report,), (report_digest(report, DOMAIN),)
    )


def view(cursor: int, latest: int = 0) -> View:
    return View(cursor=cursor, latest_round=latest, latest_snapshot_block=0, service_index=0)


def signatures(member: str, c: Computed, attempt: int = 0) -> Signatures:
    sigs = sign_reports(c.reports, DOMAIN, KEYS[member])
    return Signatures(DIGEST, c.round, attempt, c.digests, sigs, member)


def test_leader_proposes_its_solution_and_followers_sign_only_identical_reports() -> None:
    lead = leader(DIGEST, 0, 0, MEMBERS)
    m = machine(lead)
    actions = m.tick(0.0, view(10))
    assert Compute(1, 10) in actions
    actions = m.computed(0.1, computed(1, 10))
    propose = [a for a in actions if isinstance(a, Propose)]
    assert len(propose) == 1 and propose[0].proposal.snapshot_block == 10
    proposal = propose[0].proposal
    signed = proposal.signed(DOMAIN, KEYS[lead])
    follower = machine(next(x for x in MEMBERS if x != lead))
    follower.tick(0.0, view(10))
    assert follower.on_proposal(0.2, signed) == []  # own result not there yet
    assert any(isinstance(a, Sign) for a in follower.computed(0.3, computed(1, 10)))
    other = machine(next(x for x in MEMBERS if x != lead))
    other.tick(0.0, view(10))
    other.on_proposal(0.2, signed)
    actions = other.computed(0.3, computed(1, 10, units=2))  # a different solution
    assert not any(isinstance(a, Sign) for a in actions)
    assert [a.event for a in actions if hasattr(a, "event")] == ["mismatch"]


def test_quorum_forms_attested_and_transmission_follows_the_schedule() -> None:
    c = computed(1, 10)
    order = transmission_order(DIGEST, 1, MEMBERS)
    second = machine(order[1])
    second.tick(0.0, view(10))
    second.computed(0.0, c)
    actions = []
    for member in MEMBERS[:3]:
        actions += second.on_signatures(1.0, signatures(member, c))
    assert any(isinstance(a, Hold) for a in actions)
    assert not any(isinstance(a, Transmit) for a in second.tick(4.9, view(11)))
    sent = [a for a in second.tick(5.0, view(11)) if isinstance(a, Transmit)]
    assert len(sent) == 1 and sent[0].position == 1
    assert second.tick(6.0, view(12)) == []  # once per stage
    done = second.tick(7.0, view(13, latest=1))
    assert next(a.event for a in done if hasattr(a, "event")) == "round_complete"


def test_silent_leader_is_replaced_by_the_next_in_order() -> None:
    lead = leader(DIGEST, 0, 0, MEMBERS)
    nxt = leader(DIGEST, 0, 1, MEMBERS)
    assert lead != nxt
    m = machine(nxt, leader_timeout=5.0)
    m.tick(0.0, view(10))
    actions = m.computed(0.0, computed(1, 10))
    assert not any(isinstance(a, Propose) for a in actions)  # not its turn
    m.tick(0.1, view(10))  # work seen: the attempt's clock starts
    assert any(isinstance(a, RequestRound) for a in m.tick(2.7, view(10)))  # catch-up
    actions = m.tick(5.2, view(10))
    assert any(isinstance(a, Propose) and a.proposal.attempt == 1 for a in actions)


def test_stale_replayed_wrong_leader_and_equivocating_messages_are_rejected() -> None:
    lead = leader(DIGEST, 0, 0, MEMBERS)
    other = next(x for x in MEMBERS if x != lead)
    m = machine(other)
    m.tick(0.0, view(10))
    lm = machine(lead)
    lm.tick(0.0, view(10))
    proposal = next(a for a in lm.computed(0.0, computed(1, 10)) if isinstance(a, Propose))
    signed = proposal.proposal.signed(DOMAIN, KEYS[lead])
    m.on_proposal(0.1, signed)
    with pytest.raises(RejectedMessage) as replay:
        m.on_proposal(0.2, signed)
    assert replay.value.reason == "replayed"
    from dataclasses import replace

    with pytest.raises(RejectedMessage) as equivocation:
        m.on_proposal(0.2, replace(signed, snapshot_block=11))
    assert equivocation.value.reason == "equivocation"
    with pytest.raises(RejectedMessage) as wrong:
        m.on_proposal(0.2, replace(signed, signer=other, attempt=0))
    assert wrong.value.reason in ("wrong_leader", "equivocation")
    c = computed(1, 10)
    m.on_signatures(0.3, signatures(MEMBERS[0], c))
    with pytest.raises(RejectedMessage) as again:
        m.on_signatures(0.4, signatures(MEMBERS[0], c))
    assert again.value.reason == "replayed"
    m.tick(1.0, view(20, latest=1))
    with pytest.raises(RejectedMessage) as stale:
        m.on_signatures(1.1, signatures(MEMBERS[1], c))
    assert stale.value.reason == "stale"


def test_a_member_never_signs_two_proposals_of_one_attempt_even_after_a_restart() -> None:
    lead = leader(DIGEST, 0, 0, MEMBERS)
    follower = next(x for x in MEMBERS if x != lead)
    m = machine(follower)
    m.restore_signed(1, 0, (b"\x01" * 32,))
    m.tick(0.0, view(10))
    lm = machine(lead)
    lm.tick(0.0, view(10))
    proposal = next(a for a in lm.computed(0.0, computed(1, 10)) if isinstance(a, Propose))
    m.on_proposal(0.1, proposal.proposal.signed(DOMAIN, KEYS[lead]))
    assert not any(isinstance(a, Sign) for a in m.computed(0.2, computed(1, 10)))


def test_leaders_differ_for_consecutive_service_rounds() -> None:
    leaders = [leader(DIGEST, i, 0, MEMBERS) for i in range(12)]
    assert all(a != b for a, b in itertools.pairwise(leaders))
    assert set(leaders) == set(MEMBERS)
    orders = {tuple(transmission_order(DIGEST, r, MEMBERS)) for r in range(1, 30)}
    assert len(orders) > 5 and all(sorted(o) == sorted(MEMBERS) for o in orders)
