"""Helpers of the agent's process tests: keystores for Anvil's accounts, agent processes with a
TOML config, task specs, and the committee reports the oracle service would transmit."""

from __future__ import annotations

import inspect
import json
import re
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.agent.spec import build_workload, parse_spec
from oracle.agent.workload import LinearRegressionWorkload
from oracle.chain.keystore import write_keystore
from oracle.checkpoints import CheckpointStore, cid_from_bytes
from oracle.reports import AllocationEntry, Candidate, MoveEntry, Report, prove_reassignment
from scripts._committee import LOCAL_VRF_SECRET
from scripts._processes import ManagedProcess, wait_until
from tests._localnet import GPU, VER, Localnet

VERAI = Path(sys.executable).parent / "verai"
PASSWORD = "correct horse battery staple"


def spec_uri(**spec: Any) -> str:
    """An inline task spec (data: URI)."""
    return "data:application/json," + urllib.parse.quote(json.dumps(spec, sort_keys=True))


def reference_state(uri: str, task_id: int, root_assignment: int, steps: int) -> bytes:
    """The bytes an uninterrupted run of `steps` steps ends with (computed here, in-process)."""
    spec = parse_spec(urllib.parse.unquote_to_bytes(uri.split(",", 1)[1]))
    workload = build_workload(
        spec, task_id=task_id, root_assignment=root_assignment, commands={}, scratch=Path(".")
    )
    assert isinstance(workload, LinearRegressionWorkload)
    return workload.run(workload.initial_state(), steps)


def keystore_for(net: Localnet, index: int, folder: Path) -> tuple[Path, Path]:
    """A V3 keystore of Anvil account `index` and its password file."""
    folder.mkdir(parents=True, exist_ok=True)
    keystore, password = folder / f"account-{index}.json", folder / "password.txt"
    if not keystore.exists():
        write_keystore(keystore, PASSWORD, bytes(net.account(index).key))
    password.write_text(PASSWORD + "\n")
    return keystore, password


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


@dataclass
class Agent:
    """An agent process of Anvil account `index`, configured by a TOML file in `home`."""

    net: Localnet
    index: int
    home: Path
    settings: dict[str, Any] = field(default_factory=dict)
    process: ManagedProcess | None = None
    runs: int = 0

    def __post_init__(self) -> None:
        keystore, password = keystore_for(self.net, self.index, self.home / "keys")
        base: dict[str, Any] = {
            "rpc_url": self.net.url,
            "deployment": str(self.net.record_path),
            "keystore": str(keystore),
            "password_file": str(password),
            "resource_class": "GPU-A100-80G",
            "capacity": 2,
            "price": "2",
            "stake": "150",
            "work_dir": str(self.home / "work"),
            "heartbeat_interval": 1.0,
            "poll_interval": 0.3,
            "progress_interval": 0,
            "slice_seconds": 0.05,
            "checkpoint_steps": 10,
            "tdp_watts": 300,
            "rapl_root": str(self.home / "no-powercap"),
            "withdraw_threshold": "0.000001",
            "metrics_port": 0,
            "log_format": "text",
        }
        self.settings = {**base, **self.settings}

    def mint(self, amount: int = 1_000 * VER) -> Agent:
        """VER for the stake (the agent approves it with a permit itself)."""
        c = self.net.contracts
        self.net.send(c.token.functions.mint(self.address, amount), self.net.deployer)
        return self

    @property
    def address(self) -> str:
        return str(self.net.account(self.index).address)

    def write_config(self) -> Path:
        path = self.home / "agent.toml"
        lines = [f"{k} = {toml_value(v)}\n" for k, v in self.settings.items() if v is not None]
        path.write_text("".join(lines))
        return path

    def start(self, *extra: str) -> Agent:
        self.runs += 1
        argv = [str(VERAI), "node", "run", "--config", str(self.write_config()), *extra]
        self.process = ManagedProcess(
            f"agent-{self.index}", argv, self.home / f"agent-{self.runs}.log"
        ).start()
        return self

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        assert self.process is not None
        return self.process.wait_for_output(pattern, timeout=timeout)

    def output(self) -> str:
        return "" if self.process is None else self.process.output()

    def stop(self) -> int | None:
        return None if self.process is None else self.process.stop(timeout=60)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill9()

    def node_id(self) -> int:
        return int(self.net.contracts.registry.functions.nodeOf(self.address, GPU).call())

    def wait_registered(self, timeout: float = 60) -> int:
        self.wait_for(r"heartbeat .* gas", timeout=timeout)
        node = self.node_id()
        assert node, self.output()
        return node


# ------------------------------------------------------------------ chain actions of the tests
def submit_task(
    net: Localnet, developer_index: int, uri: str, *, units: int = 1, cap: int = 4 * VER
) -> int:
    developer = net.account(developer_index)
    net.fund(developer)
    market = net.contracts.market
    net.send(market.functions.submitTask(GPU, units, cap, 6 * 3600, uri), developer)
    return int(market.functions.taskCount().call())


def allocate(net: Localnet, entries: list[AllocationEntry]) -> dict[str, Any]:
    """Transmits an allocation report the way the committee does (3 of 4 signatures)."""
    head = net.head()
    report = Report(
        config_digest=net.config_digest(),
        round=net.next_round(),
        snapshot_block=head - 1 if head else 0,
        inputs_digest=bytes(32),
        allocations=tuple(entries),
    )
    return net.transmit(report)


def move(net: Localnet, assignment_id: int, to_node: int) -> dict[str, Any]:
    """Transmits a rebalance report moving a running assignment to another node."""
    head = net.head()
    report = Report(
        config_digest=net.config_digest(),
        round=net.next_round(),
        snapshot_block=head - 1,
        inputs_digest=bytes(32),
        moves=(MoveEntry(assignment_id, to_node),),
    )
    return net.transmit(report)


def node_price(net: Localnet, node_id: int) -> int:
    return int(net.contracts.registry.functions.getNode(node_id).call()[5])


def draws_of(net: Localnet, assignment_id: int) -> int:
    """TaskMarket.drawsOf(assignment): the VRF draws published for its reassignment so far (0
    on a market without the counter: attempt = draw << 32 | id is then the assignment id)."""
    market = net.contracts.market
    if not any(e.get("name") == "drawsOf" for e in market.abi):
        return 0
    return int(market.functions.drawsOf(assignment_id).call())


def reassign(net: Localnet, failed_assignment: int, candidates: list[Candidate]) -> dict[str, Any]:
    """Transmits a VRF reassignment report for a Failed assignment."""
    market = net.contracts.market
    task_id = int(market.functions.getAssignment(failed_assignment).call()[0])
    seed = int(market.functions.getTask(task_id).call()[7])
    fields: dict[str, Any] = {}
    if "draw" in inspect.signature(prove_reassignment).parameters:
        fields["draw"] = draws_of(net, failed_assignment)  # issue 10: on-chain attempt counter
    entry = prove_reassignment(
        LOCAL_VRF_SECRET,
        chain_id=net.chain_id,
        market=market.address,
        task_id=task_id,
        task_seed=seed.to_bytes(32, "big"),
        assignment_id=failed_assignment,
        candidates=candidates,
        **fields,
    )
    head = net.head()
    report = Report(
        config_digest=net.config_digest(),
        round=net.next_round(),
        snapshot_block=head - 1,
        inputs_digest=bytes(32),
        reassignments=(entry,),
    )
    return net.transmit(report)


def assignment_status(net: Localnet, assignment_id: int) -> int:
    return int(net.contracts.market.functions.getAssignment(assignment_id).call()[10])


def checkpoint_events(net: Localnet) -> list[dict[str, Any]]:
    """Every CheckpointCommitted so far: assignment, step, cid, final."""
    from oracle.chain.events import decode_logs

    address = net.contracts.checkpoints.address
    raws = net.rpc.request(
        "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": address}]
    )
    events = decode_logs(raws, {address.lower(): "CheckpointRegistry"})
    return [
        {
            "assignment": e.args["assignmentId"],
            "step": e.args["step"],
            "cid": cid_from_bytes(e.args["cid"]),
            "final": e.args["isFinal"],
            "block": e.block_number,
        }
        for e in events
        if e.name == "CheckpointCommitted"
    ]


def final_bytes(net: Localnet, store: CheckpointStore, assignment_id: int) -> bytes:
    final = [e for e in checkpoint_events(net) if e["assignment"] == assignment_id and e["final"]]
    assert len(final) == 1, final
    return store.get(final[0]["cid"])


def wait_status(net: Localnet, assignment_id: int, status: int, timeout: float = 60) -> None:
    wait_until(
        lambda: assignment_status(net, assignment_id) == status,
        timeout=timeout,
        what=f"assignment {assignment_id} to reach status {status}",
    )


def fail_node(net: Localnet, node_id: int, reporter_index: int = 18) -> None:
    """Lets the node's heartbeat timeout pass and reports it until it is Failed (one report, or
    a suspicion then a second report after the failure grace, as the registry requires)."""
    from oracle.agent import reads

    registry = net.contracts.registry
    reporter = net.account(reporter_index)
    function = registry.functions.parameters()
    params = reads._fields(function, function.call())
    net.mine(seconds=int(params["heartbeatTimeout"]) + 1)
    for _ in range(3):
        net.send(registry.functions.reportFailure(node_id), reporter)
        if reads.node(net.contracts, node_id).status == reads.FAILED:
            return
        net.mine(seconds=int(params.get("failureGrace", 0)) + 1)
    raise AssertionError(f"node {node_id} did not fail")
