"""`verai task verify`: re-execute the checkpoint intervals of an assignment from the chain's CIDs
and the checkpoint store, and compare each result with the CID the node committed.

The input of interval k is the state behind commit k − 1 of the same assignment; for its first
commit, the chain's resume point just before it (the checkpoint of the assignment it resumes, or
the workload's initial state). Every checkpoint fetched is re-hashed by the store, so wrong
bytes never pass for a CID. Only deterministic workloads are re-executed
(oracle/verification/reexecute.py).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oracle.agent import reads
from oracle.agent.errors import SpecError
from oracle.agent.spec import build_workload, fetch_spec
from oracle.checkpoints import CheckpointError, CheckpointStore
from oracle.cid import cid_from_bytes
from oracle.commands._cache import CachedState
from oracle.commands._output import fail
from oracle.commands._session import Session
from oracle.verification.reexecute import NotVerifiable, reexecute_interval


@dataclass(frozen=True)
class Commit:
    step: int
    cid: str
    block: int
    final: bool


@dataclass(frozen=True)
class IntervalResult:
    from_step: int
    to_step: int
    committed: str
    reexecuted: str | None  # None: not re-executed (reason says why)
    reason: str = ""

    @property
    def verified(self) -> bool:
        return self.reexecuted == self.committed

    @property
    def verdict(self) -> str:
        if self.reexecuted is None:
            return "not verified"
        return "verified" if self.verified else "DIFFERS"


def commits_of(state: CachedState, assignment_id: int) -> list[Commit]:
    """The assignment's CheckpointCommitted events up to the cache's block, in chain order."""
    rows = state.db.execute(
        "SELECT block_number, args FROM logs WHERE contract = 'CheckpointRegistry' "
        "AND event = 'CheckpointCommitted' AND block_number <= ? ORDER BY block_number, log_index",
        (state.block,),
    ).fetchall()

    commits = []
    for block, raw in rows:
        args = json.loads(raw)
        if int(args["assignmentId"]) != assignment_id:
            continue
        cid = bytes.fromhex(str(args["cid"]).removeprefix("0x"))
        commits.append(
            Commit(int(args["step"]), cid_from_bytes(cid), int(block), bool(args["isFinal"]))
        )
    return commits


def verify_assignment(
    session: Session,
    state: CachedState,
    assignment_id: int,
    store: CheckpointStore,
    steps: set[int] | None,
    progress: Callable[[str], None],
) -> tuple[dict[str, Any], list[IntervalResult]]:
    """The assignment's facts and one result per chosen interval (all when `steps` is None)."""
    contracts = session.contracts
    count = int(session.view(contracts.market.functions.assignmentCount()))
    if not 1 <= assignment_id <= count:
        known = f"assignments 1 to {count}" if count else "no assignments yet"
        fail(f"unknown assignment {assignment_id}: this deployment has {known}")
    own = reads.assignment(contracts, assignment_id, state.block)
    task = state.mirror.task_at(own.task_id, state.block, state.timestamp)
    if task is None or not task.spec_uri:
        fail(f"task {own.task_id}: no TaskSubmitted event in the cache, so no spec to re-run")
    commits = commits_of(state, assignment_id)
    facts = {
        "assignment_id": assignment_id,
        "task_id": own.task_id,
        "node_id": own.node_id,
        "spec_uri": task.spec_uri,
        "commits": len(commits),
        "block": state.block,
    }
    if not commits:
        return facts, []
    unknown = sorted((steps or set()) - {c.step for c in commits})
    if unknown:
        have = ", ".join(str(c.step) for c in commits)
        fail(f"--step {unknown[0]}: assignment {assignment_id} committed no checkpoint at that "
             f"step (its commits: {have})")  # fmt: skip
    try:
        spec = fetch_spec(task.spec_uri, store)
    except (SpecError, CheckpointError) as exc:
        fail(f"task {own.task_id}'s spec {task.spec_uri[:80]}: {exc}")
    root = reads.chain_root(contracts, assignment_id, state.block)
    results: list[IntervalResult] = []
    with tempfile.TemporaryDirectory(prefix="verai-verify-") as scratch:
        try:
            workload = build_workload(
                spec, task_id=own.task_id, root_assignment=root, commands={}, scratch=Path(scratch)
            )
        except SpecError:
            workload = None  # a command workload: this machine runs none, and none is verified
        for index, commit in enumerate(commits):
            if steps is not None and commit.step not in steps:
                continue
            source_cid: str | None
            if index > 0:
                source_cid, from_step = commits[index - 1].cid, commits[index - 1].step
            else:
                point = reads.resume_point(contracts, assignment_id, commit.block - 1)
                source_cid = cid_from_bytes(point.cid) if point.source else None
                from_step = point.step if point.source else 0
            if workload is None or not getattr(workload, "deterministic", False):
                why = f"the {spec.workload} workload does not declare itself deterministic"
                results.append(IntervalResult(from_step, commit.step, commit.cid, None, why))
                continue
            try:
                start = workload.initial_state() if source_cid is None else store.get(source_cid)
            except CheckpointError as exc:
                results.append(IntervalResult(from_step, commit.step, commit.cid, None,
                    f"input checkpoint {source_cid} unavailable: {exc}"))  # fmt: skip
                continue
            progress(
                f"re-executing steps {from_step} to {commit.step} of assignment {assignment_id}"
            )
            try:
                done = reexecute_interval(workload, start, commit.cid, commit.step)
            except NotVerifiable as exc:
                results.append(IntervalResult(from_step, commit.step, commit.cid, None, str(exc)))
                continue
            results.append(IntervalResult(from_step, commit.step, commit.cid, done.cid))
    return facts, results
