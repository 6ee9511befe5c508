"""The oracle committee of the local network: four `verai oracle run` processes holding the local
committee keys (scripts/_committee.py, never for a live network), each with its keystore,
SQLite file, peer and metrics ports, all publishing round documents to one folder (or IPFS
node), which is where `verai audit` fetches them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts._committee import LOCAL_MEMBERS, LOCAL_VRF_SECRET
from scripts._network_chain import LocalChain
from scripts._network_processes import (
    VERAI,
    clean_env,
    free_port,
    json_lines,
    metric,
    write_keystores,
)
from scripts._processes import ManagedProcess, wait_until

PASSWORD = "verai local committee"
# Tuned for blocks every 1-2 s: a member ingests one block behind head, polls twice a block,
# hands a silent leader's round to the next after 6 s and keeper duties to the next member
# after 6 s. The balancer's band and the overload brake are opened wide: every agent of the
# local network runs on this one machine, so the CPU load each reports is the whole machine's
# (work from outside the network, which the brake would hold against every node).
MEMBER_SETTINGS: dict[str, object] = {
    "confirmations": 1,
    "poll_interval": 0.5,
    "stage_delay": 4,
    "leader_timeout": 6,
    "keeper_delay": 6,
    "theta_bps": 10_000,
    "overload_margin_bps": 10_000,
    "log_format": "json",
    "log_level": "info",
}


@dataclass
class Member:
    index: int
    name: str
    address: str
    log: Path
    settings: dict[str, object]
    process: ManagedProcess | None = None

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.settings['listen_port']}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.settings['metrics_port']}"

    def start(self, **overrides: object) -> Member:
        """Starts (or restarts) the member; `overrides` are settings of this run only."""
        env = clean_env({**self.settings, **overrides})
        argv = [str(VERAI), "oracle", "run"]
        self.process = ManagedProcess(self.name, argv, self.log, env=env).start()
        return self

    def wait_started(self, timeout: float = 60) -> None:
        assert self.process is not None
        self.process.wait_for_output(r'"msg":"oracle member started"', timeout=timeout)

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def kill9(self) -> None:
        if self.process is not None:
            self.process.kill9()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def log_lines(self) -> list[dict[str, Any]]:
        """This run's structured log lines."""
        return [] if self.process is None else json_lines(self.process.output())

    def metric(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples with `labels` on /metrics."""
        return metric(self.metrics_url, name, **labels)


@dataclass
class Committee:
    members: list[Member]
    store: Path
    ipfs_url: str | None
    folder: Path
    names: dict[str, str] = field(default_factory=dict)  # lower-case address -> name

    def start(self) -> Committee:
        for member in self.members:
            member.start()
        for member in self.members:
            member.wait_started()
        return self

    def stop(self) -> None:
        for member in self.members:
            member.stop()

    def by_address(self, address: str) -> Member:
        return next(m for m in self.members if m.address.lower() == address.lower())

    def audit_flags(self) -> list[str]:
        """Where `verai audit` finds the round documents."""
        if self.ipfs_url:
            return ["--ipfs-url", self.ipfs_url]
        return ["--store-folder", str(self.store)]

    def wait_all_alive(self, timeout: float = 30) -> None:
        wait_until(
            lambda: all(m.alive() for m in self.members), timeout=timeout, what="every member up"
        )


def make_committee(
    chain: LocalChain,
    folder: Path,
    *,
    rpc_url: str | None = None,
    ipfs_url: str | None = None,
    logs: Path | None = None,
    **settings: object,
) -> Committee:
    """Keystores, the VRF key file and the four members' settings (not started), their logs in
    `logs` (default `folder`). The members' addresses must hold ETH for gas (the caller funds
    them)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "round-documents"
    vrf_file = folder / "vrf.key"
    vrf_file.write_text(LOCAL_VRF_SECRET.hex())
    vrf_file.chmod(0o600)
    password = folder / "password"
    password.write_text(PASSWORD)
    keystores = [folder / f"{m.name}.json" for m in LOCAL_MEMBERS]
    write_keystores(zip(keystores, [m.key for m in LOCAL_MEMBERS], strict=True), PASSWORD)
    ports = [(free_port(), free_port()) for _ in LOCAL_MEMBERS]
    members = []
    for i, member in enumerate(LOCAL_MEMBERS):
        peer_port, metrics_port = ports[i]
        peers = [f"http://127.0.0.1:{p}" for j, (p, _) in enumerate(ports) if j != i]
        member_settings: dict[str, object] = {
            **MEMBER_SETTINGS,
            "rpc_url": rpc_url or chain.url,
            "deployment": chain.record_path,
            "keystore": keystores[i],
            "password_file": password,
            "vrf_key_file": vrf_file,
            "listen_port": peer_port,
            "metrics_port": metrics_port,
            "peers": ",".join(peers),
            "db": folder / f"{member.name}.sqlite",
            **({"ipfs_url": ipfs_url} if ipfs_url else {"store_folder": store}),
            **settings,
        }
        log = (logs or folder) / f"{member.name}.log"
        members.append(Member(i, member.name, member.address, log, member_settings))
    committee = Committee(members, store, ipfs_url, folder)
    committee.names = {m.address.lower(): m.name for m in members}
    return committee
