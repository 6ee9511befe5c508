"""Prometheus metrics of a committee member, named verai_oracle_<thing>_<unit>."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from oracle.chain.tx import TxObserver

LATENCY_BUCKETS = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.rounds = Counter(
            "verai_oracle_rounds_total", "service rounds by result", ["result"], registry=r
        )
        self.latency_blocks = Histogram(
            "verai_oracle_event_to_mined_blocks",
            "blocks from a task's submission (or a failure) to the report that handles it",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.latency_seconds = Histogram(
            "verai_oracle_event_to_mined_seconds",
            "seconds from a task's submission to the report that allocates it",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ingestion_lag = Gauge(
            "verai_oracle_ingestion_lag_blocks", "head minus the ingestion cursor", registry=r
        )
        self.cursor = Gauge("verai_oracle_cursor_block", "last ingested block", registry=r)
        self.reorgs = Counter("verai_oracle_reorgs_total", "reorgs rewound", registry=r)
        self.reorg_depth = Counter(
            "verai_oracle_reorged_blocks_total", "blocks rewound by reorgs", registry=r
        )
        self.rpc_errors = Counter(
            "verai_oracle_rpc_errors_total", "RPC faults by kind", ["kind"], registry=r
        )
        self.rejected = Counter(
            "verai_oracle_rejected_messages_total",
            "peer messages rejected, by reason",
            ["reason"],
            registry=r,
        )
        self.accepted = Counter(
            "verai_oracle_accepted_messages_total", "peer messages accepted", ["type"], registry=r
        )
        self.skipped = Counter(
            "verai_oracle_skipped_entries_total",
            "report entries the chain skipped, by reason",
            ["reason"],
            registry=r,
        )
        self.gas_per_round = Histogram(
            "verai_oracle_gas_per_round_gas",
            "gas used by the transmissions of a service round",
            buckets=(1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8),
            registry=r,
        )
        self.transmissions = Counter(
            "verai_oracle_transmissions_total",
            "transmit transactions by outcome",
            ["outcome"],
            registry=r,
        )
        self.keeper = Counter(
            "verai_oracle_keeper_calls_total", "keeper calls by duty and outcome",
            ["duty", "outcome"], registry=r,
        )  # fmt: skip
        self.balance = Gauge(
            "verai_oracle_signer_balance_wei", "ETH balance of the member account", registry=r
        )
        self.pending_units = Gauge(
            "verai_oracle_pending_units",
            "units waiting for an assignment at the cursor, by resource class",
            ["class"],
            registry=r,
        )
        self.compute_seconds = Histogram(
            "verai_oracle_compute_seconds",
            "seconds to build a round's inputs, solve and build its reports",
            buckets=(0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "verai_oracle_cycle_seconds", "seconds per main cycle", registry=r
        )
        self.round_gauge = Gauge("verai_oracle_round", "the round being worked on", registry=r)
        self.attempt_gauge = Gauge("verai_oracle_attempt", "the attempt of the round", registry=r)
        self.tx_sent = Counter(
            "verai_oracle_tx_sent_total", "transactions broadcast", ["purpose"], registry=r
        )
        self.tx_replaced = Counter(
            "verai_oracle_tx_replaced_total", "fee replacements", ["purpose"], registry=r
        )

    def on_rpc_error(self, method: str, kind: str) -> None:
        self.rpc_errors.labels(kind).inc()

    def observer(self) -> TxObserver:
        metrics = self

        class _Observer(TxObserver):
            def sent(self, purpose: str) -> None:
                metrics.tx_sent.labels(purpose).inc()

            def replaced(self, purpose: str) -> None:
                metrics.tx_replaced.labels(purpose).inc()

        return _Observer()
