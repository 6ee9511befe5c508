"""The built-in workload: deterministic, resumable from any checkpoint, strict about its bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.agent.workload import LinearRegressionWorkload, WorkloadError
from oracle.cid import cid_for


@settings(max_examples=40, deadline=None)
@given(first=st.integers(0, 60), second=st.integers(0, 60), spec=st.text(max_size=20))
def test_workload_resumed_run_equals_uninterrupted_run(first: int, second: int, spec: str) -> None:
    work = LinearRegressionWorkload(spec)
    checkpoint = work.run(work.initial_state(), first)
    # a different process object resumes from the checkpoint bytes only
    resumed = LinearRegressionWorkload(spec).run(checkpoint, second)
    assert resumed == work.run(work.initial_state(), first + second)
    assert cid_for(resumed) == cid_for(work.run(work.initial_state(), first + second))
    assert work.step_of(resumed) == first + second


def test_workload_training_reduces_loss() -> None:
    work = LinearRegressionWorkload("task 7")
    start = work.initial_state()
    assert work.loss(work.run(start, 100)) < work.loss(start) / 10


def test_workload_specs_give_different_models() -> None:
    a, b = LinearRegressionWorkload("a"), LinearRegressionWorkload("b")
    assert a.run(a.initial_state(), 5) != b.run(b.initial_state(), 5)


def test_workload_rejects_truncated_state() -> None:
    work = LinearRegressionWorkload("x")
    with pytest.raises(WorkloadError, match="state is 10 bytes, expected 136"):
        work.run(b"\0" * 10, 1)


def test_workload_rejects_negative_steps() -> None:
    work = LinearRegressionWorkload("x")
    with pytest.raises(WorkloadError, match="steps must be >= 0, got -1"):
        work.run(work.initial_state(), -1)
