"""The whole network for the fault suite, built as `make demo` builds it (scripts/_network_*):
Anvil posing as BASE Sepolia with 1 s blocks, the four committee members, node agents of their
own wallets, a developer on the wallet CLI, optionally everyone behind the fault-injecting RPC
proxy (tools/faulty_rpc.py, through the committee harness's FaultProxy); the invariants every
scenario asserts (scripts/_network_checks.py); and what each scenario records for the suite's
one summary line (tests/e2e/conftest.py prints it)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.chain.events import ChainEvent
from oracle.checkpoints import LocalStore
from oracle.service.pacemaker import transmission_order
from scripts._committee import LOCAL_MEMBERS
from scripts._network_agents import AgentProcess, Contributors, Offer, make_contributors
from scripts._network_chain import LocalChain, start_chain
from scripts._network_checks import Check, FinalModel, all_checks
from scripts._network_committee import Committee, Member, make_committee
from scripts._network_developer import Cli, Wallet, wallet_address
from scripts._processes import wait_until
from tests.e2e._committee_harness import FaultProxy, start_proxy

GPU = "GPU-A100-80G"
# alice is the cheapest (her node fills first), then bob, then carol
GPU_OFFERS = [
    Offer("alice", GPU, 2, "2", "150", gpu_watts=300),
    Offer("bob", GPU, 4, "2.5", "150", gpu_watts=300),
    Offer("carol", GPU, 4, "3", "150", gpu_watts=300),
]
# ~30 ms a step here: a kill can land between two checkpoints (every 10 steps)
SPEC = {"workload": "linear-regression", "features": 64, "samples": 100_000, "learning_rate": 0.05}
# Settings of the agents in the suite: a step line every turn (a kill lands between
# checkpoints), short turns, a checkpoint every 10 steps.
AGENT_SETTINGS: dict[str, object] = {
    "progress_interval": 0,
    "slice_seconds": 0.05,
    "checkpoint_steps": 10,
}


@dataclass
class Scenario:
    """What one scenario did, for the summary line."""

    name: str
    rounds_before: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    rounds: int = 0
    lost: int = 0
    passed: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    def inject(self, kind: str, count: int = 1) -> None:
        self.faults[kind] += count

    @property
    def injected(self) -> int:
        return sum(self.faults.values())


RECORDS: list[Scenario] = []


@dataclass
class Network:
    chain: LocalChain
    committee: Committee
    nodes: Contributors
    developer: Wallet
    cli: Cli
    folder: Path
    proxy: FaultProxy | None = None
    models: dict[int, FinalModel] = field(default_factory=dict)  # final models checked so far
    audited_to: int = 0  # rounds up to this block passed the audit already

    @property
    def store(self) -> LocalStore:
        return LocalStore(self.folder / "store")

    def stop(self) -> None:
        for part in (self.nodes, self.committee, self.proxy, self.chain):
            if part is not None:
                part.stop()

    # ------------------------------------------------------------------ the developer
    def submit(self, steps: int = 60, units: int = 1, max_price: str = "4") -> int:
        """A task of `steps` steps, its spec published to the checkpoint store, escrowed with
        `verai task submit`."""
        spec = json.dumps({**SPEC, "steps": steps}, sort_keys=True).encode()
        path = self.developer.home / f"spec-{steps}.json"
        path.write_bytes(spec)
        self.store.put(spec)
        document = self.developer.submit(GPU, units, max_price=max_price, duration="2h", spec=path)
        return int(document["task_id"])

    # ------------------------------------------------------------------ reading the chain
    def latest_round(self) -> int:
        return int(self.chain.contracts.verifier.functions.latestRound().call()[0])

    def assignments(self, task: int) -> list[ChainEvent]:
        return [
            e
            for e in self.chain.events(
                "TaskMarket", "AssignmentCreated", self.chain.record.start_block
            )
            if int(e.args["taskId"]) == task
        ]

    def wait_allocated(self, task: int, timeout: float = 60) -> ChainEvent:
        """The first assignment of `task`."""
        found = wait_until(
            lambda: self.assignments(task), timeout=timeout, what=f"task {task} to be allocated"
        )
        assert isinstance(found, list)
        return found[0]

    def agent_of(self, assignment: ChainEvent) -> AgentProcess:
        return self.nodes.by_node(int(assignment.args["nodeId"]))

    def completed(self, task: int) -> bool:
        return any(
            int(e.args["taskId"]) == task
            for e in self.chain.events("TaskMarket", "TaskCompleted", self.chain.record.start_block)
        )

    def wait_completed(self, task: int, timeout: float = 120) -> None:
        wait_until(lambda: self.completed(task), timeout=timeout, what=f"task {task} to complete")

    def checkpoints(self, assignment: int) -> list[int]:
        """The steps committed for `assignment` (final excluded), in chain order."""
        return [
            int(e.args["step"])
            for e in self.chain.events(
                "CheckpointRegistry", "CheckpointCommitted", self.chain.record.start_block
            )
            if int(e.args["assignmentId"]) == assignment and not e.args["isFinal"]
        ]

    def wait_checkpoint(self, assignment: int, step: int, timeout: float = 60) -> None:
        wait_until(
            lambda: any(s >= step for s in self.checkpoints(assignment)),
            timeout=timeout,
            what=f"assignment {assignment} to commit step {step}",
        )

    def suspicions(self, node: int) -> list[ChainEvent]:
        return [
            e
            for e in self.chain.events(
                "NodeRegistry", "NodeSuspected", self.chain.record.start_block
            )
            if int(e.args["nodeId"]) == node
        ]

    def first_transmitter(self, round_: int) -> Member:
        digest = bytes(self.chain.contracts.verifier.functions.config().call()[0])
        order = transmission_order(digest, round_, [m.address for m in self.committee.members])
        return self.committee.by_address(order[0])

    # ------------------------------------------------------------------ the agents
    def wait_between_checkpoints(
        self, agent: AgentProcess, assignment: int, timeout: float = 60
    ) -> int:
        """Waits until `agent` computed past its last committed checkpoint (at least step 10)
        and is not at a checkpoint boundary; returns the step it computed."""

        def between() -> int:
            committed = max(
                (int(e["step"]) for e in agent.events("checkpoint")
                 if e.get("assignment") == assignment and "block" in e),
                default=0,
            )  # fmt: skip
            step = agent.computed_step(assignment)
            return step if committed >= 10 and step > committed and step % 10 else 0

        step = wait_until(
            between, timeout=timeout, interval=0.02,
            what=f"{agent.name} to be between two checkpoints of assignment {assignment}",
        )  # fmt: skip
        assert isinstance(step, int)
        return step

    def wait_commit_sent(
        self, agent: AgentProcess, assignment: int, *, after: int, timeout: float = 60
    ) -> re.Match[str]:
        """The `commit sent` line of `agent` for a step of `assignment` past `after`."""

        def sent() -> re.Match[str] | None:
            found = commit_sent(agent, assignment)
            return found if found is not None and int(found.group(1)) > after else None

        found = wait_until(
            sent, timeout=timeout, what=f"{agent.name} to send a commit past step {after}"
        )
        assert isinstance(found, re.Match)
        return found

    def wait_closed(self, assignment: int, timeout: float = 120) -> ChainEvent:
        """The AssignmentClosed event of `assignment`."""

        def closed() -> ChainEvent | None:
            events = self.chain.events(
                "TaskMarket", "AssignmentClosed", self.chain.record.start_block
            )
            return next((e for e in events if int(e.args["assignmentId"]) == assignment), None)

        found = wait_until(closed, timeout=timeout, what=f"assignment {assignment} to close")
        assert isinstance(found, ChainEvent)
        return found

    def wait_pool_empty(self, address: str, timeout: float = 30) -> None:
        wait_until(
            lambda: not self.chain.request("txpool_content")["pending"].get(address.lower()),
            timeout=timeout,
            what=f"the transactions of {address} in the pool to be mined",
        )

    # ------------------------------------------------------------------ the invariants
    def assert_invariants(self, scenario: Scenario) -> list[Check]:
        """Every invariant of scripts/_network_checks.py (the audit over the rounds since the
        last scenario's); the data lost is recorded before anything is asserted."""
        start = self.audited_to or self.chain.record.start_block
        checks = all_checks(
            self.chain, self.store, self.cli, self.committee.audit_flags(),
            audit_from=start, models=self.models,
        )  # fmt: skip
        scenario.lost += sum(c.lost for c in checks)
        scenario.detail["checks"] = [c.line() for c in checks]
        failed = [c.line() for c in checks if not c.ok]
        assert not failed, "\n".join(failed)
        self.audited_to = self.chain.head() + 1
        return checks


def start_network(
    folder: Path,
    offers: list[Offer],
    *,
    block_time: float = 1,
    through_proxy: bool = False,
    member_settings: dict[str, object] | None = None,
) -> Network:
    """Chain, committee and agents running (the agents registered and beating), a developer
    with a keystore; with `through_proxy`, members and agents reach the chain only through the
    fault proxy (injecting nothing until told to; the developer and the test go direct)."""
    logs = folder / "logs"
    developer = wallet_address("developer")
    wallets = [o.address for o in offers] + [m.address for m in LOCAL_MEMBERS] + [developer]
    chain = start_chain(
        folder / "chain", block_time=block_time, fund=wallets, log=logs / "anvil.log"
    )
    network: Network | None = None
    proxy = None
    try:
        if through_proxy:
            proxy = start_proxy(chain.url, logs / "faulty-rpc.log")
        url = proxy.url if proxy else chain.url
        committee = make_committee(
            chain, folder / "committee", rpc_url=url, logs=logs, **(member_settings or {})
        )
        nodes = make_contributors(
            chain, folder / "nodes", offers, store=folder / "store", logs=logs, rpc_url=url,
            **AGENT_SETTINGS,
        )  # fmt: skip
        cli = Cli(logs / "developer.log")
        wallet = Wallet("developer", folder / "developer", chain, cli).prepare()
        network = Network(chain, committee, nodes, wallet, cli, folder, proxy)
        committee.start()
        nodes.start(chain)
        return network
    except BaseException:
        if network is not None:
            network.stop()
        else:
            if proxy is not None:
                proxy.stop()
            chain.stop()
        raise


def commit_sent(agent: AgentProcess, assignment: int) -> re.Match[str] | None:
    """The last `commit sent` line of this run for `assignment`: (step, tx hash)."""
    pattern = rf"assignment {assignment}  step (\d+)/\d+ .*? commit sent (0x[0-9a-f]{{64}})"
    matches = list(re.finditer(pattern, agent.output()))
    return matches[-1] if matches else None


SUMMARY_FILE = Path(__file__).resolve().parents[2] / "build" / "e2e" / "summary.json"


def summary_line(records: list[Scenario]) -> str:
    """The suite's one line: scenarios, faults injected and survived, rounds, data lost."""
    injected = sum(r.injected for r in records)
    survived = sum(r.injected for r in records if r.passed)
    rounds = sum(r.rounds for r in records)
    lost = sum(r.lost for r in records)
    return (
        f"network fault suite: {len(records)} scenarios run, {injected:,} faults injected, "
        f"{survived:,} faults survived, {rounds} rounds completed, {lost} data lost"
    )


def write_summary(records: list[Scenario]) -> Path:
    """Every scenario's record in build/e2e/summary.json (the line's figures, by scenario)."""
    SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {"scenario": r.name, "passed": r.passed, "faults": dict(r.faults), "rounds": r.rounds,
         "lost": r.lost, **r.detail}
        for r in records
    ]  # fmt: skip
    SUMMARY_FILE.write_text(
        json.dumps({"summary": summary_line(records), "scenarios": rows}, indent=1) + "\n"
    )
    return SUMMARY_FILE
