"""The rounds page reads a report's entries back from its transmit calldata."""

from __future__ import annotations

from eth_account import Account

from oracle.dashboard.calldata import decode_transmit
from oracle.reports import (
    AllocationEntry,
    Candidate,
    Domain,
    MoveEntry,
    Report,
    prove_reassignment,
    sign_report,
    transmit_calldata,
)
from scripts._committee import LOCAL_VRF_SECRET


def test_entries_come_back_from_the_calldata_in_entry_index_order() -> None:
    reassignment = prove_reassignment(
        LOCAL_VRF_SECRET,
        chain_id=84532,
        market="0x" + "22" * 20,
        task_id=9,
        task_seed=b"\x07" * 32,
        assignment_id=5,
        draw=0,
        candidates=[Candidate(3, 4), Candidate(8, 2)],
    )
    report = Report(
        b"\x01" * 32,
        12,
        400,
        b"\x02" * 32,
        allocations=(AllocationEntry(9, 3, 2, 5 * 10**17), AllocationEntry(2**40, 2**33, 7, 1)),
        moves=(MoveEntry(4, 8),),
        reassignments=(reassignment,),
    )
    key = Account.create().key
    signature = sign_report(report, Domain(84532, "0x" + "33" * 20), key)
    decoded = decode_transmit(transmit_calldata(report, [signature]))
    assert decoded is not None
    assert (decoded.round, decoded.snapshot_block, decoded.signatures) == (12, 400, 1)
    assert decoded.inputs_digest == b"\x02" * 32
    kinds = [(e.index, e.kind) for e in decoded.entries]
    assert kinds == [(0, "allocation"), (1, "allocation"), (2, "move"), (3, "reassignment")]
    first, second, move, vrf = decoded.entries
    assert (first.task_id, first.node_id, first.units, first.price) == (9, 3, 2, 5 * 10**17)
    assert (second.task_id, second.node_id, second.units, second.price) == (2**40, 2**33, 7, 1)
    assert (move.assignment_id, move.node_id) == (4, 8)
    assert (vrf.assignment_id, vrf.node_id) == (5, reassignment.node_id)
    assert vrf.candidates == ((3, 4), (8, 2))


def test_calldata_of_another_function_is_not_a_report() -> None:
    assert decode_transmit(b"\xde\xad\xbe\xef" + b"\x00" * 64) is None
    assert decode_transmit(b"") is None
