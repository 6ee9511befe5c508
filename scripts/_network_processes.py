"""What every process of the local network shares: the `verai` command of this environment, a
clean environment (no VERAI_* setting of the caller's shell leaks in), free ports, V3 keystores
written in parallel (scrypt takes about half a second each), reading a process's log and its
Prometheus /metrics."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from oracle.chain.keystore import write_keystore

VERAI = Path(sys.executable).parent / "verai"
ROOT = Path(__file__).resolve().parent.parent


def clean_env(settings: Mapping[str, object] | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without VERAI_* variables, plus `settings` as VERAI_<NAME>
    and `extra` as they are."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERAI_")}
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in (settings or {}).items():
        env[f"VERAI_{name.upper()}"] = str(value)
    env.update(extra)
    return env


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_keystores(items: Iterable[tuple[Path, bytes]], password: str) -> None:
    """Writes each (path, private key) as a V3 keystore unless the file exists."""
    todo = [(p, k) for p, k in items if not p.exists()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda item: write_keystore(item[0], password, item[1]), todo))


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among a log's lines (structured logs), in order."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
    return found


def metric(base_url: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples with `labels` on `base_url`/metrics."""
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total
