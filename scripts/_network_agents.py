"""The contributors of the local network: one `verai node run` process per node, each with its
own wallet (a V3 keystore of a key derived from its name), TOML settings, work folder and
SQLite, all reaching one checkpoint store (a folder standing in for IPFS, or the real IPFS
node). GPU nodes read their power from a simulated board (scripts/_network_gpu/pynvml.py) whose
draw the story sets; CPU nodes estimate it from load and their declared TDP."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak

from oracle.agent.registration import class_key
from scripts._network_chain import LocalChain
from scripts._network_processes import ROOT, VERAI, clean_env, json_lines, metric, write_keystores
from scripts._processes import ManagedProcess, wait_until

PASSWORD = "verai local node"
SIMULATED_GPU = ROOT / "scripts" / "_network_gpu"


@dataclass(frozen=True)
class Offer:
    """What a contributor offers: class, whole units, asking price and stake (VER, as the
    agent's settings write them) and its power: a simulated GPU drawing `gpu_watts`, or (None)
    a CPU node whose power is estimated as load x `tdp_watts`."""

    name: str
    resource_class: str
    capacity: int
    price: str
    stake: str
    gpu_watts: int | None = None
    tdp_watts: int = 200
    renewable_bps: int | None = None  # the renewable share the owner declares (issue 13)

    @property
    def key(self) -> bytes:
        return keccak(text=f"verai local network node {self.name}")

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string


@dataclass
class AgentProcess:
    offer: Offer
    home: Path
    log: Path
    settings: dict[str, object]
    process: ManagedProcess | None = None
    runs: int = 0
    node_id: int = 0

    @property
    def name(self) -> str:
        return self.offer.name

    @property
    def address(self) -> str:
        return self.offer.address

    @property
    def gpu_file(self) -> Path:
        return self.home / "gpu-watts"

    def set_gpu_watts(self, watts: int) -> None:
        """What the simulated board draws from its next reading on."""
        tmp = self.gpu_file.with_suffix(".tmp")
        tmp.write_text(f"{watts}\n")
        tmp.replace(self.gpu_file)

    def write_config(self, **overrides: object) -> Path:
        path = self.home / "node.toml"
        values = {**self.settings, **overrides}
        path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in values.items() if v is not None))
        return path

    def start(self, **overrides: object) -> AgentProcess:
        """Starts (or restarts) the agent; `overrides` are settings of this run only."""
        self.runs += 1
        config = self.write_config(**overrides)
        extra = {}
        if self.offer.gpu_watts is not None:
            if not self.gpu_file.exists():
                self.set_gpu_watts(self.offer.gpu_watts)
            extra = {
                "PYTHONPATH": str(SIMULATED_GPU),
                "SIMULATED_GPU_WATTS_FILE": str(self.gpu_file),
            }
        argv = [str(VERAI), "node", "run", "--config", str(config)]
        self.process = ManagedProcess(
            self.name, argv, self.log, env=clean_env(None, **extra)
        ).start()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def kill9(self) -> None:
        if self.process is not None:
            self.process.kill9()

    def stop(self, timeout: float = 60) -> int | None:
        return None if self.process is None else self.process.stop(timeout=timeout)

    def output(self) -> str:
        return "" if self.process is None else self.process.output()

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """This run's structured log lines (of `event` kind)."""
        lines = json_lines(self.output())
        return [line for line in lines if kind is None or line.get("event") == kind]

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        assert self.process is not None
        return self.process.wait_for_output(pattern, timeout=timeout)

    @property
    def metrics_url(self) -> str:
        """Where this run serves /metrics and /healthz (`metrics_port = 0`: the port the
        agent logged at start)."""
        found = self.wait_for(r"metrics on (http://[^\s\"]+)/metrics", timeout=30)
        return found.group(1)

    def metric(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples with `labels` on this run's /metrics."""
        return metric(self.metrics_url, name, **labels)

    def wait_registered(self, chain: LocalChain, timeout: float = 60) -> int:
        """The node id once the agent registered it and its first heartbeat is mined."""
        self.wait_for(r'"event":"heartbeat"', timeout=timeout)
        key = class_key(self.offer.resource_class)
        node = int(chain.contracts.registry.functions.nodeOf(self.address, key).call())
        if not node:
            raise AssertionError(f"{self.name} heartbeats but owns no node of its class")
        self.node_id = node
        return node

    def computed_step(self, assignment: int) -> int:
        """The last step this run reported computing for `assignment` (0: none)."""
        steps = [
            int(e.get("step", 0))
            for e in self.events()
            if e.get("assignment") == assignment and e.get("event") in ("step", "checkpoint")
        ]
        return max(steps, default=0)


@dataclass
class Contributors:
    agents: list[AgentProcess] = field(default_factory=list)

    def __iter__(self) -> Any:
        return iter(self.agents)

    def by_name(self, name: str) -> AgentProcess:
        return next(a for a in self.agents if a.name == name)

    def by_node(self, node_id: int) -> AgentProcess:
        return next(a for a in self.agents if a.node_id == node_id)

    def start(self, chain: LocalChain, timeout: float = 90) -> None:
        for agent in self.agents:
            agent.start()
        for agent in self.agents:
            agent.wait_registered(chain, timeout=timeout)

    def stop(self) -> None:
        for agent in self.agents:
            agent.stop()

    def alive(self) -> list[AgentProcess]:
        return [a for a in self.agents if a.alive()]


def make_contributors(
    chain: LocalChain,
    folder: Path,
    offers: list[Offer],
    *,
    store: Path,
    logs: Path,
    ipfs_url: str | None = None,
    rpc_url: str | None = None,
    **settings: object,
) -> Contributors:
    """Keystores and settings of one agent per offer (not started; the wallets need ETH for
    gas and VER for the stake: the caller funds `offer.address`)."""
    write_keystores(((folder / o.name / "wallet.json", o.key) for o in offers), PASSWORD)
    agents = []
    for offer in offers:
        home = folder / offer.name
        (home / "password").write_text(PASSWORD + "\n")
        gpu = offer.gpu_watts is not None
        base: dict[str, object] = {
            "rpc_url": rpc_url or chain.url,
            "deployment": chain.record_path,
            "keystore": home / "wallet.json",
            "password_file": home / "password",
            "resource_class": offer.resource_class,
            "capacity": offer.capacity,
            "price": offer.price,
            "stake": offer.stake,
            "metadata_uri": f"https://nodes.example/{offer.name}",
            "heartbeat_interval": chain.block_time,
            "poll_interval": 0.5,
            "checkpoint_steps": 10,
            "slice_seconds": 0.2,
            "progress_interval": 2,
            "work_dir": home / "work",
            **({"ipfs_url": ipfs_url} if ipfs_url else {"store": store}),
            "telemetry": "nvml" if gpu else "estimate",
            "tdp_watts": offer.tdp_watts,
            **_renewable(offer),
            "withdraw_threshold": "0.001",
            "metrics_port": 0,
            "log_format": "json",
            **settings,
        }
        agents.append(AgentProcess(offer, home, logs / f"{offer.name}.log", base))
    return Contributors(agents)


def _renewable(offer: Offer) -> dict[str, object]:
    """The agent declares the offer's renewable share at start (none: it declares nothing)."""
    if offer.renewable_bps is None:
        return {}
    evidence = f"https://nodes.example/{offer.name}/energy"
    return {"renewable_bps": offer.renewable_bps, "renewable_evidence_uri": evidence}


def wait_alive_heartbeats(agents: list[AgentProcess], timeout: float = 30) -> None:
    """Waits until each agent has logged a heartbeat since now (they are all beating)."""
    counts = {a.name: len(a.events("heartbeat")) for a in agents}
    wait_until(
        lambda: all(len(a.events("heartbeat")) > counts[a.name] for a in agents),
        timeout=timeout,
        what="a fresh heartbeat of every live agent",
    )
