"""Checkpoint CID throughput against bare hashlib.sha256 over the same bytes (issue 4: ≥ 80 %).

`cid_for` (the text CID, `ipfs add --cid-version=1`) and `cid_bytes_for` (the binary CID that
`CheckpointRegistry.commit` takes) are timed against `hashlib.sha256(data).digest()` in the same
run, interleaved, best of several repeats. Run: `.venv/bin/python bench/checkpoints.py`
(`make bench` runs every bench/*.py).
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oracle.cid import cid_bytes_for, cid_for

KIB = 1024
MIB = 1024 * KIB
SIZES = [1 * KIB, 256 * KIB, 8 * MIB, 64 * MIB]
TARGET = 0.80
REPEATS = 7
ROUND_SECONDS = 0.05  # each timed round lasts at least this long


def sha256_only(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def loops_for(function: Callable[[bytes], object], data: bytes) -> int:
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            function(data)
        if time.perf_counter() - start >= ROUND_SECONDS:
            return loops
        loops *= 2


def best_seconds(functions: list[Callable[[bytes], object]], data: bytes) -> list[float]:
    """Best time per call of each function; the functions take turns in every repeat."""
    loops = [loops_for(function, data) for function in functions]
    best = [float("inf")] * len(functions)
    for _ in range(REPEATS):
        for index, function in enumerate(functions):
            count = loops[index]
            start = time.perf_counter()
            for _ in range(count):
                function(data)
            best[index] = min(best[index], (time.perf_counter() - start) / count)
    return best


def label(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def main() -> int:
    rng = random.Random(20241125)
    print("cid_for / cid_bytes_for vs bare hashlib.sha256 (MB/s = 10^6 bytes/s, best of 7)")
    header = (
        f"{'size':>8} {'sha256':>10} {'cid_for':>10} {'ratio':>7} {'cid_bytes':>10} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    below = []
    for size in SIZES:
        data = rng.randbytes(size)
        sha, text, binary = best_seconds([sha256_only, cid_for, cid_bytes_for], data)
        rate = [size / seconds / 1e6 for seconds in (sha, text, binary)]
        text_ratio, binary_ratio = sha / text, sha / binary
        print(
            f"{label(size):>8} {rate[0]:>10.1f} {rate[1]:>10.1f} {text_ratio:>7.1%} "
            f"{rate[2]:>10.1f} {binary_ratio:>7.1%}"
        )
        if text_ratio < TARGET:
            below.append(f"cid_for at {label(size)} ({text_ratio:.0%})")
        if binary_ratio < TARGET:
            below.append(f"cid_bytes_for at {label(size)} ({binary_ratio:.0%})")
    print(f"target: ratio ≥ {TARGET:.0%} of bare sha256")
    if below:
        print("below target: " + ", ".join(below))
        print(
            "(at 1 KiB sha256 itself takes under a microsecond; cid_for adds the base32 text of "
            "the CID, a fixed cost of about one microsecond)"
        )
    else:
        print("all sizes meet the target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
