"""The node agent: registration, reconciliation with the chain, the work loop, shutdown.

Start-up (`start`):
1. transactions still pending from a previous run are re-broadcast and awaited (TxSender's
   SQLite rows: the same signed bytes or their fee replacements, never a new call);
2. the registration is found or made (`ensure_registered`: once per owner and class);
3. the node's assignment events are ingested up to the head (cursor in SQLite, reorg-safe);
4. reconciliation: every assignment the events say is open is read back at one block, and the
   chain wins: only those `Running` on this node are worked on, each from the chain's
   `resumePoint` (its own latest checkpoint, else the one of the assignment it resumes), whose
   bytes are fetched from the store and re-hashed; a local checkpoint stored but never committed
   is reported and recomputed, never reported as done;
5. energy: the chain's counter for the node is read (the local counter is raised to it if the
   local state lagged, so no heartbeat ever sends a smaller one) and the declared renewable
   share is sent if the settings' differs from the chain's;
6. the heartbeat thread starts.

The loop (`run`) polls the events every `poll_interval`, opens new assignments, drops those the
chain closed, and gives each running assignment a slice of work; a checkpoint is stored (put +
CID), recorded locally, then committed under the key (assignment, step), so a restart finds the
same pending commit instead of sending another; at the last step the assignment completes with
the final CID and earnings above the threshold are withdrawn. SIGTERM (`request_stop`) ends the
loop after the current slice; `shutdown` checkpoints what was computed since the last commit,
then stops the heartbeats.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from oracle.agent import reads
from oracle.agent.errors import ResumeRefused, SpecError
from oracle.agent.heartbeat import Beat, HeartbeatCalls, HeartbeatLoop
from oracle.agent.metrics import AgentMetrics, MetricsObserver
from oracle.agent.progress import Progress, report
from oracle.agent.registration import NodeOffer, ensure_registered
from oracle.agent.run import CheckpointPolicy, Run
from oracle.agent.sender import SerialSender
from oracle.agent.settings import AgentSettings
from oracle.agent.spec import build_workload, fetch_spec
from oracle.agent.state import COMMITTED, COMPLETED, FAILED, REFUSED, RUNNING, AgentState
from oracle.agent.telemetry import Reading, Telemetry
from oracle.agent.watcher import AssignmentWatcher, BookedAssignment
from oracle.agent.workload import WorkloadError
from oracle.chain.connection import Chain
from oracle.chain.errors import ChainError, TransactionReverted
from oracle.chain.events import decode_logs
from oracle.chain.revert import DecodedRevert
from oracle.chain.tx import TxOutcome, TxSender
from oracle.checkpoints import (
    CheckpointCorrupted,
    CheckpointError,
    CheckpointStore,
    InvalidCid,
    cid_bytes,
    cid_from_bytes,
)
from oracle.errors import OracleError
from oracle.observe.health import Health
from oracle.store import Database
from oracle.units import format_ver

log = logging.getLogger("oracle.agent")

RETRY_OPEN_SECONDS = 15.0
PRUNE_EVERY_BEATS = 100
KEEP_HEARTBEAT_ROWS_SECONDS = (
    24 * 3600.0
)  # a spec or checkpoint not reachable yet (IPFS) is tried again
# Reverts that mean the assignment may no longer be this node's to work on (read it back).
CLOSING_ERRORS = (
    "CheckpointRegistryAssignmentNotRunning",
    "CheckpointRegistryNotAssignee",
    "TaskMarketAssignmentNotRunning",
    "TaskMarketNotAssignee",
    "TaskMarketUnknownAssignment",
)
# Reverts after which nothing the node sends for the assignment can count, although it may still
# read as Running until someone settles it: the task's checkpoints closed, or the node failed.
FINAL_ERRORS = (
    "CheckpointRegistryCheckpointsClosed",
    "CheckpointRegistryNodeFailed",
    "TaskMarketCheckpointsClosed",
    "TaskMarketNodeFailed",
)


def short(cid: str | None) -> str:
    return "-" if not cid else f"{cid[:16]}…{cid[-6:]}"


@dataclass
class _Waiting:
    booked: BookedAssignment
    retry_at: float
    reason: str


class NodeAgent:
    def __init__(
        self,
        settings: AgentSettings,
        *,
        chain: Chain,
        account: LocalAccount,
        db: Database,
        store: CheckpointStore,
        telemetry: Telemetry,
        metrics: AgentMetrics,
        progress: Progress,
        health: Health,
    ) -> None:
        self.settings = settings
        self.chain = chain
        self.contracts = chain.contracts
        self.db = db
        self.store = store
        self.telemetry = telemetry
        self.metrics = metrics
        self.progress = progress
        self.health = health
        self.tx = TxSender(
            chain.rpc,
            account,
            chain.chain_id,
            db=db,
            fee_ceiling=settings.fee_ceiling_wei,
            replace_after=settings.replace_after,
            observer=MetricsObserver(metrics),
        )
        self.sender = SerialSender(self.tx)
        self.state = AgentState(db)
        self.policy = CheckpointPolicy(settings.checkpoint_steps, settings.checkpoint_seconds)
        self.offer = NodeOffer(
            settings.resource_class,
            settings.capacity,
            settings.price_wei,
            settings.stake_wei,
            settings.metadata_uri,
        )
        self.node_id = 0
        self.watcher: AssignmentWatcher | None = None
        self.heartbeats: HeartbeatLoop | None = None
        self.runs: dict[int, Run] = {}
        self.waiting: dict[int, _Waiting] = {}
        self.exit_code = 0
        self.left = False  # the node is leaving and holds no work: nothing left to do
        self._poll_ok = False
        self._stop = threading.Event()
        self._node: reads.NodeView | None = None
        self._node_lock = threading.Lock()
        self._heartbeat_calls = HeartbeatCalls(self.contracts.registry)
        self._chain_counter = 0  # the energy counter the chain holds for the node (0: none)
        self._sent_counter: int | None = None  # the counter of the heartbeat last sent

    # ================================================================== start-up
    def start(self) -> None:
        self._resume_transactions()
        self._register()
        self._energy_at_start()
        self._start_heartbeats()  # before the catch-up: a long history never delays liveness
        self._watch()
        self._reconcile()

    def _show(self, kind: str, text: str, **fields: Any) -> None:
        report(self.progress, kind, text, node=self.node_id, **fields)

    def _resume_transactions(self) -> None:
        pending = self.tx.pending()
        if not pending:
            return
        self._show(
            "node",
            f"{len(pending)} transaction(s) in flight before the restart: "
            + ", ".join(f"{p.key} (nonce {p.nonce})" for p in pending)
            + "; re-broadcasting the same signed bytes",
        )
        for outcome in self.sender.resume(timeout=self.settings.tx_timeout):
            self._show("node", f"  {outcome.key}: {outcome.state}", key=outcome.key)

    def _register(self) -> None:
        with self.sender.exclusive():
            registration = ensure_registered(self.contracts, self.tx, self.offer)
        self.node_id = registration.node_id
        node = reads.node(self.contracts, self.node_id)
        self._set_node(node)
        verb = "registered" if registration.created else "found"
        self._show(
            "node",
            f"{verb} node {self.node_id} ({self.settings.resource_class}, {node.capacity} units "
            f"at {format_ver(node.price)} VER/unit-h, stake {format_ver(node.stake)} VER, "
            f"{node.status_name}) for {self.tx.address} on chain {self.chain.chain_id}",
            created=registration.created,
        )
        if not registration.created:
            if node.price != self.offer.price:
                self._show(
                    "problem",
                    f"the node asks {format_ver(node.price)} VER/unit-h on chain, the settings "
                    f"say {format_ver(self.offer.price)}: the chain's price applies "
                    "(`verai node update-price` changes it)",
                )
            if node.capacity != self.offer.capacity:
                self._show(
                    "problem",
                    f"the node offers {node.capacity} units on chain, the settings say "
                    f"{self.offer.capacity}: the chain's capacity applies",
                )

    def _energy_at_start(self) -> None:
        """Reads the node's energy on chain: the counter its last heartbeat carried (the local
        counter never restarts below it) and the declared renewable share."""
        if not reads.has_energy(self.contracts):
            return
        try:
            energy = reads.energy(self.contracts, self.node_id)
        except ChainError as exc:
            self._show("problem", f"reading the node's energy on chain failed: {exc}")
            return
        self._chain_counter = energy.counter_j
        local = self.telemetry.energy_j
        if self.telemetry.adopt(energy.counter_j):
            self.state.save_energy(self.telemetry.energy_j)
            self._show(
                "energy",
                f"the chain holds energy counter {energy.counter_j:,} J for node {self.node_id}, "
                f"above this agent's {int(local):,} J (local state lost or behind): counting on "
                "from the chain's",
            )
        self._show(
            "energy",
            f"node {self.node_id}: {energy.energy_j:,} J ({energy.energy_j / 3.6e6:.6f} kWh) "
            f"credited on chain, last heartbeat {'measured' if energy.measured else 'estimated'}; "
            f"energy counter {int(self.telemetry.energy_j):,} J; renewable share "
            f"{energy.renewable_bps / 100:g} % (declared)",
            energy_j=energy.energy_j,
            counter_j=int(self.telemetry.energy_j),
        )
        self._declare_renewable(energy.renewable_bps)

    def _declare_renewable(self, on_chain_bps: int) -> None:
        """Declares the settings' renewable share once: when it differs from the chain's, or
        when its evidence URI differs from the one this agent declared last (the registry emits
        the URI without storing it). Idempotent across restarts."""
        wanted = self.settings.renewable_bps
        if wanted is None:
            return
        uri = self.settings.renewable_evidence_uri
        last_uri = self.state.declared_evidence()
        if wanted == on_chain_bps and (last_uri is None or last_uri == uri):
            return
        call = self.contracts.registry.functions.declareRenewableShare(self.node_id, wanted, uri)
        try:
            outcome = self.sender.send(call, purpose="renewable", timeout=self.settings.tx_timeout)
        except ChainError as exc:
            self._show("problem", f"declaring the renewable share {wanted / 100:g} % failed: {exc}")
            return
        if not outcome.mined:
            self._show("problem", f"declaring the renewable share: {outcome.state}")
            return
        self.state.save_declared_evidence(uri)
        self._show(
            "energy",
            f"declared renewable share {wanted / 100:g} % (was {on_chain_bps / 100:g} %)"
            + (f", evidence {uri}" if uri else ", no evidence URI")
            + f" (block {outcome.block_number})",
            renewable_bps=wanted,
        )

    def _watch(self) -> None:
        record = self.chain.record
        self.watcher = AssignmentWatcher(
            url=self.chain.rpc.url,
            timeout=self.chain.rpc.timeout,
            db=self.db,
            market=record.contracts["TaskMarket"],
            node_id=self.node_id,
            resource_class=self.offer.key,
            start_block=record.start_block,
            confirmations=self.settings.confirmations,
            on_error=self.metrics.rpc_error,
        )
        result = self.watcher.catch_up()
        self.metrics.cursor.set(result.cursor)
        self._show(
            "node",
            f"events read up to block {result.cursor} (head {result.head}): "
            f"{len(self.watcher.book.assignments())} assignment(s) of this node so far",
        )

    def _reconcile(self) -> None:
        assert self.watcher is not None
        block = self.chain.rpc.block_number()
        book = self.watcher.book
        open_ids = set()
        for booked in book.assignments(open_only=True):
            view = reads.assignment(self.contracts, booked.id, block)
            if view.status != reads.RUNNING or view.node_id != self.node_id:
                self._close_local(booked.id, booked.task_id, f"{view.status_name} on chain")
                continue
            open_ids.add(booked.id)
        # local rows the chain has closed meanwhile (the chain wins)
        for work in self.state.works(RUNNING):
            if work.assignment_id not in open_ids:
                booked_row = book.assignment(work.assignment_id)
                status = "closed" if booked_row is None else f"closed ({booked_row.closed_status})"
                self._close_local(work.assignment_id, work.task_id, f"{status} on chain")
        for row in self.state.uncommitted():
            if row.assignment_id in open_ids:
                self._show(
                    "node",
                    f"assignment {row.assignment_id}: checkpoint step {row.step} was stored "
                    f"before the restart but its commit never landed; it is not reported, the "
                    "work resumes from the chain's last checkpoint",
                    assignment=row.assignment_id,
                )
                self.state.mark(row.assignment_id, row.step, FAILED)
        self._show(
            "node",
            f"reconciled with the chain at block {block}: {len(open_ids)} running assignment(s)"
            + (": " + ", ".join(map(str, sorted(open_ids))) if open_ids else ""),
        )
        for assignment_id in sorted(open_ids):
            booked_row = book.assignment(assignment_id)
            assert booked_row is not None
            self._open(booked_row, block)

    def _close_local(self, assignment_id: int, task_id: int, why: str) -> None:
        work = self.state.work(assignment_id)
        if work is not None and work.state == RUNNING:
            self.state.update_work(assignment_id, state="closed", detail=why)
            self._show("assignment", f"assignment {assignment_id}: {why}; not working on it")

    # ================================================================== opening work
    def _open(self, booked: BookedAssignment, block: int | None = None) -> None:
        """Starts working on `booked` (Running on this node), from the chain's resume point."""
        assignment_id = booked.id
        work = self.state.work(assignment_id)
        if work is not None and work.state == REFUSED:
            return  # refused once with a reason already reported; never loops on it
        at = block if block is not None else self.chain.rpc.block_number()
        try:
            run = self._prepare(booked, at)
        except (SpecError, ResumeRefused, WorkloadError) as exc:
            reason = "resume" if isinstance(exc, ResumeRefused) else "spec"
            self.metrics.refused.labels(reason).inc()
            self.state.set_work(
                assignment_id,
                node_id=self.node_id,
                task_id=booked.task_id,
                state=REFUSED,
                detail=str(exc),
            )
            self.waiting.pop(assignment_id, None)
            self._show(
                "problem",
                f"assignment {assignment_id} refused: {exc}",
                assignment=assignment_id,
                reason=reason,
            )
            return
        except (CheckpointError, ChainError) as exc:  # not reachable yet: try again later
            previous = self.waiting.get(assignment_id)
            if previous is None or previous.reason != str(exc):
                self._show(
                    "problem",
                    f"assignment {assignment_id}: cannot start yet ({exc}); retrying every "
                    f"{RETRY_OPEN_SECONDS:.0f} s",
                    assignment=assignment_id,
                )
            self.waiting[assignment_id] = _Waiting(
                booked, time.monotonic() + RETRY_OPEN_SECONDS, str(exc)
            )
            return
        self.waiting.pop(assignment_id, None)
        self.runs[assignment_id] = run
        self.metrics.running.set(len(self.runs))
        self.metrics.step.labels(str(assignment_id)).set(run.step)
        self.state.set_work(
            assignment_id,
            node_id=self.node_id,
            task_id=booked.task_id,
            state=RUNNING,
            total_steps=run.total_steps,
            committed_step=run.committed_step,
            committed_cid=run.last_cid,
        )
        if run.resumed_from == 0:
            origin = "starting fresh"
        elif run.resumed_from == assignment_id:
            origin = f"resumes its own checkpoint at step {run.step} ({short(run.last_cid)})"
        else:
            origin = (
                f"resumes assignment {run.resumed_from} at step {run.step} "
                f"({short(run.last_cid)}, bytes re-hashed)"
            )
        self._show(
            "assignment",
            f"assignment {assignment_id} of task {booked.task_id}: {booked.units} unit(s) at "
            f"{format_ver(booked.price)} VER/unit-h, {run.total_steps} steps; {origin}",
            assignment=assignment_id,
            step=run.step,
            resumed_from=run.resumed_from,
        )

    def _prepare(self, booked: BookedAssignment, block: int) -> Run:
        assert self.watcher is not None
        uri = self.watcher.book.spec_uri(booked.task_id)
        if uri is None:
            raise SpecError(f"task {booked.task_id}: no TaskSubmitted event seen, no spec")
        spec = fetch_spec(uri, self.store)
        root = reads.chain_root(self.contracts, booked.id, block)
        workload = build_workload(
            spec,
            task_id=booked.task_id,
            root_assignment=root,
            commands=self.settings.commands,
            scratch=self.settings.work_dir / "scratch" / str(booked.id),
        )
        point = reads.resume_point(self.contracts, booked.id, block)
        own = reads.assignment(self.contracts, booked.id, block)
        if point.source == 0:
            state, step, cid = workload.initial_state(), 0, None
        else:
            try:
                cid = cid_from_bytes(point.cid)
            except InvalidCid as exc:
                raise ResumeRefused(f"the resume point's CID is invalid: {exc}") from None
            try:
                state = self.store.get(cid)  # re-hashes: wrong bytes never come back
            except CheckpointCorrupted as exc:
                raise ResumeRefused(
                    f"checkpoint of assignment {point.source} at step {point.step} is corrupted "
                    f"in {self.store!r}: {exc}"
                ) from None
            try:
                step = workload.step_of(state)
            except WorkloadError as exc:
                raise ResumeRefused(
                    f"checkpoint {cid} is not a state of this task's workload: {exc}"
                ) from None
            if step != point.step:
                raise ResumeRefused(
                    f"checkpoint {cid} holds step {step}, but the chain recorded step "
                    f"{point.step} for it"
                )
        return Run(
            assignment_id=booked.id,
            task_id=booked.task_id,
            units=booked.units,
            price=booked.price,
            workload=workload,
            total_steps=spec.steps,
            state=state,
            step=step,
            committed_step=own.step,
            last_cid=cid,
            resumed_from=point.source,
            started_step=step,
        )

    # ================================================================== the loop
    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> int:
        """Works until asked to stop (or the node failed or finished leaving); returns the
        process exit code."""
        next_poll = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_poll:
                self._poll()
                next_poll = time.monotonic() + self.settings.poll_interval
            if self._node_ended():
                break
            worked = False
            for assignment_id in sorted(self.runs):
                if self._stop.is_set():
                    break
                run = self.runs.get(assignment_id)
                if run is None:
                    continue
                try:
                    worked = self._turn(run) or worked
                except OracleError as exc:  # an RPC or store fault: the next turn tries again
                    self._show("problem", f"assignment {assignment_id}: {exc}; retrying")
                    self._stop.wait(1.0)
            if self._poll_ok:  # /healthz fails when the chain stays out of reach
                self.health.pulse(node=self.node_id, running=sorted(self.runs))
            if not worked:
                self._stop.wait(max(0.0, min(next_poll - time.monotonic(), 1.0)))
        return self.exit_code

    def _poll(self) -> None:
        assert self.watcher is not None
        try:
            result = self.watcher.poll()
        except OracleError as exc:
            self._poll_ok = False
            self._show("problem", f"reading events failed: {exc}; retrying")
            return
        self._poll_ok = True
        self.metrics.cursor.set(result.cursor)
        if result.reorg_depth:
            self._show("node", f"reorg: rewound {result.reorg_depth} block(s)")
        book = self.watcher.book
        open_now = {b.id: b for b in book.assignments(open_only=True)}
        for assignment_id in sorted(set(self.runs) - set(open_now)):
            booked = book.assignment(assignment_id)
            self._drop(assignment_id, booked)
        now = time.monotonic()
        for assignment_id, booked in sorted(open_now.items()):
            if assignment_id in self.runs:
                continue
            waiting = self.waiting.get(assignment_id)
            if waiting is not None and waiting.retry_at > now:
                continue
            work = self.state.work(assignment_id)
            if work is not None and work.state in (REFUSED, COMPLETED, "closed"):
                continue
            self._open(booked)

    def _drop(self, assignment_id: int, booked: BookedAssignment | None) -> None:
        run = self.runs.pop(assignment_id)
        self.metrics.running.set(len(self.runs))
        status = "vanished (reorg)"
        if booked is not None and booked.closed_status is not None:
            index = booked.closed_status
            status = reads.ASSIGNMENT_STATUS[index] if index < len(reads.ASSIGNMENT_STATUS) else "?"
        self.state.update_work(assignment_id, state="closed", detail=f"{status} on chain")
        self._show(
            "assignment",
            f"assignment {assignment_id} is {status} on chain: stopped at step {run.step} "
            f"(last checkpoint on chain: step {run.committed_step})",
            assignment=assignment_id,
        )

    def _turn(self, run: Run) -> bool:
        """One slice of work on `run`, then a checkpoint or the completion when due."""
        if run.done:
            self._complete(run)
            return True
        try:
            ran = run.advance(run.slice_steps(self.policy, self.settings.slice_seconds))
        except WorkloadError as exc:
            self._show("problem", f"assignment {run.assignment_id}: the workload failed: {exc}")
            self.runs.pop(run.assignment_id, None)
            self.state.update_work(run.assignment_id, state=REFUSED, detail=str(exc))
            self.metrics.refused.labels("workload").inc()
            return True
        self.metrics.steps.inc(ran)
        self.metrics.step.labels(str(run.assignment_id)).set(run.step)
        self._report_step(run)
        if run.step >= run.total_steps:
            self._complete(run)
        elif self.policy.due(run.step, run.committed_step, time.monotonic() - run.checkpoint_at):
            self._checkpoint(run)
        return True

    def _report_step(self, run: Run) -> None:
        now = time.monotonic()
        if now - run.reported_at < self.settings.progress_interval:
            return
        run.reported_at = now
        loss = run.loss()
        self._show(
            "step",
            f"assignment {run.assignment_id}  step {run.step}/{run.total_steps}"
            + (f"  loss {loss:.6f}" if loss is not None else "")
            + f"  last checkpoint step {run.committed_step} {short(run.last_cid)}",
            assignment=run.assignment_id,
            step=run.step,
        )

    # ================================================================== checkpoints
    def _checkpoint(self, run: Run) -> bool:
        """Stores the state, records it, commits it under (assignment, step); True once the
        commit is mined."""
        started = time.monotonic()
        step, assignment_id = run.step, run.assignment_id
        try:
            cid = self.store.put(run.state)
        except CheckpointError as exc:
            self._show("problem", f"assignment {assignment_id}: storing step {step} failed: {exc}")
            run.checkpoint_at = time.monotonic()  # try again after the next interval
            return False
        self.metrics.checkpoints.inc()
        row = self.state.stored(assignment_id, step, cid)
        if row.state == COMMITTED:
            return True
        key = self.sender.fresh_key(f"commit:{assignment_id}:{step}")
        loss = run.loss()
        call = self.contracts.checkpoints.functions.commit(assignment_id, step, cid_bytes(cid))
        try:
            self.state.sending(assignment_id, step, key)
            sent = self.sender.send(
                call, purpose="commit", key=key, wait=False, timeout=self.settings.tx_timeout
            )
            self._show(
                "checkpoint",
                f"assignment {assignment_id}  step {step}/{run.total_steps}"
                + (f"  loss {loss:.6f}" if loss is not None else "")
                + f"  stored {cid}  commit sent {sent.tx_hash}",
                assignment=assignment_id,
                step=step,
                cid=cid,
            )
            outcome = self.sender.wait(key, timeout=self.settings.tx_timeout)
        except TransactionReverted as exc:
            self.metrics.commits.labels("rejected").inc()
            self.state.mark(assignment_id, step, FAILED)
            self._rejected(run, exc, f"commit of step {step}")
            return False
        except ChainError as exc:
            self.metrics.commits.labels("error").inc()
            self._show("problem", f"assignment {assignment_id}: commit of step {step}: {exc}")
            run.checkpoint_at = time.monotonic()
            return False
        run.checkpoint_at = time.monotonic()
        self.metrics.commits.labels(outcome.state).inc()
        if outcome.mined:
            self.state.mark(assignment_id, step, COMMITTED)
            run.committed_step, run.last_cid = step, cid
            self.state.update_work(assignment_id, committed_step=step, committed_cid=cid)
            self.metrics.checkpoint_seconds.observe(time.monotonic() - started)
            self._show(
                "checkpoint",
                f"assignment {assignment_id}  step {step} committed in block "
                f"{outcome.block_number} (gas {outcome.gas_used:,})",
                assignment=assignment_id,
                step=step,
                block=outcome.block_number,
            )
            return True
        if outcome.state != "pending":
            self.state.mark(assignment_id, step, FAILED)
        self._show(
            "problem",
            f"assignment {assignment_id}: commit of step {step} is {outcome.state} "
            f"({outcome.detail or outcome.tx_hash})",
        )
        if outcome.state == "reverted":
            self._recheck(run)
        return False

    def _rejected(self, run: Run, exc: TransactionReverted, what: str) -> None:
        revert = exc.revert if isinstance(exc.revert, DecodedRevert) else None
        name = revert.name if revert is not None else ""
        if name.endswith("StepNotIncreasing"):
            last = int(revert.arg("lastStep")) if revert is not None else run.step
            self._show(
                "problem",
                f"assignment {run.assignment_id}: {what} refused, the chain already holds step "
                f"{last}; going on from here",
            )
            run.committed_step = max(run.committed_step, last)
            return
        if name in FINAL_ERRORS:  # still Running on chain, but nothing this node sends counts
            self._stop_run(run, f"{what} refused: {exc}; stopping (it is settled on chain)")
            return
        if name in CLOSING_ERRORS:
            self._show("assignment", f"assignment {run.assignment_id}: {what} refused: {exc}")
            self._recheck(run)
            return
        self._show("problem", f"assignment {run.assignment_id}: {what} refused: {exc}")

    def _recheck(self, run: Run) -> None:
        """Reads the assignment back; stops working on it unless it still runs here."""
        view = reads.assignment(self.contracts, run.assignment_id, "latest")
        if view.status == reads.RUNNING and view.node_id == self.node_id:
            return
        self._stop_run(run, f"is {view.status_name} on chain: stopped at step {run.step}")

    def _stop_run(self, run: Run, why: str) -> None:
        self.runs.pop(run.assignment_id, None)
        self.metrics.running.set(len(self.runs))
        self.state.update_work(run.assignment_id, state="closed", detail=why)
        self._show("assignment", f"assignment {run.assignment_id} {why}")

    # ================================================================== completion, earnings
    def _complete(self, run: Run) -> None:
        assignment_id = run.assignment_id
        try:
            cid = self.store.put(run.state)
        except CheckpointError as exc:
            self._show("problem", f"assignment {assignment_id}: storing the result failed: {exc}")
            return
        key = self.sender.fresh_key(f"complete:{assignment_id}")
        call = self.contracts.market.functions.complete(assignment_id, cid_bytes(cid))
        try:
            outcome = self.sender.send(
                call, purpose="complete", key=key, timeout=self.settings.tx_timeout
            )
        except TransactionReverted as exc:
            self.metrics.completions.labels("rejected").inc()
            self._rejected(run, exc, "completion")
            return
        except ChainError as exc:
            self.metrics.completions.labels("error").inc()
            self._show("problem", f"assignment {assignment_id}: completion: {exc}")
            return
        self.metrics.completions.labels(outcome.state).inc()
        if not outcome.mined:
            self._show(
                "problem", f"assignment {assignment_id}: completion {outcome.state}; retrying"
            )
            if outcome.state == "reverted":
                self._recheck(run)
            return
        earned = self._earned(outcome, assignment_id)
        self.runs.pop(assignment_id, None)
        self.metrics.running.set(len(self.runs))
        self.state.update_work(
            assignment_id, state=COMPLETED, committed_step=run.step, committed_cid=cid
        )
        loss = run.loss()
        self._show(
            "completed",
            f"assignment {assignment_id} completed at step {run.step}"
            + (f"  loss {loss:.6f}" if loss is not None else "")
            + f"  final {cid}  earned {format_ver(earned)} VER (block {outcome.block_number})",
            assignment=assignment_id,
            cid=cid,
            earned=str(earned),
        )
        self._withdraw_if_due()

    def _earned(self, outcome: TxOutcome, assignment_id: int) -> int:
        receipt = self.chain.rpc.request("eth_getTransactionReceipt", [outcome.tx_hash])
        market = self.chain.record.contracts["TaskMarket"].lower()
        for event in decode_logs(receipt.get("logs", []), {market: "TaskMarket"}):
            if event.name == "AssignmentClosed" and event.args["assignmentId"] == assignment_id:
                return int(event.args["earned"])
        return 0

    def _withdraw_if_due(self) -> None:
        try:
            earnings = reads.earnings(self.contracts, self.tx.address)
        except ChainError as exc:
            self._show("problem", f"reading earnings failed: {exc}")
            return
        self.metrics.earnings.set(earnings)
        threshold = self.settings.withdraw_threshold_wei
        if threshold == 0 or earnings < threshold:
            if earnings:
                self._show(
                    "earnings",
                    f"earnings {format_ver(earnings)} VER (withdrawn from "
                    f"{format_ver(threshold)} VER on)" if threshold else
                    f"earnings {format_ver(earnings)} VER (automatic withdrawal is off)",
                )  # fmt: skip
            return
        try:
            outcome = self.sender.send(
                self.contracts.market.functions.withdraw(),
                purpose="withdraw",
                timeout=self.settings.tx_timeout,
            )
        except OracleError as exc:
            self._show("problem", f"withdrawing {format_ver(earnings)} VER failed: {exc}")
            return
        if outcome.mined:
            self.metrics.withdrawn.inc(earnings)
            self.metrics.earnings.set(0)
            self._show(
                "earnings",
                f"withdrew {format_ver(earnings)} VER of earnings to {self.tx.address} "
                f"(block {outcome.block_number})",
                amount=str(earnings),
            )

    # ================================================================== heartbeats, node status
    def _start_heartbeats(self) -> None:
        self.heartbeats = HeartbeatLoop(
            telemetry=self.telemetry,
            send=self._send_heartbeat,
            interval=self.settings.heartbeat_interval,
            on_beat=self._on_beat,
        )
        self.heartbeats.start()

    def _send_heartbeat(self, reading: Reading) -> TxOutcome:
        """The heartbeat for `reading`: with the energy counter when the reading has one (the
        registry then credits its increase as measured), else without (estimated). A counter
        below the chain's would revert (NodeRegistryEnergyCounterBackwards): that heartbeat goes
        without it, which starts a new baseline, and the reason is logged."""
        # persisted before it is sent: a restart never starts below what the chain holds
        self.state.save_energy(self.telemetry.energy_j)
        counter = reading.energy_j or 0
        use = counter > 0
        if use and counter < self._chain_counter:
            self._show(
                "problem",
                f"energy counter {counter:,} J is below the {self._chain_counter:,} J the chain "
                "holds for this node: this heartbeat goes without it (estimated) to start a new "
                "baseline",
            )
            use = False
        call, sent = self._heartbeat_calls.call(self.node_id, reading, counter=use)
        try:
            outcome = self._send_beat(call)
        except TransactionReverted as exc:
            revert = exc.revert if isinstance(exc.revert, DecodedRevert) else None
            if not sent or revert is None or revert.name != "NodeRegistryEnergyCounterBackwards":
                raise
            self._show(
                "problem",
                f"the registry refused energy counter {counter:,} J: it holds "
                f"{int(revert.arg('previousJ')):,} J for this node; sending this heartbeat "
                "without the counter (estimated) to start a new baseline",
            )
            call, sent = self._heartbeat_calls.call(self.node_id, reading, counter=False)
            outcome = self._send_beat(call)
        self._sent_counter = counter if sent else None
        if outcome.mined:
            self._chain_counter = counter if sent else 0
        return outcome

    def _send_beat(self, call: Any) -> TxOutcome:
        return self.sender.send(call, purpose="heartbeat", timeout=self.settings.tx_timeout)

    def _on_beat(self, beat: Beat) -> None:
        self.metrics.record_reading(beat.reading, beat.seconds, self.telemetry.last_joules)
        self.metrics.energy_counter.set(self.telemetry.energy_j)
        if self.heartbeats is not None and self.heartbeats.beats % PRUNE_EVERY_BEATS == 1:
            self.state.prune_heartbeats(time.time() - KEEP_HEARTBEAT_ROWS_SECONDS)
        if beat.error is not None:
            self.metrics.heartbeats.labels("failed").inc()
            self.metrics.heartbeat_failures.inc()
            self._show("problem", f"heartbeat failed: {beat.error}")
            return
        assert beat.outcome is not None
        self.metrics.heartbeats.labels("mined").inc()
        gas = beat.outcome.gas_used or 0
        self.metrics.heartbeat_gas.set(gas)
        try:
            node = reads.node(self.contracts, self.node_id)
        except ChainError:
            node = None
        if node is not None:
            self._set_node(node)
        status = f"  node {node.status_name}" if node is not None else ""
        sent = self._sent_counter
        energy = f"  counter {sent:,} J" if sent is not None else ""
        self._show(
            "heartbeat",
            f"{beat.reading.describe()}{energy}  gas {gas:,}  block "
            f"{beat.outcome.block_number}{status}",
            load_bps=beat.reading.load_bps,
            watts=beat.reading.watts,
            source=beat.reading.source,
            measured=beat.reading.measured,
            counter_j=sent,
        )

    def _set_node(self, node: reads.NodeView) -> None:
        with self._node_lock:
            self._node = node

    def _node_ended(self) -> bool:
        """True when there is nothing left to do: the node failed, or it is leaving and no
        work is reserved on it any more (it needs no heartbeats then)."""
        with self._node_lock:
            node = self._node
        if node is None:
            return False
        if node.status == reads.FAILED:
            self._show(
                "problem",
                f"node {self.node_id} was reported failed on chain (its heartbeats stopped for "
                "longer than the timeout): its work was settled and part of its stake slashed. "
                "Fix the cause, then start the agent again to register a new node.",
            )
            self.exit_code = 1
            return True
        if node.status in (reads.EXITING, reads.EXITED) and not self.runs and node.reserved == 0:
            self.left = True
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(node.unbonding_ends_at))
            self._show(
                "stop",
                f"node {self.node_id} is leaving and holds no work: heartbeats stop here. "
                f"Its stake can be withdrawn after {when} with `verai node withdraw`.",
            )
            return True
        return False

    # ================================================================== shutdown
    def shutdown(self) -> None:
        """After `run`: checkpoints what was computed since the last commit, completes what is
        done, then stops the heartbeats (last, so the node stays alive while it commits)."""
        for assignment_id in sorted(self.runs):
            run = self.runs.get(assignment_id)
            if run is None:
                continue
            if run.done:
                self._complete(run)
            elif run.step > run.committed_step:
                self._show(
                    "stop",
                    f"assignment {assignment_id}: checkpointing step {run.step} before stopping",
                )
                self._checkpoint(run)
        summary = ", ".join(
            f"assignment {r.assignment_id} at step {r.committed_step}"
            for r in sorted(self.runs.values(), key=lambda r: r.assignment_id)
        )
        if self.heartbeats is not None:
            self.heartbeats.stop()
        self.state.save_energy(self.telemetry.energy_j)
        if self.watcher is not None:
            self.watcher.close()
        if self.left or self.exit_code:
            self._show("stop", f"stopped; node {self.node_id} needs no more heartbeats")
            return
        self._show(
            "stop",
            "stopped"
            + (f"; committed {summary}" if summary else "")
            + f"; node {self.node_id} stays registered: start the agent again before the "
            "heartbeat timeout, or leave with `verai node exit`",
        )
