"""Prometheus metrics of the dashboard (`verai_dashboard_<thing>_<unit>`), in a registry of its
own so /metrics shows exactly these."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class DashboardMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "verai_dashboard_requests_total",
            "HTTP requests by page and status",
            ["page", "status"],
            registry=r,
        )
        self.render_seconds = Histogram(
            "verai_dashboard_render_seconds",
            "time to read and render a page",
            ["page"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.polls = Counter(
            "verai_dashboard_polls_total", "ingestion polls by result", ["result"], registry=r
        )
        self.poll_seconds = Histogram(
            "verai_dashboard_poll_seconds", "time of one ingestion poll", registry=r
        )
        self.ingested_block = Gauge(
            "verai_dashboard_ingested_block", "last block ingested into the mirror", registry=r
        )
        self.head_block = Gauge(
            "verai_dashboard_chain_head_block", "chain head at the last poll", registry=r
        )
        self.lag_blocks = Gauge(
            "verai_dashboard_ingest_lag_blocks", "head minus the ingested block", registry=r
        )
        self.events = Counter(
            "verai_dashboard_ingested_events_total", "events ingested", registry=r
        )
        self.reorgs = Counter(
            "verai_dashboard_reorgs_total", "reorgs the ingestion rewound", registry=r
        )
        self.rpc_errors = Counter(
            "verai_dashboard_rpc_errors_total",
            "RPC errors by method and kind",
            ["method", "kind"],
            registry=r,
        )
        self.live_clients = Gauge(
            "verai_dashboard_live_clients", "browsers following /events", registry=r
        )
        self.live_events = Counter(
            "verai_dashboard_live_events_total", "new-block events sent to browsers", registry=r
        )

    def rpc_error(self, method: str, kind: str) -> None:
        self.rpc_errors.labels(method.split("[")[0], kind).inc()
