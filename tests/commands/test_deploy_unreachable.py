"""`ape run deploy` as a new user runs it against BASE Sepolia, with no RPC answering: one line
naming the network, the URI and where to set another, instead of ape's connection traceback.

A port on 127.0.0.1 that refuses connections stands in for an unreachable BASE Sepolia RPC
(ape's documented per-run override of the provider's URI, --provider-settings); nothing leaves
this machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_to_an_unreachable_rpc_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = {**os.environ, "VERAI_DEPLOYMENTS_DIR": str(tmp_path)}
    result = subprocess.run(
        [
            "ape",
            "run",
            "deploy",
            "--network",
            "base:sepolia:node",
            "--account",
            "TEST::0",
            "--provider-settings",
            json.dumps({"uri": uri}),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert result.returncode == 1, output
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: cannot connect to base:sepolia:node: ")
    assert f"'{uri}'" in lines[0] and "node.base.sepolia.uri" in lines[0]
    assert "Traceback" not in output
    assert not list(tmp_path.iterdir())  # no record written
