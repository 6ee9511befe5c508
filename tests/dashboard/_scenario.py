"""A small, fixed history on a real local chain for the dashboard to show: five nodes of three
classes (one with a hostile metadata URI), three tasks (one with a hostile spec URI), a report
with an applied and a skipped entry, heartbeats at known times and watts, checkpoints, a node
that stops heartbeating and is failed, its assignment settled and reassigned by VRF, a
completion, and one committee round computed, published and transmitted the way a member does
it (so `verai audit` can re-solve it).

Everything the tests assert is recorded here as it is sent (ids from the receipts, heartbeat
times from the blocks), never assumed.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle import vrf
from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.checkpoints import LocalStore
from oracle.cid import cid_bytes_for
from oracle.reports import AllocationEntry, Candidate, Report, prove_reassignment
from oracle.store import Database
from scripts._committee import LOCAL_VRF_SECRET
from tests._localnet import CPU, GPU, RTX, VER, Localnet, Reverted

HOSTILE_METADATA = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
HOSTILE_SPEC = "</td><script>window.__pwned=3</script><b onmouseover=alert(1)>spec</b>"
FAILED = 3


@dataclass(frozen=True)
class Beat:
    node: int
    timestamp: int
    load_bps: int
    watts: int
    counter_j: int = 0  # the node's energy counter sent with it (0: none, estimated)


COUNTER_STEP_J = 90_000  # what a counter node's counter grows by between two heartbeats


@dataclass
class Scenario:
    net: Localnet
    store_folder: Path
    nodes: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    assignments: dict[str, int] = field(default_factory=dict)
    beats: list[Beat] = field(default_factory=list)
    checkpoints: dict[int, list[tuple[int, bytes]]] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    receipts: dict[int, dict[str, Any]] = field(default_factory=dict)
    owners: dict[int, Any] = field(default_factory=dict)
    registered_at: dict[int, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)  # nodes that send energy counters
    declarations: list[tuple[int, int, str, int]] = field(default_factory=list)  # node, bps, uri, t
    escrowed: dict[int, int] = field(default_factory=dict)  # task id -> escrow at submission
    start: int = 0

    @property
    def c(self) -> Any:
        return self.net.contracts

    # ------------------------------------------------------------------ helpers
    def at(self, seconds: int) -> None:
        """The next transaction's block is `seconds` after the latest block."""
        self.net.rpc_call("evm_setNextBlockTimestamp", self.net.timestamp() + seconds)

    def _logs(self, receipt: dict[str, Any], name: str) -> list[Any]:
        from oracle.chain.events import decode_logs

        return [
            e for e in decode_logs(receipt["logs"], self.c.names_by_address()) if e.name == name
        ]

    def register(
        self, name: str, owner: int, cls: bytes, capacity: int, price: int, stake: int, uri: str
    ) -> int:
        account = self.net.account(owner)
        receipt = self.net.send(
            self.c.registry.functions.register(cls, capacity, price, stake, uri), account
        )
        node_id = int(self._logs(receipt, "NodeRegistered")[0].args["nodeId"])
        self.nodes[name] = node_id
        self.owners[node_id] = account
        self.registered_at[node_id] = self.net.timestamp(int(receipt["blockNumber"], 16))
        return node_id

    def heartbeat(self, name: str, load_bps: int, watts: int) -> None:
        """The node's heartbeat; a node in `counters` sends its energy counter (measured), which
        grows by COUNTER_STEP_J per heartbeat after the first."""
        node = self.nodes[name]
        registry = self.c.registry
        counter = 0
        if name in self.counters:
            if any(b.node == node for b in self.beats):
                self.counters[name] += COUNTER_STEP_J
            counter = self.counters[name]
            call = registry.get_function_by_signature("heartbeat(uint256,uint256,uint256,uint256)")(
                node, load_bps, watts, counter
            )
        else:
            call = registry.get_function_by_signature("heartbeat(uint256,uint256,uint256)")(
                node, load_bps, watts
            )
        receipt = self.net.send(call, self.owners[node])
        block = int(receipt["blockNumber"], 16)
        self.beats.append(Beat(node, self.net.timestamp(block), load_bps, watts, counter))

    def declare(self, name: str, bps: int, uri: str) -> None:
        """The owner declares the node's renewable share (RenewableShareDeclared)."""
        node = self.nodes[name]
        receipt = self.net.send(
            self.c.registry.functions.declareRenewableShare(node, bps, uri), self.owners[node]
        )
        timestamp = self.net.timestamp(int(receipt["blockNumber"], 16))
        self.declarations.append((node, bps, uri, timestamp))

    def submit(
        self,
        name: str,
        developer: int,
        cls: bytes,
        units: int,
        max_price: int,
        duration: int,
        spec: str,
    ) -> int:
        receipt = self.net.send(
            self.c.market.functions.submitTask(cls, units, max_price, duration, spec),
            self.net.account(developer),
        )
        submitted = self._logs(receipt, "TaskSubmitted")[0].args
        task_id = int(submitted["taskId"])
        self.tasks[name] = task_id
        self.escrowed[task_id] = int(submitted["escrow"])
        return task_id

    def transmit(self, name: str, report: Report) -> dict[str, Any]:
        self.net.mine()  # the snapshot block must be below the block that applies the report
        receipt = self.net.transmit(report)
        self.rounds[name] = report.round
        self.receipts[report.round] = receipt
        return receipt

    def commit(self, assignment: int, step: int, node: int) -> None:
        cid = cid_bytes_for(f"checkpoint {assignment} step {step}".encode())
        self.net.send(self.c.checkpoints.functions.commit(assignment, step, cid), self.owners[node])
        self.checkpoints.setdefault(assignment, []).append((step, cid))

    def fail(self, name: str, alive: dict[str, tuple[int, int]]) -> None:
        """Reports the silent node until it is Failed: one report on a one-step registry; on a
        two-step one a suspicion, then (the failure grace later, the `alive` nodes keeping
        their heartbeats) the report that fails it."""
        node = self.nodes[name]
        reporter = self.net.account(9)
        outputs = next(
            f["outputs"][0].get("components", [])
            for f in self.c.registry.abi
            if f.get("type") == "function" and f.get("name") == "parameters"
        )
        fields = [c["name"] for c in outputs]
        values = self.c.registry.functions.parameters().call()
        grace = int(values[fields.index("failureGrace")]) if "failureGrace" in fields else 0
        for _ in range(2):
            with contextlib.suppress(Reverted):
                self.net.send(self.c.registry.functions.reportFailure(node), reporter)
            if self.c.registry.functions.getNode(node).call()[2] == FAILED:
                return
            self.at(grace + 1)
            for other, (load, watts) in alive.items():
                self.heartbeat(other, load, watts)
        raise AssertionError(f"node {node} could not be failed")

    # ------------------------------------------------------------------ the committee's round
    def committee_round(self, mirror_db: Path) -> int:
        """One round as a member computes it (oracle.service): inputs read from a mirror at a
        snapshot block, solved, published to the LocalStore, its reports signed by the local
        committee and transmitted. Returns its first round number."""
        from oracle.service.document import build_document
        from oracle.service.inputs import GasTable, Parameters
        from oracle.service.reader import RoundReader
        from oracle.service.solve import solve

        db = Database(mirror_db)
        mirror = Mirror(db)
        ingestor = Ingestor(
            self.net.rpc,
            db,
            addresses=self.c.ingest_addresses(),
            contract_of=self.c.names_by_address(),
            sinks=[mirror],
            start_block=self.net.record.start_block,
        )
        ingestor.catch_up()
        block = ingestor.cursor()[0]
        reader = RoundReader(
            mirror,
            ingestor,
            self.net.rpc,
            chain_id=self.net.chain_id,
            market=str(self.c.market.address),
            verifier=str(self.c.verifier.address),
        )
        first = self.net.next_round()
        inputs = reader.inputs(
            first,
            block,
            Parameters(
                theta_bps=2_000,
                overload_margin_bps=5_000,
                gas_cap=10_000_000,
                threshold=3,
                gas=GasTable(),
            ),
        )
        solution = solve(inputs, lambda alpha: vrf.prove(LOCAL_VRF_SECRET, alpha))
        document = build_document(inputs, solution)
        LocalStore(self.store_folder).put(document.data)
        self.net.mine()
        for report in document.reports():
            receipt = self.net.transmit(report)
            self.receipts[report.round] = receipt
        db.close()
        self.rounds["committee"] = first
        return first


def drive(net: Localnet, folder: Path) -> Scenario:
    """Builds the history (about 60 transactions, a few seconds)."""
    s = Scenario(net, folder / "round-documents")
    for i in (1, 2, 3, 4, 5, 7, 8, 9):
        net.fund(net.account(i))
    s.start = net.timestamp()
    s.register("a100-1", 1, GPU, 8, 2 * VER, 100 * VER, "ipfs://bafy-node-a100-1")
    s.register("a100-2", 2, GPU, 4, 3 * VER, 100 * VER, "https://operator.example/a100-2")
    s.register("rtx", 3, RTX, 6, 3 * VER // 2, 50 * VER, HOSTILE_METADATA)
    s.register("a100-3", 4, GPU, 4, 5 * VER // 2, 100 * VER, "ipfs://bafy-node-a100-3")
    s.register("cpu", 5, CPU, 16, VER // 2, 10 * VER, "ipfs://bafy-node-cpu")
    loads = {
        "a100-1": (6_000, 300),
        "a100-2": (2_500, 350),
        "rtx": (4_000, 420),
        "a100-3": (7_000, 380),
        "cpu": (1_000, 120),
    }
    s.counters["a100-1"] = 5_000_000  # a100-1 has a hardware energy counter (measured)
    s.at(60)
    for name, (load, watts) in loads.items():
        s.heartbeat(name, load, watts)
    # renewable shares, as the owners declare them (a100-1 and a100-3 declare none)
    s.declare("rtx", 8_000, "https://operator.example/rtx-green-tariff.pdf")
    s.declare("cpu", 10_000, "ipfs://bafy-certificate-cpu")
    s.declare("a100-2", 5_000, "")
    s.submit("train", 7, GPU, 6, 3 * VER, 7_200, "ipfs://bafy-spec-train")
    s.submit("render", 8, RTX, 2, 2 * VER, 7_200, HOSTILE_SPEC)
    # round 1, by hand: three allocations and one that cannot apply (a CPU node for a GPU task)
    n, t = s.nodes, s.tasks
    snapshot = net.head()
    receipt = s.transmit(
        "manual",
        Report(
            net.config_digest(),
            net.next_round(),
            snapshot,
            b"\x11" * 32,
            allocations=(
                AllocationEntry(t["train"], n["a100-1"], 4, 2 * VER),
                AllocationEntry(t["train"], n["a100-3"], 2, 5 * VER // 2),
                AllocationEntry(t["render"], n["rtx"], 2, 3 * VER // 2),
                AllocationEntry(t["train"], n["cpu"], 1, VER // 2),
            ),
        ),
    )
    created = [int(e.args["assignmentId"]) for e in s._logs(receipt, "AssignmentCreated")]
    s.assignments.update(zip(("train@a100-1", "train@a100-3", "render@rtx"), created, strict=True))
    a = s.assignments
    # work: three heartbeats five minutes apart, a checkpoint each time
    for step in (1, 2, 3):
        s.at(300)
        for name, (load, watts) in loads.items():
            s.heartbeat(name, load, watts + 10 * step)
        s.commit(a["train@a100-1"], step * 10, n["a100-1"])
        s.commit(a["train@a100-3"], step * 10, n["a100-3"])
        s.commit(a["render@rtx"], step * 5, n["rtx"])
    # a100-3 falls silent; the others keep their heartbeats within the timeout
    silent = dict(loads)
    del silent["a100-3"]
    for _ in range(2):
        s.at(600)
        for name, (load, watts) in silent.items():
            s.heartbeat(name, load, watts)
    s.fail("a100-3", silent)
    for name, (load, watts) in silent.items():
        s.heartbeat(name, load, watts)
    failed = a["train@a100-3"]
    net.send(
        net.contracts.market.functions.settleNodeFailure(n["a100-3"], [failed]), net.account(9)
    )
    # round 2: the failed assignment's units go to a node the VRF picks
    task = net.contracts.market.functions.getTask(t["train"]).call()
    free = {
        node: c[3] - c[4]
        for node in (n["a100-1"], n["a100-2"])
        if (c := net.contracts.registry.functions.getNode(node).call())
    }
    market_functions = {f["name"] for f in net.contracts.market.abi if f["type"] == "function"}
    draw = (
        int(net.contracts.market.functions.drawsOf(failed).call())
        if "drawsOf" in market_functions
        else 0  # the committed market binds attempt = assignment id (draw 0)
    )
    entry = prove_reassignment(
        LOCAL_VRF_SECRET,
        chain_id=net.chain_id,
        market=net.contracts.market.address,
        task_id=t["train"],
        task_seed=int(task[7]).to_bytes(32, "big"),
        assignment_id=failed,
        draw=draw,
        candidates=[Candidate(node, units) for node, units in sorted(free.items())],
    )
    receipt = s.transmit(
        "reassignment",
        Report(
            net.config_digest(), net.next_round(), net.head(), b"\x33" * 32, reassignments=(entry,)
        ),
    )
    resumed = int(s._logs(receipt, "AssignmentCreated")[0].args["assignmentId"])
    a["train@resumed"] = resumed
    s.nodes["resumer"] = entry.node_id
    s.declare("a100-2", 6_000, "https://operator.example/a100-2-ppa.pdf")  # a change
    s.at(300)
    s.commit(resumed, 40, entry.node_id)
    s.commit(a["train@a100-1"], 40, n["a100-1"])
    # render completes on the RTX node (paid up to its final checkpoint)
    final = cid_bytes_for(b"render final")
    net.send(net.contracts.market.functions.complete(a["render@rtx"], final), s.owners[n["rtx"]])
    s.checkpoints.setdefault(a["render@rtx"], []).append((15, final))
    for name, (load, watts) in silent.items():
        s.heartbeat(name, load, watts)
    # a CPU task for the committee's own round: allocated, published, auditable
    s.submit("batch", 7, CPU, 4, VER, 7_200, "ipfs://bafy-spec-batch")
    s.committee_round(folder / "member-mirror.sqlite")
    return s


def dump(s: Scenario) -> str:
    """What was driven, for failure messages."""
    return json.dumps(
        {"nodes": s.nodes, "tasks": s.tasks, "assignments": s.assignments, "rounds": s.rounds},
        indent=1,
    )
