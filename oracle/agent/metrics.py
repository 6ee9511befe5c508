"""Prometheus metrics of the node agent (`verai_agent_*`), served on /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from oracle.agent.telemetry import Reading
from oracle.chain.tx import TxObserver

SOURCES = ("nvml", "rapl", "estimate")


class AgentMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.steps = Counter("verai_agent_steps", "Work steps computed", registry=r)
        self.checkpoints = Counter(
            "verai_agent_checkpoints", "Checkpoints stored (store put + CID)", registry=r
        )
        self.commits = Counter(
            "verai_agent_commits", "Checkpoint commits by outcome", ["result"], registry=r
        )
        self.completions = Counter(
            "verai_agent_completions", "Assignment completions by outcome", ["result"], registry=r
        )
        self.heartbeats = Counter(
            "verai_agent_heartbeats", "Heartbeats by outcome", ["result"], registry=r
        )
        self.heartbeat_failures = Counter(
            "verai_agent_heartbeat_failures", "Heartbeats that did not land", registry=r
        )
        self.heartbeat_gas = Gauge(
            "verai_agent_heartbeat_gas", "Receipt gas of the last heartbeat", registry=r
        )
        self.watts = Gauge(
            "verai_agent_watts", "Power of the last reading, by source", ["source"], registry=r
        )
        self.load = Gauge("verai_agent_load_bps", "CPU load of the last reading", registry=r)
        self.energy = Counter(
            "verai_agent_energy_joules",
            "Energy by source: measured counters (nvml, rapl) or watts x time (estimate)",
            ["source"],
            registry=r,
        )
        self.energy_counter = Gauge(
            "verai_agent_energy_counter_joules",
            "The node's monotonic energy counter (hardware counters only), sent with heartbeats",
            registry=r,
        )
        self.measured = Gauge(
            "verai_agent_power_measured", "1 when the power is measured, 0 estimated", registry=r
        )
        self.source_switches = Counter(
            "verai_agent_telemetry_fallbacks",
            "Power sources given up, by source",
            ["source"],
            registry=r,
        )
        self.running = Gauge(
            "verai_agent_running_assignments", "Assignments being worked on", registry=r
        )
        self.step = Gauge(
            "verai_agent_step", "Current step of each running assignment", ["assignment"],
            registry=r,
        )  # fmt: skip
        self.earnings = Gauge(
            "verai_agent_earnings_wei", "Earnings not yet withdrawn (VER wei)", registry=r
        )
        self.withdrawn = Counter(
            "verai_agent_withdrawn_wei", "Earnings withdrawn (VER wei)", registry=r
        )
        self.refused = Counter(
            "verai_agent_refused_assignments",
            "Assignments refused, by reason (spec, resume)",
            ["reason"],
            registry=r,
        )
        self.cursor = Gauge(
            "verai_agent_cursor_block",
            "Last block whose assignment events are ingested (the watcher's cursor)",
            registry=r,
        )
        self.rpc_errors = Counter(
            "verai_agent_rpc_errors", "RPC faults by kind", ["kind"], registry=r
        )
        self.transactions = Counter(
            "verai_agent_transactions", "Transactions by purpose and end state",
            ["purpose", "state"], registry=r,
        )  # fmt: skip
        self.checkpoint_seconds = Histogram(
            "verai_agent_checkpoint_seconds",
            "Checkpoint: store put + CID + commit mined",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
            registry=r,
        )
        for source in SOURCES:
            self.watts.labels(source)
            self.energy.labels(source)

    def record_reading(self, reading: Reading, seconds: float, joules: float) -> None:
        for source in SOURCES:
            self.watts.labels(source).set(reading.watts if source == reading.source else 0)
        self.load.set(reading.load_bps)
        self.measured.set(1 if reading.measured else 0)
        if joules > 0:
            self.energy.labels(reading.source).inc(joules)

    def rpc_error(self, method: str, kind: str) -> None:
        self.rpc_errors.labels(kind).inc()


class MetricsObserver(TxObserver):
    def __init__(self, metrics: AgentMetrics) -> None:
        self.metrics = metrics

    def finished(self, purpose: str, state: str, gas_used: int | None, seconds: float) -> None:
        self.metrics.transactions.labels(purpose, state).inc()
