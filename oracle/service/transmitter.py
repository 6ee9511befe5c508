"""Sending an attested round: each report in round order, once.

Before each report: the on-chain latest round (skip the report when the chain already has
it: another member of the schedule was first), then a simulation against the pending block
(TransactionReverted: a report that cannot apply is never sent). The send goes through
`TxSender` with the key "transmit:<round>:<digest prefix>", so the signed transaction is in
SQLite before it is broadcast and a restart resumes it instead of signing another.
Receipts are read for EntrySkipped (counted by reason) and the gas used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from oracle.chain.abi import errors
from oracle.chain.contracts import Contracts
from oracle.chain.errors import ChainError, TransactionReverted
from oracle.chain.events import decode_logs
from oracle.chain.tx import TxSender
from oracle.observe.logs import log_context
from oracle.reports import Domain, report_digest, transmit_calldata
from oracle.service.messages import Attested
from oracle.service.metrics import Metrics

log = logging.getLogger("oracle.service.transmitter")


@dataclass
class TransmitResult:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    gas_used: int = 0
    skipped_entries: dict[str, int] = field(default_factory=dict)
    mined_blocks: dict[int, int] = field(default_factory=dict)


def reason_name(selector: str) -> str:
    raw = bytes.fromhex(selector.removeprefix("0x"))
    known = errors().get(raw)
    return known.name if known is not None else "0x" + raw.hex()


class Transmitter:
    def __init__(
        self,
        contracts: Contracts,
        sender: TxSender,
        domain: Domain,
        metrics: Metrics,
        *,
        timeout: float = 120.0,
    ) -> None:
        self.contracts = contracts
        self.sender = sender
        self.domain = domain
        self.metrics = metrics
        self.timeout = timeout
        self.verifier = str(contracts.verifier.address)

    def latest_round(self) -> int:
        return int(
            self.contracts.verifier.functions.latestRound().call(block_identifier="latest")[0]
        )

    def transmit(self, attested: Attested) -> TransmitResult:
        result = TransmitResult()
        for report, sigs in zip(attested.reports, attested.signatures, strict=True):
            with log_context(round=report.round, block=report.snapshot_block):
                if self.latest_round() >= report.round:
                    result.skipped.append(report.round)
                    self.metrics.transmissions.labels("already_on_chain").inc()
                    log.info("report already on chain: not sent")
                    continue
                data = transmit_calldata(report, sigs)
                key = f"transmit:{report.round}:{report_digest(report, self.domain).hex()[:16]}"
                try:
                    if self.sender.outcome(key) is None:
                        self.sender.simulate(self.verifier, data, block="pending")
                    outcome = self.sender.send(
                        self.verifier, data, purpose="transmit", key=key, timeout=self.timeout
                    )
                except TransactionReverted as exc:
                    name = getattr(exc.revert, "name", "")
                    outcome_label = (
                        "stale" if name in ("StaleRound", "InvalidRound") else "reverted"
                    )
                    self.metrics.transmissions.labels(outcome_label).inc()
                    log.warning("report not sent: %s", exc)
                    (result.skipped if outcome_label == "stale" else result.failed).append(
                        report.round
                    )
                    if outcome_label != "stale":
                        break
                    continue
                except ChainError as exc:
                    self.metrics.transmissions.labels("error").inc()
                    log.warning("transmission failed: %s", exc)
                    result.failed.append(report.round)
                    break
                if not outcome.mined:
                    self.metrics.transmissions.labels(outcome.state).inc()
                    log.warning("transmission %s: %s", outcome.state, outcome.detail)
                    result.failed.append(report.round)
                    break
                self.metrics.transmissions.labels("mined").inc()
                result.sent.append(report.round)
                result.gas_used += outcome.gas_used or 0
                result.mined_blocks[report.round] = outcome.block_number or 0
                for reason, count in self._skips(outcome.tx_hash).items():
                    result.skipped_entries[reason] = result.skipped_entries.get(reason, 0) + count
                    self.metrics.skipped.labels(reason).inc(count)
                log.info(
                    "report mined",
                    extra={"tx": outcome.tx_hash, "gas_used": outcome.gas_used,
                           "mined_block": outcome.block_number},
                )  # fmt: skip
        if result.gas_used:
            self.metrics.gas_per_round.observe(result.gas_used)
        return result

    def _skips(self, tx_hash: str) -> dict[str, int]:
        receipt: dict[str, Any] = self.contracts.rpc.request("eth_getTransactionReceipt", [tx_hash])
        events = decode_logs(receipt.get("logs", []), self.contracts.names_by_address())
        counts: dict[str, int] = {}
        for event in events:
            if event.name == "EntrySkipped":
                reason = event.args["reason"]
                name = reason_name("0x" + bytes(reason).hex())
                counts[name] = counts.get(name, 0) + 1
        return counts
