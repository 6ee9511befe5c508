"""The deploy script, run as a real process the way a user runs it (`make demo` itself is
tested in tests/e2e/test_network_demo.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ape(args: list[str], deployments: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VERAI_DEPLOYMENTS_DIR": str(deployments)}
    return subprocess.run(
        ["ape", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_deploy_script_writes_record_and_refuses_to_overwrite(tmp_path: Path) -> None:
    args = ["run", "deploy", "--network", "base:local:foundry", "--account", "TEST::0"]
    first = _ape(args, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    record = json.loads((tmp_path / "local" / "84532.json").read_text())
    assert record["chain_id"] == 84532 and record["local"] is True
    assert set(record["contracts"]) == {
        "VerToken",
        "NodeRegistry",
        "TaskMarket",
        "CheckpointRegistry",
        "ReportVerifier",
    }
    assert record["parameters"]["committee"]["threshold"] == 3
    assert all(a.startswith("0x") and len(a) == 42 for a in record["contracts"].values())
    assert record["deployer"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert len(record["git_commit"]) >= 7 and record["start_block"] >= 0

    second = _ape(args, tmp_path)
    assert second.returncode != 0
    output = second.stdout + second.stderr
    assert "already records a deployment on chain 84532; pass --force" in output
    assert "Traceback" not in output

    forced = _ape([*args, "--force"], tmp_path)
    assert forced.returncode == 0, forced.stdout + forced.stderr


def test_deploy_script_on_live_network_needs_committee(tmp_path: Path) -> None:
    # the local chain stands in for the network here; the committee flags are checked first
    args = [
        "run",
        "deploy",
        "--network",
        "base:local:foundry",
        "--account",
        "TEST::0",
        "--committee",
        "0x12",
        "--vrf-public-key",
        "02" + "11" * 32,
    ]
    result = _ape(args, tmp_path)
    assert result.returncode != 0
    assert "--committee: '0x12' is not a 0x address of 20 bytes" in result.stdout + result.stderr
