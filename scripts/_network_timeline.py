"""The story as the chain tells it: every event of the deployment that matters, one line each, in
chain order, with who did it by name (members, contributors, the developer) and VER in VER.

A `Timeline` follows the chain from a background thread (every block, by `eth_getLogs`) and
hands each line to its writer; the driver adds its own lines (a kill -9, a clock jump) through
`note`, so one writer prints one story. Heartbeats are counted, not shown, except the one that
changes a node's status. Everything seen is kept for the checks at the end.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby

from oracle.chain.events import ChainEvent
from oracle.chain.mirror import ASSIGNMENT_STATUS, NODE_STATUS
from oracle.cid import cid_from_bytes, onchain_to_cid
from oracle.service.transmitter import reason_name
from oracle.units import format_ver
from scripts._network_chain import LocalChain

RAW_CODEC = 0x55
Writer = Callable[[str], None]


def ver(wei: int) -> str:
    return f"{format_ver(int(wei))} VER"


@dataclass
class Names:
    """Who is who: addresses and node ids by name."""

    addresses: dict[str, str] = field(default_factory=dict)  # lower-case address -> name
    nodes: dict[int, str] = field(default_factory=dict)  # node id -> owner's name
    classes: dict[bytes, str] = field(default_factory=dict)

    def who(self, address: str) -> str:
        return self.addresses.get(str(address).lower(), str(address)[:10] + "…")

    def node(self, node_id: int) -> str:
        name = self.nodes.get(int(node_id))
        return f"node {node_id}" + (f" ({name})" if name else "")

    def cls(self, key: bytes) -> str:
        return self.classes.get(bytes(key), "0x" + bytes(key).hex()[:8])


@dataclass(frozen=True)
class Line:
    seconds: float  # since the timeline started
    block: int
    kind: str
    text: str

    def render(self) -> str:
        block = f"#{self.block}" if self.block >= 0 else ""
        return f"{self.seconds:6.1f}s {block:>5}  {self.kind:<12} {self.text}"


@dataclass
class Assignment:
    id: int
    task: int
    node: int
    units: int
    price: int


class Timeline:
    def __init__(
        self, chain: LocalChain, names: Names, write: Writer, *, start_block: int = 0
    ) -> None:
        self.chain = chain
        self.names = names
        self._write = write
        self._cursor = start_block - 1
        self._started = time.monotonic()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lines: list[Line] = []
        self.events: list[ChainEvent] = []
        self.assignments: dict[int, Assignment] = {}
        self.heartbeats: Counter[int] = Counter()
        self.error: str | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    # ------------------------------------------------------------------ following the chain
    def start(self) -> Timeline:
        self._thread = threading.Thread(target=self._follow, name="timeline", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(Exception):  # whatever the last blocks hold, if still there
            self.poll()

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
                self.error = None
            except Exception as exc:  # the chain going away at the end, a slow RPC: retried
                self.error = str(exc)
            self._stop.wait(0.5)

    def poll(self) -> None:
        """Reads and shows the events of the blocks since the last poll."""
        with self._lock:
            head = self.chain.head()
            if head <= self._cursor:
                return
            events = self.chain.logs(self._cursor + 1, head)
            self._cursor = head
            self.events.extend(events)
            for _, group in groupby(events, key=lambda e: e.tx_hash):
                for kind, text, block in self._describe(list(group)):
                    self._emit(block, kind, text)

    def note(self, kind: str, text: str, block: int | None = None) -> None:
        """A line of the driver's own (a process killed, the clock moved, a check)."""
        with self._lock:
            self._emit(-1 if block is None else block, kind, text)

    def _emit(self, block: int, kind: str, text: str) -> None:
        line = Line(self.elapsed, block, kind, text)
        self.lines.append(line)
        self._write(line.render())

    def wait_until_shown(self, block: int, timeout: float = 30) -> None:
        """Until every event up to `block` has been read (and shown)."""
        deadline = time.monotonic() + timeout
        while self._cursor < block and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.1)

    # ------------------------------------------------------------------ one transaction
    def _describe(self, events: list[ChainEvent]) -> list[tuple[str, str, int]]:
        """The lines of one transaction's events."""
        report = next((e for e in events if e.name == "ReportAccepted"), None)
        if report is not None:
            return self._report(events, report)
        out = []
        for e in events:
            if e.name == "HeartbeatRecorded":
                self.heartbeats[int(e.args["nodeId"])] += 1
                continue
            shown = self._one(e, events)
            if shown is not None:
                out.append((shown[0], shown[1], e.block_number))
        return out

    def _one(self, e: ChainEvent, tx: list[ChainEvent]) -> tuple[str, str] | None:
        n, a = self.names, e.args
        name = e.name
        if name == "NodeRegistered":
            n.nodes.setdefault(int(a["nodeId"]), n.who(a["owner"]))
            return "node", (
                f"{n.node(a['nodeId'])} registered: {a['capacity']} x "
                f"{n.cls(a['resourceClass'])} at {ver(a['pricePerUnitHour'])}/unit-h, "
                f"stake {ver(a['stake'])}"
            )
        if name == "NodeStatusChanged" and NODE_STATUS[a["to"]] != "Failed":  # see NodeFailed
            beat = next((h for h in tx if h.name == "HeartbeatRecorded"), None)
            why = f" (its heartbeat says {beat.args['watts']} W)" if beat is not None else ""
            change = f"{NODE_STATUS[a['from']]} -> {NODE_STATUS[a['to']]}"
            return "status", f"{n.node(a['nodeId'])} {change}{why}"
        if name == "NodeSuspected":
            grace = int(a["failableAt"]) - self.chain.timestamp(e.block_number)
            return "suspicion", (
                f"{n.node(a['nodeId'])} suspected by {n.who(a['reporter'])}: no heartbeat "
                f"within the timeout; it fails unless it beats in the next {grace} s"
            )
        if name == "NodeFailed":
            return "failure", (
                f"{n.node(a['nodeId'])} failed, reported by {self._sender(e)}: slashed "
                f"{ver(a['slashed'])} = bounty {ver(a['bounty'])} to {n.who(a['reporter'])} + "
                f"{ver(a['burned'])} burned + {ver(a['compensationHeld'])} held for developers "
                f"({ver(a['compensationPerUnit'])}/unit x {a['units']})"
            )
        if name == "NodeFailureSettled":
            closed = [str(c.args["assignmentId"]) for c in tx if c.name == "AssignmentClosed"]
            return "settlement", (
                f"{n.node(a['nodeId'])}: one page settled by {self._sender(e)}: assignment(s) "
                f"{', '.join(closed) or 'none'} stop at their last checkpoint, {a['units']} "
                f"unit(s) back to their tasks, {ver(a['compensation'])} credited to developers"
            )
        if name == "TaskSubmitted":
            return "task", (
                f"task {a['taskId']} submitted by {n.who(a['developer'])}: {a['units']} x "
                f"{n.cls(a['resourceClass'])} at most {ver(a['maxPricePerUnitHour'])}/unit-h, "
                f"escrow {ver(a['escrow'])}, spec {a['specURI']}"
            )
        if name == "CheckpointCommitted":
            return self._checkpoint(e)
        if name == "AssignmentClosed" and not any(t.name == "NodeFailureSettled" for t in tx):
            status = ASSIGNMENT_STATUS[int(a["status"])]
            return "assignment", (
                f"assignment {a['assignmentId']} of task {a['taskId']} on "
                f"{n.node(a['nodeId'])} {status}: earned {ver(a['earned'])}"
            )
        return self._money(e)

    def _money(self, e: ChainEvent) -> tuple[str, str] | None:
        n, a = self.names, e.args
        simple: dict[str, Callable[[], tuple[str, str]]] = {
            "TaskCompleted": lambda: ("task", f"task {a['taskId']} completed"),
            "TaskCancelled": lambda: ("task", (
                f"task {a['taskId']} cancelled by its developer with {a['runningUnits']} "
                f"unit(s) running: their nodes may still checkpoint and complete for "
                f"{self._from_now(e, a['checkpointsCloseAt'])} s")),
            "TaskRefunded": lambda: ("refund", (
                f"{n.who(a['developer'])} got {ver(a['amount'])} of task {a['taskId']}'s "
                "escrow back")),
            "EarningsWithdrawn": lambda: ("payment", (
                f"{n.who(a['account'])} withdrew {ver(a['amount'])} of earnings")),
            "CompensationWithdrawn": lambda: ("compensation", (
                f"{n.who(a['account'])} claimed {ver(a['amount'])} of compensation")),
            "ExitRequested": lambda: ("exit", (
                f"{n.node(a['nodeId'])} is leaving: its stake unbonds for "
                f"{self._from_now(e, a['unbondingEndsAt'])} s")),
            "StakeWithdrawn": lambda: ("exit", (
                f"{n.node(a['nodeId'])}: stake of {ver(a['amount'])} withdrawn")),
        }  # fmt: skip
        shown = simple.get(e.name)
        return None if shown is None else shown()

    def _from_now(self, e: ChainEvent, at: int) -> int:
        return int(at) - self.chain.timestamp(e.block_number)

    def _sender(self, e: ChainEvent) -> str:
        return self.names.who(self.chain.sender_of(e.tx_hash))

    def _checkpoint(self, e: ChainEvent) -> tuple[str, str]:
        a = e.args
        assignment = self.assignments.get(int(a["assignmentId"]))
        where = (
            f" (task {assignment.task}, {self.names.node(assignment.node)})" if assignment else ""
        )
        cid = cid_from_bytes(bytes(a["cid"]))
        if a["isFinal"]:
            return "final model", f"assignment {a['assignmentId']}{where}: {cid}"
        return "checkpoint", f"assignment {a['assignmentId']}{where} step {a['step']}: {cid}"

    def _report(self, events: list[ChainEvent], report: ChainEvent) -> list[tuple[str, str, int]]:
        n, block, a = self.names, report.block_number, report.args
        document = onchain_to_cid(RAW_CODEC, bytes(a["inputsDigest"]))
        entries = "entry" if a["applied"] == 1 else "entries"
        out = [(
            "round",
            f"round {a['round']} (snapshot block {a['snapshotBlock']}) transmitted by "
            f"{self._sender(report)}: {a['applied']} {entries} applied, {a['skipped']} skipped; "
            f"inputs and solution {document}",
            block,
        )]  # fmt: skip
        failed_of = {int(e.args["newAssignmentId"]): int(e.args["failedAssignmentId"])
                     for e in events if e.name == "AssignmentReassigned"}  # fmt: skip
        draws = {int(e.args["assignmentId"]): int(e.args["draw"])
                 for e in events if e.name == "ReassignmentDrawn"}  # fmt: skip
        for e in events:
            x = e.args
            if e.name == "AssignmentCreated":
                made = Assignment(int(x["assignmentId"]), int(x["taskId"]), int(x["nodeId"]),
                                  int(x["units"]), int(x["pricePerUnitHour"]))  # fmt: skip
                self.assignments[made.id] = made
                text = (
                    f"task {made.task}: {made.units} unit(s) on {n.node(made.node)} at "
                    f"{ver(made.price)}/unit-h = assignment {made.id}"
                )
                if made.id in failed_of:
                    failed = failed_of[made.id]
                    kind = "  reassign"
                    text += f", resuming failed assignment {failed} (VRF draw {draws.get(failed)})"
                elif int(x["resumesFrom"]):
                    kind = "  move"
                    text += f", resuming moved assignment {x['resumesFrom']}"
                else:
                    kind = "  allocate"
                out.append((kind, text, block))
            elif e.name == "AssignmentClosed" and ASSIGNMENT_STATUS[int(x["status"])] == "Moved":
                out.append(("  move", (
                    f"assignment {x['assignmentId']} leaves {n.node(x['nodeId'])}, earning "
                    f"{ver(x['earned'])} up to its last checkpoint"), block))  # fmt: skip
            elif e.name == "EntrySkipped":
                reason = reason_name("0x" + bytes(x["reason"]).hex())
                out.append(("  skipped", f"entry {x['index']}: {reason}", block))
        return out
