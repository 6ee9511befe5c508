"""What every long-running process shares to be observed: structured logs, a liveness state,
and one small HTTP server for `/metrics` (Prometheus) and `/healthz`."""
