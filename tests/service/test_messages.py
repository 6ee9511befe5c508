"""Peer messages: strict parsing (size, shape) and authentication (signer, membership)."""

from __future__ import annotations

import json

import pytest

from oracle.reports import AllocationEntry, Domain, Report
from oracle.service.errors import RejectedMessage
from oracle.service.messages import (
    Attested,
    Authenticator,
    Proposal,
    Signatures,
    digests_of,
    encode,
    parse_message,
    sign_reports,
)
from scripts._committee import LOCAL_MEMBERS

DOMAIN = Domain(84532, "0x" + "ab" * 20)
DIGEST = b"\x07" * 32
MEMBERS = tuple(m.address for m in LOCAL_MEMBERS)
AUTH = Authenticator(DOMAIN, DIGEST, MEMBERS, 3)
REPORT = Report(DIGEST, 4, 9, b"\x01" * 32, allocations=(AllocationEntry(1, 2, 3, 4),))


def reason(body: bytes) -> str:
    with pytest.raises(RejectedMessage) as info:
        AUTH.check(parse_message(body, 4096))
    return info.value.reason


def test_proposal_round_trips_and_recovers_its_signer() -> None:
    p = Proposal(DIGEST, 4, 1, 9, b"\x02" * 32, b"\x01" * 32, (b"\x03" * 32,))
    signed = p.signed(DOMAIN, LOCAL_MEMBERS[2].key)
    got = AUTH.check(parse_message(encode(signed), 4096))
    assert isinstance(got, Proposal) and got.signer == LOCAL_MEMBERS[2].address


def test_attested_needs_a_quorum_of_member_signatures() -> None:
    sigs = [sign_reports((REPORT,), DOMAIN, m.key)[0] for m in LOCAL_MEMBERS[:3]]
    body = json.dumps(
        {"type": "attested", "round": 4, "attempt": 0,
         "reports": [json.loads(encode(Attested(4, 0, (REPORT,), ((),))))["reports"][0]],
         "signatures": [["0x" + s.hex() for s in sigs]]}
    ).encode()  # fmt: skip
    got = AUTH.check(parse_message(body, 1 << 20))
    assert isinstance(got, Attested) and len(got.signatures[0]) == 3
    short = json.loads(body)
    short["signatures"] = [short["signatures"][0][:2]]
    assert reason(json.dumps(short).encode()) == "no_quorum"


def test_garbage_oversized_and_non_member_messages_are_rejected_by_reason() -> None:
    assert reason(b"\xff\x00") == "malformed"
    assert reason(b'{"type": "nope"}') == "malformed"
    assert reason(b'{"type": "proposal", "round": 1}') == "malformed"
    with pytest.raises(RejectedMessage) as big:
        parse_message(b" " * 5000, 4096)
    assert big.value.reason == "oversized" and big.value.status == 413
    stranger = bytes(range(1, 33))
    p = Proposal(DIGEST, 4, 1, 9, b"\x02" * 32, b"\x01" * 32, (b"\x03" * 32,))
    assert reason(encode(p.signed(DOMAIN, stranger))) == "non_member"
    s = Signatures(DIGEST, 4, 0, digests_of((REPORT,), DOMAIN),
                   sign_reports((REPORT,), DOMAIN, stranger))  # fmt: skip
    assert reason(encode(s)) == "non_member"
    wrong = Signatures(b"\x08" * 32, 4, 0, s.report_digests, s.signatures)
    assert reason(encode(wrong)) == "wrong_config"
