"""`make demo`: the VerAI network as it really runs, on this machine, in about two minutes.

Anvil poses as BASE Sepolia with a block every 2 s; four `verai oracle run` members (3 of 4)
allocate, reassign and rebalance; four `verai node run` agents of two classes and prices train,
checkpoint and get paid; a developer escrows, gets refunded and compensated with `verai task`
and `verai compensation`. They talk only through the chain, the members' HTTP and the checkpoint
store (a shared folder, or a real IPFS node with --ipfs). The driver only sets the scene and
moves the chain's clock; the timeline it prints is read from the chain (and, for what only a
process knows, from its structured log).

The story is STEPS, a list of small functions over one `Demo`; a new feature adds its step
where the list says. Any failure prints the failing step in one line, stops every process and
keeps the logs in build/demo/logs/ (one per process).

    python scripts/network_demo.py [--ipfs] [--folder build/demo]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oracle.checkpoints import CheckpointStore, IpfsStore, LocalStore
from oracle.units import format_ver
from scripts._committee import LOCAL_MEMBERS
from scripts._deployment import VER
from scripts._network_agents import Contributors, Offer, make_contributors
from scripts._network_chain import ChainStepError, LocalChain, start_chain, wait_for_event
from scripts._network_checks import all_checks, conservation
from scripts._network_committee import Committee, make_committee
from scripts._network_developer import Cli, CliFailed, Wallet, wallet_address
from scripts._network_ipfs import IpfsNode, start_ipfs
from scripts._network_timeline import Names, Timeline
from scripts._processes import ProcessError, stop_all, wait_until

ROOT = Path(__file__).resolve().parent.parent
BLOCK_TIME = 2  # seconds, as on BASE
WATT_LIMIT_A100 = 400  # the class limit the deploy script configures for GPU-A100-80G
# The cast: three GPU nodes at three prices (alice is the cheapest and fills first), one CPU
# node; the GPUs are simulated boards whose draw the story sets.
# Each owner declares the renewable share of its supply (carol declares none: 0 %).
OFFERS = [
    Offer("alice", "GPU-A100-80G", 2, "2", "150", gpu_watts=300, renewable_bps=10_000),
    Offer("bob", "GPU-A100-80G", 4, "2.5", "150", gpu_watts=320, renewable_bps=5_000),
    Offer("carol", "GPU-A100-80G", 4, "3", "150", gpu_watts=280),
    Offer("dave", "CPU-EPYC-64", 8, "0.2", "20", tdp_watts=180, renewable_bps=8_000),
]
DATA_CENTRE_PUE = "1.58"  # the energy report's baseline: a typical data centre's PUE (assumed)
# What the developer asks for: two GPU trainings and one on CPUs (the built-in deterministic
# numpy trainer; ~10-30 ms a step here, a checkpoint every 20 steps).
TASKS = {
    "gpu-1": ("GPU-A100-80G", 2, "4", {"steps": 320, "features": 64, "samples": 50_000}),
    "gpu-2": ("GPU-A100-80G", 2, "4", {"steps": 320, "features": 64, "samples": 50_000}),
    "cpu": ("CPU-EPYC-64", 4, "0.5", {"steps": 80, "features": 32, "samples": 20_000}),
}


class StepFailed(Exception):
    """The story did not go as told; the message says what did not happen."""


@dataclass
class Demo:
    folder: Path
    ipfs: bool
    out: Callable[[str], None] = print
    chain: LocalChain | None = None
    ipfs_node: IpfsNode | None = None
    committee: Committee | None = None
    nodes: Contributors | None = None
    developer: Wallet | None = None
    cli: Cli | None = None
    timeline: Timeline | None = None
    names: Names = field(default_factory=Names)
    tasks: dict[str, int] = field(default_factory=dict)  # role in TASKS -> task id
    facts: dict[str, object] = field(default_factory=dict)  # what later steps need to know

    # ------------------------------------------------------------------ handles
    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    def need_chain(self) -> LocalChain:
        assert self.chain is not None, "the chain step runs first"
        return self.chain

    def need_nodes(self) -> Contributors:
        assert self.nodes is not None, "the contributors step runs first"
        return self.nodes

    def need_timeline(self) -> Timeline:
        assert self.timeline is not None, "the chain step runs first"
        return self.timeline

    def need_developer(self) -> Wallet:
        assert self.developer is not None, "the chain step runs first"
        return self.developer

    def need_committee(self) -> Committee:
        assert self.committee is not None, "the committee step runs first"
        return self.committee

    @property
    def ipfs_url(self) -> str | None:
        return self.ipfs_node.url if self.ipfs_node is not None else None

    @property
    def store(self) -> CheckpointStore:
        """The checkpoint store every agent reaches (and the specs live in)."""
        if self.ipfs_url:
            return IpfsStore(self.ipfs_url)
        return LocalStore(self.folder / "store")

    def note(self, kind: str, text: str) -> None:
        """A line of the driver's, after the chain's lines of every block so far."""
        timeline = self.need_timeline()
        timeline.poll()
        timeline.note(kind, text)

    def node_of(self, name: str) -> int:
        return self.need_nodes().by_name(name).node_id

    def stop(self) -> None:
        """Every process, newest first; the chain last (the others talk to it)."""
        if self.timeline is not None:
            self.timeline.stop()
        for part in (self.nodes, self.committee, self.ipfs_node, self.chain):
            if part is not None:
                part.stop()
        stop_all()


@dataclass(frozen=True)
class Step:
    name: str
    about: str
    run: Callable[[Demo], None]


# ====================================================================== the steps
def start_network_chain(demo: Demo) -> None:
    """Anvil with 2 s blocks, the contracts (minimum heartbeat timeout and failure grace: 60 s
    each), the wallets funded by the deployer, and the timeline following the chain."""
    if demo.ipfs:
        demo.ipfs_node = start_ipfs(demo.folder / "ipfs", demo.logs / "ipfs.log")
    developer_home = demo.folder / "developer"
    cli = Cli(demo.logs / "developer.log")
    demo.cli = cli
    wallets = [o.address for o in OFFERS] + [m.address for m in LOCAL_MEMBERS]
    developer_address = wallet_address("developer")
    chain = start_chain(
        demo.folder / "chain",
        block_time=BLOCK_TIME,
        fund=[*wallets, developer_address],
        fund_ver=1_000 * VER,
        log=demo.logs / "anvil.log",
    )
    demo.chain = chain
    demo.developer = Wallet("developer", developer_home, chain, cli).prepare()
    names = demo.names
    names.addresses = {o.address.lower(): o.name for o in OFFERS}
    names.addresses |= {m.address.lower(): m.name for m in LOCAL_MEMBERS}
    names.addresses[developer_address.lower()] = "the developer"
    names.addresses[chain.deployer.address.lower()] = "the deployer"
    names.classes = chain.record.class_names()
    params = chain.parameters()
    demo.facts["parameters"] = params
    demo.timeline = Timeline(chain, names, demo.out, start_block=chain.record.start_block)
    demo.note(
        "chain",
        f"Anvil as BASE Sepolia (chain {chain.chain_id}, a block every "
        f"{BLOCK_TIME} s) at {chain.url}"
        + (f"; IPFS node at {demo.ipfs_url}" if demo.ipfs else ""),
    )
    for name, address in chain.record.contracts.items():
        demo.note("deploy", f"{name:<18} {address}")
    demo.note(
        "deploy",
        f"recorded in {chain.record_path}; heartbeat timeout {params['heartbeatTimeout']} s, "
        f"failure grace {params['failureGrace']} s (the registry's minimums)",
    )
    demo.note(
        "wallets",
        f"the deployer funded {len(wallets) + 1} wallets with ETH for gas and "
        "1,000 VER each: 4 contributors, 4 committee members, 1 developer",
    )
    demo.need_timeline().start()


def start_committee(demo: Demo) -> None:
    """Four `verai oracle run` members of the local 3-of-4 committee, peers of each other."""
    chain = demo.need_chain()
    committee = make_committee(
        chain, demo.folder / "committee", ipfs_url=demo.ipfs_url, logs=demo.logs
    )
    demo.committee = committee.start()
    for m in committee.members:
        demo.note(
            "committee",
            f"{m.name} {m.address} up: peers on {m.peer_url}, "
            f"/metrics and /healthz on {m.metrics_url}",
        )


def start_contributors(demo: Demo) -> None:
    """Four `verai node run` agents: each registers its node (stake by permit) and beats."""
    chain = demo.need_chain()
    nodes = make_contributors(
        chain,
        demo.folder / "nodes",
        OFFERS,
        store=demo.folder / "store",
        logs=demo.logs,
        ipfs_url=demo.ipfs_url,
        progress_interval=0,
        slice_seconds=0.05,
        checkpoint_steps=20,
    )
    demo.nodes = nodes
    nodes.start(chain)
    for agent in nodes:
        power = (
            f"simulated GPU at {agent.offer.gpu_watts} W"
            if agent.offer.gpu_watts
            else f"estimated power (load x {agent.offer.tdp_watts} W)"
        )
        demo.note(
            "agent",
            f"{agent.name}'s agent (pid {agent.process.pid if agent.process else 0}) "
            f"runs node {agent.node_id}: {power}",
        )


def submit_tasks(demo: Demo) -> None:
    """The developer writes three task specs, publishes them and escrows VER for each with
    `verai task submit`."""
    developer = demo.need_developer()
    for role, (cls, units, cap, params) in TASKS.items():
        spec = {"workload": "linear-regression", "learning_rate": 0.05, **params}
        path = developer.home / f"{role}.json"
        path.write_text(json.dumps(spec, sort_keys=True) + "\n")
        if not demo.ipfs:  # `ipfs add` for the folder store; --ipfs-api does it below
            demo.store.put(path.read_bytes())
        document = developer.submit(
            cls, units, max_price=cap, duration="2h", spec=path, ipfs_api=demo.ipfs_url
        )
        demo.tasks[role] = int(document["task_id"])


def await_allocation(demo: Demo) -> None:
    """The committee allocates every task at the nodes' asks; every agent starts its work and
    commits checkpoints."""
    chain = demo.need_chain()
    timeline = demo.need_timeline()
    wanted = set(demo.tasks.values())
    wait_until(
        lambda: wanted <= {a.task for a in timeline.assignments.values()},
        timeout=60,
        what="the committee to allocate all three tasks",
    )
    first = {a.task: a for a in sorted(timeline.assignments.values(), key=lambda a: a.id)}
    gpu_1, gpu_2 = first[demo.tasks["gpu-1"]], first[demo.tasks["gpu-2"]]
    if gpu_1.node != demo.node_of("alice") or gpu_2.node != demo.node_of("bob"):
        raise StepFailed(
            f"expected the cheapest GPU nodes (alice's, then bob's) to get the GPU tasks, got "
            f"node {gpu_1.node} and node {gpu_2.node}"
        )
    demo.facts["alice_assignment"] = gpu_1.id
    demo.facts["bob_assignment"] = gpu_2.id
    for assignment in (gpu_1.id, gpu_2.id):
        wait_for_event(
            chain,
            "CheckpointRegistry",
            "CheckpointCommitted",
            first=chain.record.start_block,
            where=lambda e, a=assignment: int(e.args["assignmentId"]) == a,
            timeout=60,
            what=f"the first checkpoint of assignment {assignment}",
        )


def throttle_bob(demo: Demo) -> None:
    """Bob's GPU draws 520 W, over the class limit: his next heartbeat makes his node
    Throttled and the committee's next round moves his work to the node with the most free
    units, which resumes it from bob's last checkpoint. Back at 320 W, bob is Active again."""
    chain, nodes = demo.need_chain(), demo.need_nodes()
    bob = nodes.by_name("bob")
    since = chain.head()
    bob.set_gpu_watts(520)
    demo.note("power", f"bob's simulated GPU now draws 520 W (class limit {WATT_LIMIT_A100} W)")
    wait_for_event(
        chain,
        "NodeRegistry",
        "NodeStatusChanged",
        first=since,
        where=lambda e: int(e.args["nodeId"]) == bob.node_id and int(e.args["to"]) == 2,
        timeout=30,
        what="bob's node to become Throttled",
    )
    moved = int(str(demo.facts["bob_assignment"]))
    closed = wait_for_event(
        chain,
        "TaskMarket",
        "AssignmentClosed",
        first=since,
        where=lambda e: int(e.args["assignmentId"]) == moved and int(e.args["status"]) == 3,
        timeout=60,
        what=f"the committee to move assignment {moved} off the Throttled node",
    )
    created = wait_for_event(
        chain,
        "TaskMarket",
        "AssignmentCreated",
        first=closed.block_number,
        where=lambda e: int(e.args["resumesFrom"]) == moved,
        timeout=30,
        what=f"the assignment that resumes {moved}",
    )
    target = nodes.by_node(int(created.args["nodeId"]))
    new = int(created.args["assignmentId"])
    demo.facts["moved_to"] = (target.name, new)
    resumed = target.wait_for(
        rf"assignment {new} of task \d+: .* resumes assignment {moved} "
        r"at step (\d+)",
        timeout=60,
    )
    bob.wait_for(rf"assignment {moved} is Moved on chain: stopped at step \d+", timeout=60)
    demo.note("resume", f"{target.name}'s agent: {resumed.group(0)}")
    bob.set_gpu_watts(320)
    since = chain.head()
    wait_for_event(
        chain,
        "NodeRegistry",
        "NodeStatusChanged",
        first=since,
        where=lambda e: int(e.args["nodeId"]) == bob.node_id and int(e.args["to"]) == 1,
        timeout=30,
        what="bob's node to become Active again at 320 W",
    )


def kill_alice(demo: Demo) -> None:
    """kill -9 of alice's agent between two checkpoints: what it computed since its last
    commit is lost and will never be paid."""
    chain, nodes = demo.need_chain(), demo.need_nodes()
    alice = nodes.by_name("alice")
    assignment = int(str(demo.facts["alice_assignment"]))

    def between_checkpoints() -> int:
        committed = [
            int(e["step"])
            for e in alice.events("checkpoint")
            if e.get("assignment") == assignment and "block" in e
        ]
        last = max(committed, default=0)
        steps = [int(e["step"]) for e in alice.events("step") if e.get("assignment") == assignment]
        step = max(steps, default=0)
        return step if last >= 40 and step % 20 and step > last else 0

    computed = wait_until(
        between_checkpoints,
        timeout=90,
        interval=0.02,
        what="alice's agent to be between two checkpoints",
    )
    pid = alice.process.pid if alice.process else 0
    alice.kill9()
    # a commit it had sent may still land: the chain's word is what counts
    wait_until(
        lambda: not chain.request("txpool_content")["pending"].get(alice.address.lower()),
        timeout=30,
        what="alice's last transactions to be mined",
    )
    step = int(chain.assignment(assignment)["checkpointStep"])
    demo.facts["alice_lost_from"] = step
    demo.note(
        "KILL -9",
        f"alice's agent (pid {pid}) at step {computed} of assignment "
        f"{assignment}; its last checkpoint on chain is step {step}: steps {step + 1}-"
        f"{computed} are lost and never paid",
    )


def suspect_alice(demo: Demo) -> None:
    """The chain's clock moves past alice's heartbeat timeout in one block that carries the
    other agents' own heartbeats; a committee member's keeper reports alice suspected."""
    chain, nodes = demo.need_chain(), demo.need_nodes()
    alice = nodes.by_name("alice")
    params = demo.facts["parameters"]
    assert isinstance(params, dict)
    last_beat = int(chain.node(alice.node_id)["lastHeartbeatAt"])
    since = chain.head()
    alive = [a.address for a in nodes.alive()]
    target = last_beat + params["heartbeatTimeout"] + 1
    block = jump(
        demo, target, alive, f"past alice's heartbeat timeout ({params['heartbeatTimeout']} s)"
    )
    wait_for_event(
        chain,
        "NodeRegistry",
        "NodeSuspected",
        first=since,
        where=lambda e: int(e.args["nodeId"]) == alice.node_id,
        timeout=60,
        what="a committee member to report alice's node suspected",
    )
    demo.facts["jump_block"] = block


def fail_alice(demo: Demo) -> None:
    """After the failure grace without a heartbeat, a member fails alice's node (slash, bounty,
    compensation fixed per unit) and settles its running work in pages."""
    chain, nodes = demo.need_chain(), demo.need_nodes()
    alice = nodes.by_name("alice")
    suspected = chain.events("NodeRegistry", "NodeSuspected", chain.record.start_block)[-1]
    since = chain.head()
    jump(
        demo,
        int(suspected.args["failableAt"]),
        [a.address for a in nodes.alive()],
        "to the end of alice's failure grace",
    )
    wait_for_event(
        chain,
        "NodeRegistry",
        "NodeFailed",
        first=since,
        where=lambda e: int(e.args["nodeId"]) == alice.node_id,
        timeout=60,
        what="a committee member to fail alice's node",
    )
    wait_for_event(
        chain,
        "TaskMarket",
        "NodeFailureSettled",
        first=since,
        where=lambda e: int(e.args["nodeId"]) == alice.node_id,
        timeout=60,
        what="a committee member to settle alice's running work",
    )


def reassign_alice_work(demo: Demo) -> None:
    """The committee's next round reassigns the failed work by VRF among the eligible nodes
    (weight = free units); the picked node's agent resumes from alice's last checkpoint CID,
    re-hashing the bytes it fetched from the store."""
    chain, nodes = demo.need_chain(), demo.need_nodes()
    failed = int(str(demo.facts["alice_assignment"]))
    created = wait_for_event(
        chain,
        "TaskMarket",
        "AssignmentReassigned",
        first=chain.record.start_block,
        where=lambda e: int(e.args["failedAssignmentId"]) == failed,
        timeout=90,
        what=f"a VRF reassignment of assignment {failed}",
    )
    new = int(created.args["newAssignmentId"])
    target = nodes.by_node(int(chain.assignment(new)["nodeId"]))
    resumed = target.wait_for(
        rf"assignment {new} of task \d+: .* resumes assignment {failed} "
        r"at step (\d+)",
        timeout=60,
    )
    if int(resumed.group(1)) != demo.facts["alice_lost_from"]:
        raise StepFailed(
            f"{target.name} resumed at step {resumed.group(1)}, not at alice's "
            f"last checkpoint (step {demo.facts['alice_lost_from']})"
        )
    demo.facts["reassigned_to"] = (target.name, new)
    demo.note("resume", f"{target.name}'s agent: {resumed.group(0)}")


# issue 14 (verified work) adds its step here: a cheating agent whose checkpoint a re-executing
# node contradicts is caught by the committee, slashed, and its work resumed elsewhere.


def await_completion(demo: Demo) -> None:
    """Every task completes; each part's final model is byte-identical to an uninterrupted run
    of the same part (computed here with the same workload library)."""
    chain = demo.need_chain()
    wanted = set(demo.tasks.values())
    wait_until(
        lambda: (
            wanted
            <= {
                int(e.args["taskId"])
                for e in chain.events("TaskMarket", "TaskCompleted", chain.record.start_block)
            }
        ),
        timeout=120,
        what="every task to complete",
    )
    from scripts._network_checks import final_models

    for model in final_models(chain, demo.store):
        verdict = "byte-identical to an uninterrupted run" if model.same else "DIFFERENT"
        demo.note(
            "model",
            f"task {model.task}, part {model.root}: final model of assignment "
            f"{model.assignment} {model.cid} is {verdict}",
        )
        if not model.same:
            raise StepFailed(
                f"assignment {model.assignment}'s final model {model.cid} differs "
                f"from an uninterrupted run's {model.expected}"
            )


def settle_money(demo: Demo) -> None:
    """The developer takes the unused escrow back (`verai task refund`) and the compensation of
    alice's failure (`verai compensation claim`); every contributor withdraws what its node
    earned and its agent has not withdrawn yet (`verai earnings withdraw`; alice too: a failed
    node's owner keeps what its checkpoints earned)."""
    chain, developer = demo.need_chain(), demo.need_developer()
    for task in demo.tasks.values():
        developer.refund(task)
    developer.claim_compensation()
    market, token = chain.contracts.market, chain.contracts.token
    for agent in demo.need_nodes():
        if market.functions.earningsOf(agent.address).call():
            Wallet(agent.name, agent.home, chain, developer.cli).verai(
                "earnings", "withdraw", "--yes"
            )
    demo.need_timeline().wait_until_shown(chain.head())
    for agent in demo.need_nodes():
        stake = chain.node(agent.node_id)["stake"]
        held = token.functions.balanceOf(agent.address).call()
        demo.note(
            "wallet",
            f"{agent.name}: {format_ver(held)} VER in the wallet, {format_ver(stake)} VER staked",
        )
    held = token.functions.balanceOf(developer.address).call()
    demo.note("wallet", f"the developer: {format_ver(held)} VER in the wallet (of 1,000)")


def energy_report(demo: Demo) -> None:
    """`verai energy report` over the whole story, from the chain alone: kWh per node, class and
    task with their measurement source, the declared renewable share, the throttling, and the
    efficiency gain against a data centre of PUE 1.58 (the inputs printed with it); the plots
    in build/demo/energy.png. A trimmed excerpt is shown, the whole report is in energy.txt."""
    png = demo.folder / "energy.png"
    args = ("energy", "report", "--baseline-pue", DATA_CENTRE_PUE, "--png", str(png))
    text = demo.need_developer().verai(*args).stdout
    (demo.folder / "energy.txt").write_text(text)
    doc = demo.need_developer().verai_json("energy", "report", "--baseline-pue", DATA_CENTRE_PUE)
    (demo.folder / "energy.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = text.splitlines()
    table = lines.index("") + 1  # the summary, then the class table
    for line in lines[: lines.index("", table)]:
        if line.strip():
            demo.note("energy", line[2:] if line.startswith("  ") else line)
    if not doc["network"]["energy_j"] or not png.stat().st_size:
        raise StepFailed("the energy report shows no energy or wrote an empty PNG")
    demo.note("energy", f"plots in {png}, the whole report in {demo.folder / 'energy.txt'}")


def audit_rounds(demo: Demo) -> None:
    """`verai audit --all` re-solves every committee round from its published document."""
    chain, cli = demo.need_chain(), demo.cli
    assert cli is not None
    from scripts._network_checks import audited

    check = audited(cli, chain, demo.need_committee().audit_flags())
    demo.note("audit", check.detail)
    if not check.ok:
        raise StepFailed(check.detail)


def check_invariants(demo: Demo) -> None:
    """The two escrow identities and the suite's other invariants, from the chain alone."""
    chain, cli = demo.need_chain(), demo.cli
    assert cli is not None
    identities = conservation(chain)
    failed = []
    for check in all_checks(chain, demo.store, cli, demo.need_committee().audit_flags()):
        if check.name == "every round auditable":
            continue  # the audit step ran it
        demo.note("invariant", check.line())
        if not check.ok:
            failed.append(check.name)
    if not identities.ok or failed:
        raise StepFailed("invariant(s) broken: " + ", ".join(failed or [identities.name]))


STEPS = [
    Step(
        "chain",
        "a chain posing as BASE Sepolia, the contracts, funded wallets",
        start_network_chain,
    ),
    Step("committee", "four oracle members, 3 of 4 sign", start_committee),
    Step("contributors", "four node agents register and beat", start_contributors),
    Step("tasks", "a developer escrows three tasks", submit_tasks),
    Step("allocation", "the committee allocates, the nodes train and checkpoint", await_allocation),
    Step("throttle", "a node over its watt limit is relieved of its work", throttle_bob),
    Step("kill", "kill -9 of a node's agent between two checkpoints", kill_alice),
    Step("suspicion", "the committee suspects the silent node", suspect_alice),
    Step("failure", "the committee fails it and settles its work", fail_alice),
    Step("reassignment", "a VRF reassignment; another node resumes", reassign_alice_work),
    # issue 14: Step("verified-work", "a cheating node is caught and slashed", ...),
    Step("completion", "every task completes with an uninterrupted run's bytes", await_completion),
    Step("money", "refunds, compensation, earnings", settle_money),
    Step("energy", "the energy report: kWh, sources, renewable share, efficiency", energy_report),
    Step("audit", "every committee round re-solved", audit_rounds),
    Step("invariants", "nothing lost, nothing paid twice", check_invariants),
]


def jump(demo: Demo, to_timestamp: int, alive: list[str], why: str) -> int:
    chain = demo.need_chain()
    before = chain.timestamp()
    block = chain.jump(to_timestamp, alive=alive)
    names = ", ".join(demo.names.who(a) for a in alive)
    demo.note(
        "clock",
        f"chain time +{chain.timestamp(block) - before} s {why}, in block {block}"
        f" which carries the heartbeats of {names}",
    )
    return block


# ====================================================================== running it
def run(demo: Demo, steps: list[Step]) -> int:
    started = time.monotonic()
    for number, step in enumerate(steps, 1):
        demo.out(f"\n== step {number}/{len(steps)} {step.name}: {step.about}")
        try:
            step.run(demo)
            if demo.timeline is not None:
                demo.timeline.poll()  # the step's last events before the next step's title
        except (StepFailed, ProcessError, ChainStepError, CliFailed, AssertionError) as exc:
            return fail(demo, step, str(exc))
        except KeyboardInterrupt:
            return fail(demo, step, "interrupted")
        except Exception as exc:  # a bug in the driver or a library: still one line, logs kept
            return fail(demo, step, f"{type(exc).__name__}: {exc}")
    if demo.timeline is not None:
        demo.timeline.stop()
        beats = ", ".join(
            f"{demo.names.node(n)} {c}" for n, c in sorted(demo.timeline.heartbeats.items())
        )
        demo.out(f"\nheartbeats on chain: {beats}")
    demo.stop()
    seconds = time.monotonic() - started
    demo.out(f"wall time {seconds:.0f} s; logs of every process in {demo.logs}")
    demo.out("demo finished: every step succeeded")
    return 0


def fail(demo: Demo, step: Step, message: str) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "no detail"
    try:
        demo.stop()
    finally:
        demo.out(f"\ndemo failed at step '{step.name}': {first}")
        demo.out(f"every process is stopped; the logs of each are in {demo.logs}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ipfs",
        action="store_true",
        help="checkpoints, specs and round documents on a real IPFS node "
        "(js-ipfs, `make deps-ipfs`) instead of a shared folder",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=ROOT / "build" / "demo",
        help="where the demo keeps its state and logs (emptied first)",
    )
    args = parser.parse_args(argv)
    if args.folder.exists():
        shutil.rmtree(args.folder)
    (args.folder / "logs").mkdir(parents=True)
    lines: list[str] = []
    printing = threading.Lock()  # the timeline's thread and the steps print one story

    def out(line: str) -> None:
        with printing:
            lines.append(line)
            print(line, flush=True)

    demo = Demo(args.folder, args.ipfs, out)
    try:
        code = run(demo, STEPS)
    finally:
        (args.folder / "timeline.txt").write_text("\n".join(lines) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
