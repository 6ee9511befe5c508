"""Committee reports, pure parts (oracle.reports): typed data against an independent EIP-712
encoding, packing, signing and signature order, config digests, building from an allocation.
Equality with the contract's hashReport / config digest is in
tests/contracts/test_report_verifier.py."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import OracleError, sortition, vrf
from oracle.allocation import Node, Snapshot, Task, allocate
from oracle.cid import cid_for
from oracle.reports import (
    REPORT_TYPES,
    AllocationEntry,
    Candidate,
    Domain,
    DuplicateSigner,
    InvalidConfig,
    InvalidReport,
    InvalidSignature,
    MoveEntry,
    QuorumNotReached,
    ReassignmentEntry,
    Report,
    build_report,
    config_digest,
    encode_signatures,
    entry_at,
    inputs_digest,
    prove_reassignment,
    recover_signer,
    report_digest,
    select_quorum,
    sign_report,
    sort_signatures,
    transmit_calldata,
)

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain(chain_id=84532, verifying_contract="0x" + "ab" * 20)
KEYS = [keccak(text=f"member {i}") for i in range(5)]
VRF_KEY = keccak(text="vrf")
U64 = 2**64 - 1

# ------------------------------------------------------------------ strategies
allocations = st.builds(
    AllocationEntry,
    st.integers(0, U64),
    st.integers(0, U64),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**96 - 1),
)
moves = st.builds(MoveEntry, st.integers(0, U64), st.integers(0, U64))
candidates = st.builds(Candidate, st.integers(0, U64), st.integers(0, 2**32 - 1))
reassignments = st.builds(
    ReassignmentEntry,
    st.integers(0, U64),
    st.integers(0, U64),
    st.lists(candidates, max_size=6).map(tuple),
)
reports = st.builds(
    Report,
    st.binary(min_size=32, max_size=32),
    st.integers(0, U64),
    st.integers(0, U64),
    st.binary(min_size=32, max_size=32),
    st.lists(allocations, max_size=12).map(tuple),
    st.lists(moves, max_size=6).map(tuple),
    st.lists(reassignments, max_size=3).map(tuple),
)


# ------------------------------------------------------------------ independent EIP-712
def _encode_type(primary: str) -> str:
    def fields(name: str) -> str:
        return f"{name}({','.join(f['type'] + ' ' + f['name'] for f in REPORT_TYPES[name])})"

    referenced = sorted(
        {f["type"].removesuffix("[]") for f in REPORT_TYPES[primary]} & set(REPORT_TYPES)
    )
    return fields(primary) + "".join(fields(name) for name in referenced if name != primary)


def _hash_struct(name: str, value: dict[str, Any]) -> bytes:
    words = [keccak(text=_encode_type(name))]
    for f in REPORT_TYPES[name]:
        kind, item = f["type"], value[f["name"]]
        if kind.endswith("[]"):
            inner = kind[:-2]
            if inner in REPORT_TYPES:
                words.append(keccak(b"".join(_hash_struct(inner, v) for v in item)))
            else:
                words.append(keccak(b"".join(int(v).to_bytes(32, "big") for v in item)))
        elif kind == "bytes32":
            words.append(item)
        else:
            words.append(int(item).to_bytes(32, "big"))
    return bytes(keccak(b"".join(words)))


def _reference_digest(report: Report, domain: Domain) -> bytes:
    domain_hash = keccak(
        keccak(
            text="EIP712Domain(string name,string version,uint256 chainId,address "
            + "verifyingContract)"
        )
        + keccak(text="VerAI ReportVerifier")
        + keccak(text="1")
        + encode(["uint256", "address"], [domain.chain_id, domain.verifying_contract])
    )
    return bytes(keccak(b"\x19\x01" + domain_hash + _hash_struct("Report", report.typed())))


@settings(max_examples=150, deadline=None)
@given(reports)
def test_report_digest_matches_independent_encoding(report: Report) -> None:
    assert report_digest(report, DOMAIN) == _reference_digest(report, DOMAIN)


def test_report_digest_depends_on_domain_and_every_list() -> None:
    base = Report(bytes(32), 1, 2, bytes(32))
    variants = [
        base,
        Report(bytes(32), 1, 2, bytes(32), allocations=(AllocationEntry(1, 2, 3, 4),)),
        Report(bytes(32), 1, 2, bytes(32), moves=(MoveEntry(1, 2),)),
        Report(bytes(32), 1, 2, bytes(32), reassignments=(ReassignmentEntry(1, 2, ()),)),
        Report(bytes(32), 2, 2, bytes(32)),
    ]
    digests = {report_digest(r, DOMAIN) for r in variants}
    other_chain = Domain(chain_id=8453, verifying_contract=DOMAIN.verifying_contract)
    digests.add(report_digest(base, other_chain))
    assert len(digests) == len(variants) + 1


def test_typehash_strings_match_contract_source() -> None:
    source = (ROOT / "contracts" / "ReportVerifier.sol").read_text()
    block = source[source.index("_REPORT_TYPEHASH = keccak256(") :]
    block = block[: block.index(");")]
    assert "".join(re.findall(r'"([^"]*)"', block)) == _encode_type("Report")


# ------------------------------------------------------------------ packing
@given(allocations)
def test_allocation_packing_round_trips(entry: AllocationEntry) -> None:
    word = entry.packed()
    assert 0 <= word < 2**256
    assert AllocationEntry.unpack(word) == entry


@given(moves)
def test_move_packing_round_trips_in_128_bits(entry: MoveEntry) -> None:
    assert entry.packed() < 2**128
    assert MoveEntry.unpack(entry.packed()) == entry


@pytest.mark.parametrize(
    ("kind", "args", "field"),
    [
        (AllocationEntry, (2**64, 1, 1, 1), "task_id"),
        (AllocationEntry, (1, 1, 2**32, 1), "units"),
        (AllocationEntry, (1, 1, 1, 2**96), "price"),
        (MoveEntry, (1, -1), "to_node_id"),
        (Candidate, (1, 2**32), "weight"),
    ],
)
def test_entry_out_of_range_is_rejected(kind: Any, args: tuple[int, ...], field: str) -> None:
    with pytest.raises(InvalidReport, match=field):
        kind(*args)


def test_report_rejects_short_digest_and_wrong_entry_type() -> None:
    with pytest.raises(InvalidReport, match="config_digest"):
        Report(b"\x01" * 31, 1, 1, bytes(32))
    with pytest.raises(InvalidReport, match=r"moves\[0\]"):
        Report(bytes(32), 1, 1, bytes(32), moves=(AllocationEntry(1, 1, 1, 1),))  # type: ignore[arg-type]
    assert issubclass(InvalidReport, OracleError)


def test_transmit_calldata_grows_32_bytes_per_entry_and_64_per_signature() -> None:
    def size(n_alloc: int, n_moves: int, n_sigs: int) -> int:
        report = Report(
            bytes(32),
            1,
            1,
            bytes(32),
            allocations=tuple(AllocationEntry(i, i, 1, 1) for i in range(n_alloc)),
            moves=tuple(MoveEntry(i, i + 1) for i in range(n_moves)),
        )
        sigs = [sign_report(report, DOMAIN, k) for k in KEYS[:n_sigs]]
        return len(transmit_calldata(report, sigs))

    assert size(11, 0, 1) - size(1, 0, 1) == 320
    assert size(1, 5, 1) - size(1, 0, 1) == 160
    assert size(1, 0, 4) - size(1, 0, 1) == 192


# ------------------------------------------------------------------ signatures
def test_sign_report_recovers_from_compact_and_65_byte_forms() -> None:
    report = Report(bytes(32), 7, 1, bytes(32), allocations=(AllocationEntry(1, 2, 3, 4),))
    sig = sign_report(report, DOMAIN, KEYS[0])
    assert sig.signer == Account.from_key(KEYS[0]).address
    assert recover_signer(report, DOMAIN, sig.compact()) == sig.signer
    long_form = sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([27 + sig.y_parity])
    assert recover_signer(report, DOMAIN, long_form) == sig.signer
    other = Report(bytes(32), 8, 1, bytes(32))
    assert recover_signer(other, DOMAIN, sig.compact()) != sig.signer


def test_sort_signatures_orders_by_signer_address() -> None:
    report = Report(bytes(32), 1, 1, bytes(32))
    sigs = [sign_report(report, DOMAIN, k) for k in KEYS]
    ordered = sort_signatures(report, DOMAIN, reversed([s.compact() for s in sigs]))
    assert [int(s.signer, 16) for s in ordered] == sorted(int(s.signer, 16) for s in sigs)
    assert len(encode_signatures(ordered)) == 64 * len(KEYS)


def test_sort_signatures_rejects_duplicate_signer() -> None:
    report = Report(bytes(32), 1, 1, bytes(32))
    sig = sign_report(report, DOMAIN, KEYS[0])
    with pytest.raises(DuplicateSigner, match=sig.signer):
        sort_signatures(report, DOMAIN, [sig, sig.compact()])


def test_sort_signatures_rejects_signature_of_another_report() -> None:
    report = Report(bytes(32), 1, 1, bytes(32))
    sig = sign_report(Report(bytes(32), 2, 1, bytes(32)), DOMAIN, KEYS[0])
    with pytest.raises(InvalidSignature, match="recovers to"):
        sort_signatures(report, DOMAIN, [sig])


@pytest.mark.parametrize("raw", [b"\x01" * 63, b"\x01" * 66, b"\x00" * 64])
def test_malformed_signature_is_rejected(raw: bytes) -> None:
    with pytest.raises(InvalidSignature):
        recover_signer(Report(bytes(32), 1, 1, bytes(32)), DOMAIN, raw)


def test_select_quorum_keeps_threshold_member_signatures_in_order() -> None:
    report = Report(bytes(32), 1, 1, bytes(32))
    committee = [Account.from_key(k).address for k in KEYS[:4]]
    outsider = sign_report(report, DOMAIN, KEYS[4])
    sigs = [sign_report(report, DOMAIN, k) for k in KEYS[:4]]
    offered = [outsider, sigs[2], sigs[2].compact(), b"\x01" * 64, *sigs]
    chosen = select_quorum(report, DOMAIN, committee, 3, offered)
    assert len(chosen) == 3
    assert [int(c.signer, 16) for c in chosen] == sorted(int(a, 16) for a in committee)[:3]


def test_select_quorum_below_threshold_raises() -> None:
    report = Report(bytes(32), 1, 1, bytes(32))
    committee = [Account.from_key(k).address for k in KEYS[:4]]
    sigs = [sign_report(report, DOMAIN, k) for k in (KEYS[0], KEYS[0], KEYS[4])]
    with pytest.raises(QuorumNotReached, match="1 valid member signatures of 3 offered"):
        select_quorum(report, DOMAIN, committee, 2, sigs)


# ------------------------------------------------------------------ config digest
def _members(n: int) -> list[str]:
    keys = [keccak(text=f"signer {i}") for i in range(n)]
    return sorted((Account.from_key(k).address for k in keys), key=lambda a: int(a, 16))


def test_config_digest_is_abi_encoding_hash() -> None:
    members = _members(4)
    pk = vrf.public_key(VRF_KEY)
    verifier = DOMAIN.verifying_contract
    want = keccak(
        encode(
            ["uint256", "address", "uint32", "address[]", "uint8", "bytes"],
            [84532, verifier, 3, members, 3, pk],
        )
    )
    assert config_digest(84532, verifier, 3, members, 3, pk) == want
    assert config_digest(84532, verifier, 4, members, 3, pk) != want


@pytest.mark.parametrize(
    ("signers", "threshold", "key", "match"),
    [
        (_members(3), 0, None, "threshold"),
        (_members(3), 1, None, "majority"),
        (_members(4), 2, None, "majority"),
        (_members(3), 4, None, "threshold"),
        (list(reversed(_members(3))), 2, None, "signers\\[1\\]"),
        (_members(2) + _members(2)[-1:], 2, None, "signers\\[2\\]"),
        (_members(32), 2, None, "at most 31"),
        (_members(3), 2, b"\x04" + bytes(32), "vrf_public_key"),
        (["0x" + "00" * 20, *_members(2)], 2, None, "signers\\[0\\]"),
    ],
)
def test_config_digest_rejects_what_set_config_rejects(
    signers: list[str], threshold: int, key: bytes | None, match: str
) -> None:
    pk = key if key is not None else vrf.public_key(VRF_KEY)
    with pytest.raises(InvalidConfig, match=match):
        config_digest(1, DOMAIN.verifying_contract, 1, signers, threshold, pk)


# ------------------------------------------------------------------ building
def test_build_report_takes_allocation_entries_in_order() -> None:
    snapshot = Snapshot(
        classes=("GPU",),
        nodes=(Node(1, "GPU", 4, 5), Node(2, "GPU", 4, 3)),
        tasks=(Task(10, "GPU", 6, 9), Task(11, "GPU", 1, 9)),
    )
    result = allocate(snapshot)
    report = build_report(
        result, config_digest=bytes(32), round=3, snapshot_block=9, inputs_digest=bytes(32)
    )
    assert [(a.task_id, a.node_id, a.units, a.price) for a in report.allocations] == [
        (e.task, e.node, e.units, e.price) for e in result.entries
    ]
    assert sum(a.units for a in report.allocations) == 7


def test_build_report_rejects_entry_beyond_wire_format() -> None:
    snapshot = Snapshot(
        classes=("GPU",), nodes=(Node(2**64, "GPU", 1, 1),), tasks=(Task(1, "GPU", 1, 1),)
    )
    with pytest.raises(InvalidReport, match=r"entries\[0\].*node_id"):
        build_report(
            allocate(snapshot),
            config_digest=bytes(32),
            round=1,
            snapshot_block=1,
            inputs_digest=bytes(32),
        )


def test_inputs_digest_is_the_cid_sha256() -> None:
    data = b'{"schema":"verai.allocation.snapshot/1"}'
    assert inputs_digest(cid_for(data)) == hashlib.sha256(data).digest()


def test_entry_at_maps_event_index_to_list_position() -> None:
    report = Report(
        bytes(32),
        1,
        1,
        bytes(32),
        allocations=(AllocationEntry(1, 1, 1, 1),) * 2,
        moves=(MoveEntry(1, 2),),
        reassignments=(ReassignmentEntry(1, 2, ()),),
    )
    assert [entry_at(report, i) for i in range(4)] == [
        ("allocation", 0),
        ("allocation", 1),
        ("move", 0),
        ("reassignment", 0),
    ]
    with pytest.raises(InvalidReport, match="index"):
        entry_at(report, 4)


@pytest.mark.parametrize("draw", [0, 1, 7])
def test_prove_reassignment_picks_from_beta_over_sorted_candidates(draw: int) -> None:
    market = "0x" + "12" * 20
    seed = bytes(range(32))
    cands = [Candidate(9, 3), Candidate(4, 0), Candidate(7, 5)]
    entry = prove_reassignment(
        VRF_KEY,
        chain_id=84532,
        market=market,
        task_id=5,
        task_seed=seed,
        assignment_id=11,
        draw=draw,
        candidates=cands,
    )
    assert [c.node_id for c in entry.candidates] == [4, 7, 9]
    attempt = draw << 32 | 11
    assert sortition.reassignment_attempt(11, draw) == attempt
    alpha = sortition.vrf_alpha(84532, market, 5, seed, attempt)
    beta = vrf.verify(vrf.public_key(VRF_KEY), entry.proof, alpha)
    index = sortition.pick(beta, attempt, [0, 5, 3])
    assert entry.node_id == entry.candidates[index].node_id != 4
    assert entry.as_abi()[0] == 11 << 64 | entry.node_id


def test_prove_reassignment_proves_a_new_alpha_for_every_draw() -> None:
    """Finding 8: once a draw is published its beta is public, so the next draw of the same failed
    assignment must prove another alpha (another beta), which the chain's draw counter fixes."""
    kwargs = {
        "chain_id": 84532,
        "market": "0x" + "12" * 20,
        "task_id": 5,
        "task_seed": bytes(range(32)),
        "assignment_id": 11,
        "candidates": [Candidate(4, 5), Candidate(7, 5)],
    }
    proofs = {prove_reassignment(VRF_KEY, draw=d, **kwargs).proof for d in range(4)}  # type: ignore[arg-type]
    assert len(proofs) == 4
    # draw 0 is the alpha of the first design (attempt = the failed assignment's id)
    assert sortition.reassignment_attempt(11, 0) == 11


@pytest.mark.parametrize(
    ("assignment_id", "draw", "match"), [(2**32, 0, "assignment_id"), (1, 2**32, "draw")]
)
def test_prove_reassignment_rejects_ids_and_draws_beyond_uint32(
    assignment_id: int, draw: int, match: str
) -> None:
    with pytest.raises(InvalidReport, match=match):
        prove_reassignment(
            VRF_KEY,
            chain_id=1,
            market="0x" + "12" * 20,
            task_id=1,
            task_seed=bytes(32),
            assignment_id=assignment_id,
            draw=draw,
            candidates=[Candidate(1, 1)],
        )


def test_reassignment_without_proof_cannot_be_transmitted() -> None:
    with pytest.raises(InvalidReport, match="no VRF proof"):
        ReassignmentEntry(1, 2, (Candidate(2, 1),)).as_abi()
