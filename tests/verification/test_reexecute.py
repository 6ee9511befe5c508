"""Re-execution of a checkpoint interval by CID (oracle/verification/reexecute.py)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest

from oracle.agent.command_workload import CommandWorkload
from oracle.agent.workload import LinearRegressionWorkload
from oracle.cid import cid_for
from oracle.verification.reexecute import NotVerifiable, reexecute_interval


def _worker_run(workload: LinearRegressionWorkload, steps: int, every: int) -> list[bytes]:
    """The checkpoints an honest worker commits: every `every` steps, run in uneven chunks (as
    an agent interrupted and resumed would), so equality does not come from identical calls."""
    rng = random.Random(steps * 31 + every)
    state, checkpoints = workload.initial_state(), [workload.initial_state()]
    while workload.step_of(state) < steps:
        target = workload.step_of(state) + every
        while workload.step_of(state) < target:
            state = workload.run(
                state, min(rng.randint(1, every), target - workload.step_of(state))
            )
        checkpoints.append(state)
    return checkpoints


def test_honest_intervals_never_dispute_over_many_seeds() -> None:
    disputes = checked = 0
    for seed in range(40):
        workload = LinearRegressionWorkload(f"task-{seed}", features=8, samples=64)
        checkpoints = _worker_run(workload, steps=30, every=5)
        for previous, committed in itertools.pairwise(checkpoints):
            result = reexecute_interval(
                LinearRegressionWorkload(f"task-{seed}", features=8, samples=64),  # another node
                previous,
                cid_for(committed),
                workload.step_of(committed),
            )
            checked += 1
            disputes += not result.matches
    assert (checked, disputes) == (240, 0)


def test_a_wrong_commit_is_found_whatever_it_changes() -> None:
    workload = LinearRegressionWorkload("task-x", features=8, samples=64)
    previous, honest = _worker_run(workload, steps=10, every=5)[1:3]
    weights = np.frombuffer(honest[8:], dtype="<f8").copy()
    weights[3] = np.nextafter(weights[3], np.inf)  # one ulp of one weight
    for wrong in (weights, np.random.default_rng(1).standard_normal(8)):
        forged = honest[:8] + wrong.astype("<f8").tobytes()
        result = reexecute_interval(workload, previous, cid_for(forged), 10)
        assert not result.matches and result.cid == cid_for(honest)
    assert reexecute_interval(workload, previous, cid_for(honest), 10).matches


def test_non_deterministic_or_malformed_work_is_refused_not_compared(tmp_path: Path) -> None:
    command = CommandWorkload(["true"], tmp_path)
    with pytest.raises(
        NotVerifiable, match="CommandWorkload does not declare itself deterministic"
    ):
        reexecute_interval(command, command.initial_state(), "bafy", 1)
    workload = LinearRegressionWorkload("task-y", features=8, samples=64)
    with pytest.raises(NotVerifiable, match="not a state of this workload: state is 3 bytes"):
        reexecute_interval(workload, b"abc", "bafy", 1)
    with pytest.raises(NotVerifiable, match="to_step 0 is not after the input checkpoint's step 0"):
        reexecute_interval(workload, workload.initial_state(), "bafy", 0)
