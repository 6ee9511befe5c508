"""The wallet CLI driven like a user drives it, against a real Anvil with the contracts deployed:
one chain per test module (`net`), the `verai` command through click's runner with its own
home folder (keystores, event cache) and deployments folder (`Cli`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from oracle.cli import main
from oracle.reports import AllocationEntry, Report
from tests._localnet import VER, Localnet, start_localnet

__all__ = ["VER", "Cli", "Localnet", "allocate", "cli", "heartbeat", "net", "nonce"]


@dataclass
class Cli:
    """Runs `verai ...` with VERAI_HOME, the deployments folder and the chain of `net`."""

    net: Localnet
    home: Path

    def env(self) -> dict[str, str]:
        return {
            "VERAI_HOME": str(self.home),
            "VERAI_DEPLOYMENTS_DIR": str(self.net.record_path.parent.parent),
            "APE_DATA_FOLDER": str(self.home / "ape"),
            "VERAI_NETWORK": self.net.url,
            "VERAI_KEYSTORE": "",
            "VERAI_PASSWORD_FILE": "",
            "VERAI_RPC_URL": "",
        }

    def run(self, *args: str, input: str | None = None, **env: str) -> Result:
        # empty values are dropped: an unset variable, not an empty setting
        environment: dict[str, str | None] = {
            k: (v or None) for k, v in {**self.env(), **env}.items()
        }
        return CliRunner(mix_stderr=False).invoke(
            main, list(args), input=input, env=environment, catch_exceptions=False
        )

    def ok(self, *args: str, input: str | None = None, **env: str) -> Result:
        result = self.run(*args, input=input, **env)
        assert result.exit_code == 0, f"verai {' '.join(args)}: {result.stdout}{result.stderr}"
        return result

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.ok(*args, "--json", **env).stdout)

    def refused(self, *args: str, input: str | None = None, **env: str) -> str:
        """Runs a command that must fail with one line on stderr, exit code 2; returns the line."""
        result = self.run(*args, input=input, **env)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 2, f"exit {result.exit_code}: {result.stdout}{result.stderr}"
        assert lines and lines[-1].startswith("Error: "), result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        return lines[-1].removeprefix("Error: ")


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    """One chain for the whole module (its tests build on each other's state)."""
    localnet = start_localnet(tmp_path_factory.mktemp("chain"), unbonding_period=3600)
    try:
        yield localnet
    finally:
        localnet.anvil.stop()


@pytest.fixture(scope="module")
def cli(net: Localnet, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(net, tmp_path_factory.mktemp("home"))


def nonce(net: Localnet, address: str) -> int:
    return int(net.rpc_call("eth_getTransactionCount", address, "latest"), 16)


def allocate(net: Localnet, task_id: int, node_id: int, units: int, price: int) -> None:
    """The committee allocates `units` of the task to the node (a signed report, transmitted
    the way the oracle does)."""
    snapshot = net.head()
    net.mine()
    report = Report(
        net.config_digest(),
        net.next_round(),
        snapshot,
        b"\x17" * 32,
        allocations=(AllocationEntry(task_id, node_id, units, price),),
    )
    receipt = net.transmit(report)
    assert int(receipt["status"], 16) == 1


def heartbeat(net: Localnet, node_id: int, owner: Any) -> None:
    """What the node's agent sends every interval (a node that does not is not live): 50 % load,
    300 W, and zero for any telemetry field a newer registry adds (energy counters)."""
    abi = next(e for e in net.contracts.registry.abi if e.get("name") == "heartbeat")
    known = {"nodeId": node_id, "loadBps": 5_000, "watts": 300}
    args = [known.get(p["name"], 0) for p in abi["inputs"]]
    net.send(net.contracts.registry.functions.heartbeat(*args), owner)


def task_id_of(output: str) -> int:
    match = re.search(r"task (\d+) submitted", output)
    assert match, output
    return int(match.group(1))
