"""The service's fast paths give the very bytes of the library paths they replace: report
digests and signatures against oracle.reports (eth-account's typed-data encoder), and the
column-wise `RoundInputs.to_dict` against `dataclasses.asdict`."""

from __future__ import annotations

from dataclasses import asdict

from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.reports import (
    AllocationEntry,
    Candidate,
    Domain,
    MoveEntry,
    ReassignmentEntry,
    Report,
    report_digest,
    sign_report,
)
from oracle.service import digest
from oracle.service.inputs import (
    AssignmentRow,
    FailedRow,
    GasTable,
    NodeRow,
    Parameters,
    RoundInputs,
    TaskRow,
    _jsonable,
)
from scripts._committee import LOCAL_MEMBERS

U32, U64, U96 = 2**32 - 1, 2**64 - 1, 2**96 - 1
b32 = st.binary(min_size=32, max_size=32)
allocations = st.builds(
    AllocationEntry,
    st.integers(0, U64),
    st.integers(0, U64),
    st.integers(0, U32),
    st.integers(0, U96),
)
moves = st.builds(MoveEntry, st.integers(0, U64), st.integers(0, U64))
candidates = st.lists(
    st.builds(Candidate, st.integers(0, U64), st.integers(0, U32)), max_size=6
).map(lambda cs: tuple(sorted(cs)))
reassignments = st.builds(
    ReassignmentEntry,
    st.integers(0, U64),
    st.integers(0, U64),
    candidates,
    st.binary(min_size=81, max_size=81),
)
reports = st.builds(
    Report,
    b32,
    st.integers(0, U64),
    st.integers(0, U64),
    b32,
    st.lists(allocations, max_size=8).map(tuple),
    st.lists(moves, max_size=8).map(tuple),
    st.lists(reassignments, max_size=4).map(tuple),
)
domains = st.builds(
    Domain,
    st.integers(1, 2**64),
    st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
)


@settings(max_examples=150, deadline=None)
@given(reports, domains)
def test_fast_report_digest_equals_the_typed_data_digest(report: Report, domain: Domain) -> None:
    assert digest.report_digest(report, domain) == report_digest(report, domain)


@settings(max_examples=40, deadline=None)
@given(st.lists(reports, min_size=1, max_size=3).map(tuple), domains)
def test_signing_a_digest_gives_eth_accounts_signature(
    batch: tuple[Report, ...], domain: Domain
) -> None:
    digests = digest.report_digests(batch, domain)
    for member in LOCAL_MEMBERS[:2]:
        fast = digest.sign_digests(digests, member.key)
        assert fast == tuple(sign_report(r, domain, member.key).compact() for r in batch)


ints = st.integers(-(2**70), 2**70)  # both sides of the 2**53 JSON boundary
labels = st.sampled_from(["0x" + "aa" * 32, "0x" + "bb" * 32])
rows = st.tuples(
    st.lists(st.builds(NodeRow, ints, labels, ints, ints, ints, ints, ints, ints), max_size=6),
    st.lists(st.builds(TaskRow, ints, labels, ints, ints, ints, ints), max_size=6),
    st.lists(st.builds(AssignmentRow, ints, ints, ints, ints), max_size=6),
    st.lists(st.builds(FailedRow, ints, ints, ints, ints, ints), max_size=6),
)


@settings(max_examples=150, deadline=None)
@given(rows, ints, st.sampled_from([0, 0, 1, 10**18]))
def test_round_inputs_to_dict_equals_asdict(
    tables: tuple[list, ...], value: int, weight: int
) -> None:  # type: ignore[type-arg]
    nodes, tasks, running, failed = tables
    inputs = RoundInputs(
        chain_id=value, market="0x" + "11" * 20, verifier="0x" + "22" * 20,
        config_digest="0x" + "33" * 32, vrf_public_key="0x02" + "44" * 32, first_round=value,
        service_index=3, snapshot_block=9, block_hash="0x" + "55" * 32, timestamp=value,
        parameters=Parameters(1, 2, 3, 4, GasTable()), nodes=tuple(nodes), tasks=tuple(tasks),
        running=tuple(running), failed=tuple(failed), energy_weight=weight,
    )  # fmt: skip
    expected = _jsonable(asdict(inputs))
    if weight == 0:  # energy-aware mode off: the document is the one from before the mode existed
        del expected["energy_weight"]
        for row in expected["nodes"]:
            del row["watts"]
    assert inputs.to_dict() == expected
