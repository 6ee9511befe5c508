"""The contributor's node agent: workloads, telemetry and the checkpoint loop."""
