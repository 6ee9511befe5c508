"""Verified work (issue 14), the pure part: which checkpoint intervals the committee samples,
who re-executes them, whether cheating pays, and re-execution through the `Workload` interface.

No chain or I/O imports; the contracts' side (challenge window, disputes, slashing) is described
in docs/verified-work.md and not built yet.
"""
