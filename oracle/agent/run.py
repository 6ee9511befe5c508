"""One assignment being worked on: its workload, where it is, when its next checkpoint is due."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from oracle.agent.workload import Workload


@dataclass(frozen=True)
class CheckpointPolicy:
    """Checkpoint every `steps` steps and/or every `seconds` seconds of work, whichever first."""

    steps: int | None
    seconds: float | None

    def steps_to_boundary(self, step: int) -> int | None:
        """Steps until the next multiple of `steps` (checkpoints at 10, 20, ... wherever the run
        resumed: the same steps an uninterrupted run checkpoints)."""
        if self.steps is None:
            return None
        return self.steps - step % self.steps

    def due(self, step: int, committed_step: int, since_checkpoint: float) -> bool:
        if step <= committed_step:
            return False
        if self.steps is not None and step % self.steps == 0:
            return True
        return self.seconds is not None and since_checkpoint >= self.seconds


@dataclass
class Run:
    assignment_id: int
    task_id: int
    units: int
    price: int
    workload: Workload
    total_steps: int
    state: bytes
    step: int
    committed_step: int  # the step of this assignment's own latest checkpoint on chain (0: none)
    last_cid: str | None
    resumed_from: int  # the assignment whose checkpoint it started from (0: fresh)
    started_step: int
    checkpoint_at: float = field(default_factory=time.monotonic)
    seconds_per_step: float = 0.0
    reported_at: float = 0.0

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps

    def loss(self) -> float | None:
        loss = getattr(self.workload, "loss", None)
        if loss is None:
            return None
        value = loss(self.state)
        return float(value)

    def advance(self, steps: int) -> int:
        """Runs `steps` steps (at most up to the end); returns how many ran."""
        steps = max(0, min(steps, self.total_steps - self.step))
        if steps == 0:
            return 0
        started = time.monotonic()
        self.state = self.workload.run(self.state, steps)
        self.step = self.workload.step_of(self.state)
        per_step = (time.monotonic() - started) / steps
        # a moving average sizes the next slice; the first one is taken as it is
        self.seconds_per_step = (
            per_step if self.seconds_per_step == 0 else 0.7 * self.seconds_per_step + 0.3 * per_step
        )
        return steps

    def slice_steps(self, policy: CheckpointPolicy, slice_seconds: float) -> int:
        """How many steps the next turn runs: up to the next checkpoint boundary and about
        `slice_seconds` of work, at least one."""
        limit = self.total_steps - self.step
        boundary = policy.steps_to_boundary(self.step)
        if boundary is not None:
            limit = min(limit, boundary)
        if self.seconds_per_step > 0:
            limit = min(limit, max(1, int(slice_seconds / self.seconds_per_step)))
        else:
            limit = min(limit, 1)  # the first step measures the speed
        return max(1, limit)
