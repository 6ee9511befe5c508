"""Committee rounds: each report with its entries (from the transmit calldata), the skipped
ones and why (EntrySkipped reasons decoded with the committed ABIs), its gas and its audit
verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oracle.chain.abi import errors
from oracle.dashboard import history
from oracle.dashboard.audits import Verdict, verdict_of
from oracle.dashboard.calldata import Entry, TransmittedReport, decode_transmit
from oracle.dashboard.history import LogRow
from oracle.dashboard.pages.common import page_bounds
from oracle.dashboard.transactions import ReportTransaction, report_transaction
from oracle.dashboard.view import View

PER_PAGE = 20


@dataclass(frozen=True)
class Skip:
    index: int
    reason: str  # the error's name, or its selector when no committed ABI knows it
    selector: str


@dataclass(frozen=True)
class EntryRow:
    entry: Entry | None
    index: int
    skip: Skip | None


@dataclass(frozen=True)
class RoundCard:
    round: int
    block: int
    timestamp: int
    age: int
    tx_hash: str
    snapshot_block: int
    config_digest: str
    inputs_digest: str
    report_digest: str
    applied: int
    skipped: int
    transaction: ReportTransaction | None
    report: TransmittedReport | None
    entries: list[EntryRow]
    verdict: Verdict


def reason_name(selector_hex: str) -> str:
    selector = bytes.fromhex(selector_hex.removeprefix("0x"))
    known = errors().get(selector)
    return known.name if known is not None else selector_hex


def card(view: View, event: LogRow) -> RoundCard:
    number = int(event.args["round"])
    skipped = [
        Skip(int(e.args["index"]), reason_name(str(e.args["reason"])), str(e.args["reason"]))
        for e in history.logs(
            view.conn,
            view.block,
            contract="ReportVerifier",
            events=("EntrySkipped",),
            arg=("round", number),
        )
        if e.tx_hash == event.tx_hash
    ]
    skips = {s.index: s for s in skipped}
    tx = report_transaction(view.conn, event.tx_hash, event.block_hash)
    report = decode_transmit(tx.input) if tx is not None else None
    if report is not None and report.round != number:
        report = None  # a transaction carrying several reports: entries not attributable
    if report is not None:
        rows = [EntryRow(e, e.index, skips.get(e.index)) for e in report.entries]
    else:
        rows = [EntryRow(None, s.index, s) for s in skipped]
    return RoundCard(
        round=number,
        block=event.block_number,
        timestamp=event.timestamp,
        age=view.timestamp - event.timestamp,
        tx_hash=event.tx_hash,
        snapshot_block=int(event.args["snapshotBlock"]),
        config_digest=str(event.args["configDigest"]),
        inputs_digest=str(event.args["inputsDigest"]),
        report_digest=str(event.args["reportDigest"]),
        applied=int(event.args["applied"]),
        skipped=int(event.args["skipped"]),
        transaction=tx,
        report=report,
        entries=rows,
        verdict=verdict_of(view.conn, number, event.block_hash, enabled=view.network.audits),
    )


def build_list(view: View, page: int) -> dict[str, Any]:
    total = history.report_count(view.conn, view.block)
    offset, pages, page = page_bounds(page, PER_PAGE, total)
    events = history.reports(view.conn, view.block, limit=PER_PAGE, offset=offset)
    cards = [card(view, e) for e in events]
    return {"rounds": cards, "round_count": total, "page": page, "pages": pages}


def build(view: View, round_number: int) -> dict[str, Any] | None:
    event = history.block_of_round(view.conn, view.block, round_number)
    if event is None:
        return None
    return {"round": card(view, event)}
