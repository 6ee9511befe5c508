"""Work a node runs for an assignment, checkpointable at any step.

A workload turns a state (bytes) into the next state, one step at a time, deterministically: the
same spec and the same starting bytes give the same bytes after N steps on any machine. That is
what makes a checkpoint worth paying for: a node that resumes from the latest checkpoint CID of a
failed assignment ends with exactly the bytes an uninterrupted run would have produced.
"""

from __future__ import annotations

import hashlib
import io
from typing import Protocol

import numpy as np
import numpy.typing as npt

from oracle.errors import OracleError


class WorkloadError(OracleError):
    """A workload cannot start or continue from the bytes it was given."""


class Workload(Protocol):
    """What the agent needs from a piece of work."""

    #: Whether the same input bytes give the same output bytes on every machine: only such a
    #: workload's intervals are re-executed and compared by CID (oracle/verification).
    deterministic: bool

    def initial_state(self) -> bytes:
        """The state before step 1."""
        ...

    def run(self, state: bytes, steps: int) -> bytes:
        """The state `steps` steps after `state`."""
        ...

    def step_of(self, state: bytes) -> int:
        """How many steps `state` is from the initial state."""
        ...


class LinearRegressionWorkload:
    """Trains a small linear model by full-batch gradient descent on synthetic data derived from
    the task's spec string, in float64 numpy. The products are written as element-wise
    multiplications and numpy sums rather than matrix products, so no multi-threaded BLAS kernel
    decides the order of the additions: with the same numpy version, the bytes after N steps are
    the same on every machine, and the same whether the run was interrupted or not.

    State bytes: ``step (int64 LE) ‖ weights (float64 LE[features])``.
    """

    deterministic = True

    def __init__(
        self, spec: str, features: int = 16, samples: int = 256, learning_rate: float = 0.05
    ) -> None:
        if features <= 0 or samples <= 0:
            raise WorkloadError(f"features and samples must be positive, got {features}, {samples}")
        seed = int.from_bytes(hashlib.sha256(spec.encode()).digest()[:8], "big")
        rng = np.random.default_rng(seed)
        self._x: npt.NDArray[np.float64] = rng.standard_normal((samples, features))
        truth = rng.standard_normal(features)
        noise = 0.01 * rng.standard_normal(samples)
        self._y: npt.NDArray[np.float64] = (self._x * truth).sum(axis=1) + noise
        self._features = features
        self._rate = learning_rate

    def initial_state(self) -> bytes:
        return self._encode(0, np.zeros(self._features))

    def run(self, state: bytes, steps: int) -> bytes:
        if steps < 0:
            raise WorkloadError(f"steps must be >= 0, got {steps}")
        step, weights = self._decode(state)
        n = self._x.shape[0]
        for _ in range(steps):
            residual = (self._x * weights).sum(axis=1) - self._y
            gradient = (self._x * residual[:, None]).sum(axis=0) / n
            weights = weights - self._rate * gradient
        return self._encode(step + steps, weights)

    def step_of(self, state: bytes) -> int:
        return self._decode(state)[0]

    def loss(self, state: bytes) -> float:
        """Mean squared error of the model in `state` (for progress output)."""
        _, weights = self._decode(state)
        residual = (self._x * weights).sum(axis=1) - self._y
        return float((residual * residual).sum() / residual.shape[0])

    def _encode(self, step: int, weights: npt.NDArray[np.float64]) -> bytes:
        buffer = io.BytesIO()
        buffer.write(np.int64(step).tobytes())
        buffer.write(np.ascontiguousarray(weights, dtype="<f8").tobytes())
        return buffer.getvalue()

    def _decode(self, state: bytes) -> tuple[int, npt.NDArray[np.float64]]:
        expected = 8 + 8 * self._features
        if len(state) != expected:
            raise WorkloadError(
                f"state is {len(state)} bytes, expected {expected} for {self._features} features"
            )
        step = int(np.frombuffer(state[:8], dtype="<i8")[0])
        if step < 0:
            raise WorkloadError(f"state step is negative ({step})")
        weights = np.frombuffer(state[8:], dtype="<f8").copy()
        return step, weights
