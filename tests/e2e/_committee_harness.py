"""Four `verai oracle run` processes of the local committee (scripts/_committee.py) against a
local chain, with helpers to act on the chain as a developer or a node would."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_account import Account

from oracle.chain.events import decode_logs
from oracle.chain.keystore import write_keystore
from scripts._committee import LOCAL_MEMBERS, LOCAL_VRF_SECRET
from scripts._network_processes import metric
from scripts._processes import ManagedProcess, wait_until
from tests._localnet import GPU, VER, Localnet
from tests.e2e.conftest import free_port
from tests.service._network import heartbeat_call

PASSWORD = "verai test member"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FaultProxy:
    """tools/faulty_rpc.py in front of a node: HTTP 500s, dropped connections and delays on a
    share of the requests, changed at run time; its counters say what it injected."""

    process: ManagedProcess
    url: str

    def faults(self) -> dict[str, float]:
        reply: dict[str, float] = requests.get(f"{self.url}/__faults", timeout=10).json()
        return reply

    def set(self, *, error_rate: float = 0, drop_rate: float = 0, delay_ms: float = 0) -> None:
        requests.post(
            f"{self.url}/__faults",
            json={"error_rate": error_rate, "drop_rate": drop_rate, "delay_ms": delay_ms},
            timeout=10,
        ).raise_for_status()

    def stop(self) -> None:
        self.process.stop()


def start_proxy(upstream: str, log: Path) -> FaultProxy:
    """A fault proxy to `upstream` on a free port, injecting nothing until told to."""
    argv = [sys.executable, str(ROOT / "tools" / "faulty_rpc.py"), "--upstream", upstream]
    process = ManagedProcess("faulty-rpc", argv, log).start()
    try:
        match = process.wait_for_output(r"Listening on (127\.0\.0\.1:\d+)", timeout=30)
    except Exception:
        process.stop()
        raise
    return FaultProxy(process, f"http://{match.group(1)}")


@dataclass
class MemberProcess:
    index: int
    address: str
    peer_port: int
    metrics_port: int
    db: Path
    process: ManagedProcess
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    def start(self, **settings: Any) -> None:
        """Starts the member again (with `settings` as VERAI_* overrides for this run only)."""
        env = {**self.env, **{f"VERAI_{k.upper()}": str(v) for k, v in settings.items()}}
        self.process = ManagedProcess(
            self.process.name, self.process.argv, self.process.log_path, env=env
        ).start()
        self.process.wait_for_output(r"oracle member started", timeout=60)

    def metric(self, name: str, **labels: str) -> float:
        return metric(f"http://127.0.0.1:{self.metrics_port}", name, **labels)

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.process.output().splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        return lines


@dataclass
class Committee:
    net: Localnet
    folder: Path
    store: Path
    members: list[MemberProcess] = field(default_factory=list)
    funded: set[int] = field(default_factory=set)

    def by_address(self, address: str) -> MemberProcess:
        return next(m for m in self.members if m.address.lower() == address.lower())

    def stop_all(self) -> None:
        for m in self.members:
            m.process.stop()

    def events(self, contract: str, name: str, from_block: int = 0) -> list[Any]:
        """Every `name` event of `contract` since `from_block`, decoded, in chain order."""
        from oracle.chain.abi import event_by_name

        topic = "0x" + event_by_name(contract, name).topic0.hex()
        address = self.net.record.contracts[contract]
        raw = self.net.rpc.request(
            "eth_getLogs",
            [{"fromBlock": hex(from_block), "toBlock": "latest", "address": address,
              "topics": [topic]}],
        )  # fmt: skip
        return decode_logs(raw, self.net.contracts.names_by_address())

    def service_index(self) -> int:
        """Service rounds accepted so far: distinct snapshot blocks of ReportAccepted."""
        accepted = self.events("ReportVerifier", "ReportAccepted")
        return len({int(e.args["snapshotBlock"]) for e in accepted})

    def leader(self, attempt: int = 0) -> MemberProcess:
        """The member that leads the next service round at `attempt`."""
        from oracle.service.pacemaker import leader

        digest = self.net.config_digest()
        address = leader(digest, self.service_index(), attempt, [m.address for m in self.members])
        return self.by_address(address)

    def latest_round(self) -> int:
        return int(self.net.contracts.verifier.functions.latestRound().call()[0])

    def wait_round(self, at_least: int, timeout: float = 60) -> int:
        wait_until(lambda: self.latest_round() >= at_least, timeout=timeout,
                   what=f"the chain's latest round to reach {at_least}")  # fmt: skip
        return self.latest_round()

    # ------------------------------------------------------------------ chain helpers
    def register_node(self, index: int, capacity: int = 4, price: int = VER, load: int = 0) -> int:
        c = self.net.contracts
        account = self.net.account(index)
        self.net.fund(account)
        receipt = self.net.send(
            c.registry.functions.register(GPU, capacity, price, 200 * VER, f"ipfs://node-{index}"),
            account,
        )
        events = decode_logs(receipt["logs"], c.names_by_address())
        node = next(int(e.args["nodeId"]) for e in events if e.name == "NodeRegistered")
        self.net.send(heartbeat_call(c.registry, node, load), account)
        return node

    def heartbeat(self, index: int, node: int, load: int = 0) -> None:
        c = self.net.contracts
        self.net.send(heartbeat_call(c.registry, node, load), self.net.account(index))

    def submit_task(self, index: int, units: int = 1, max_price: int = 2 * VER) -> int:
        c = self.net.contracts
        account = self.net.account(index)
        if index not in self.funded:
            self.net.fund(account)
            self.funded.add(index)
        receipt = self.net.send(
            c.market.functions.submitTask(GPU, units, max_price, 3600, "ipfs://task"), account
        )
        events = decode_logs(receipt["logs"], c.names_by_address())
        return next(int(e.args["taskId"]) for e in events if e.name == "TaskSubmitted")

    def assignments_of(self, task: int) -> list[dict[str, Any]]:
        from oracle.chain.abi import event_by_name

        topic = "0x" + event_by_name("TaskMarket", "AssignmentCreated").topic0.hex()
        raw = self.net.rpc.request(
            "eth_getLogs",
            [{"fromBlock": "0x0", "toBlock": "latest",
              "address": str(self.net.contracts.market.address),
              "topics": [topic, None, "0x" + task.to_bytes(32, "big").hex()]}],
        )  # fmt: skip
        return [dict(e.args) | {"tx": e.tx_hash, "block": e.block_number}
                for e in decode_logs(raw, self.net.contracts.names_by_address())]  # fmt: skip

    def transmit_transactions(self) -> dict[int, list[tuple[str, bool]]]:
        """Report round -> [(tx hash, succeeded)] of every transmit sent to the verifier."""
        verifier = str(self.net.contracts.verifier.address).lower()
        found: dict[int, list[tuple[str, bool]]] = {}
        head = self.net.head()
        batch = [("eth_getBlockByNumber", [hex(n), True]) for n in range(1, head + 1)]
        for start in range(0, len(batch), 200):
            for block in self.net.rpc.batch(batch[start : start + 200]):
                for tx in block["transactions"]:
                    if (tx.get("to") or "").lower() != verifier:
                        continue
                    try:
                        _, params = self.net.contracts.verifier.decode_function_input(tx["input"])
                    except ValueError:
                        continue
                    round_ = int(params["report"]["round"])
                    receipt = self.net.rpc.request("eth_getTransactionReceipt", [tx["hash"]])
                    found.setdefault(round_, []).append((tx["hash"], receipt["status"] == "0x1"))
        return found


def make_committee(
    net: Localnet, folder: Path, *, rpc_url: str | None = None, **settings: Any
) -> Committee:
    """Keystores, VRF key file and four member processes (not started)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "documents"
    vrf_file = folder / "vrf.key"
    vrf_file.write_text(LOCAL_VRF_SECRET.hex())
    password = folder / "password"
    password.write_text(PASSWORD)
    committee = Committee(net, folder, store)
    for member in LOCAL_MEMBERS:  # gas money for transmissions and keeper calls
        net.rpc_call("anvil_setBalance", member.address, hex(100 * 10**18))
    free = _distinct_ports(2 * len(LOCAL_MEMBERS))
    ports = [(free[2 * i], free[2 * i + 1]) for i in range(len(LOCAL_MEMBERS))]
    for i, member in enumerate(LOCAL_MEMBERS):
        keystore = folder / f"member-{i}.json"
        if not keystore.exists():
            write_keystore(keystore, PASSWORD, member.key)
        peer_port, metrics_port = ports[i]
        peers = [f"http://127.0.0.1:{p}" for j, (p, _) in enumerate(ports) if j != i]
        env = {
            **_base_env(),
            "VERAI_RPC_URL": rpc_url or net.url,
            "VERAI_DEPLOYMENT": str(net.record_path),
            "VERAI_KEYSTORE": str(keystore),
            "VERAI_PASSWORD_FILE": str(password),
            "VERAI_VRF_KEY_FILE": str(vrf_file),
            "VERAI_LISTEN_PORT": str(peer_port),
            "VERAI_METRICS_PORT": str(metrics_port),
            "VERAI_PEERS": ",".join(peers),
            "VERAI_DB": str(folder / f"member-{i}.sqlite"),
            "VERAI_STORE_FOLDER": str(store),
            "VERAI_CONFIRMATIONS": "1",
            "VERAI_POLL_INTERVAL": "0.5",
            "VERAI_STAGE_DELAY": "4",
            "VERAI_LEADER_TIMEOUT": "5",
            "VERAI_KEEPER_DELAY": "6",
            "VERAI_THETA_BPS": "10000",
            "VERAI_LOG_FORMAT": "json",
            "VERAI_LOG_LEVEL": "info",
            **{f"VERAI_{k.upper()}": str(v) for k, v in settings.items()},
        }
        argv = [sys.executable, "-c", "from oracle.cli import main; main()", "oracle", "run"]
        process = ManagedProcess(f"oracle-{i}", argv, folder / f"member-{i}.log", env=env)
        committee.members.append(
            MemberProcess(
                i, member.address, peer_port, metrics_port, Path(env["VERAI_DB"]), process, env
            )
        )
    return committee


def _distinct_ports(count: int) -> list[int]:
    """`count` different free ports (the kernel may hand out a just-released port again)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _base_env() -> dict[str, str]:
    import os

    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "SOLCX_BINARY_PATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def member_key(index: int) -> bytes:
    return LOCAL_MEMBERS[index].key


def stranger_key() -> bytes:
    return bytes(Account.create().key)
