"""Re-execution of one checkpoint interval through the `Workload` interface the agent runs, and
the comparison by CID. Only a workload that declares itself deterministic is re-executed: on a
non-deterministic one (most GPU kernels by default) two honest runs differ, and comparing them
would slash on noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from oracle.agent.workload import Workload, WorkloadError
from oracle.cid import cid_for
from oracle.errors import OracleError


class NotVerifiable(OracleError):
    """The interval cannot be re-executed and compared; the message says why."""


@dataclass(frozen=True, slots=True)
class Reexecution:
    from_step: int
    to_step: int
    cid: str  # the CID of the state re-executed from the input checkpoint
    matches: bool  # equal to the CID the worker committed


def reexecute_interval(
    workload: Workload, input_state: bytes, committed_cid: str, to_step: int
) -> Reexecution:
    """Runs `workload` from `input_state` (the bytes of the interval's input checkpoint) up to
    `to_step` and compares the result's CID with `committed_cid`."""
    if not getattr(workload, "deterministic", False):
        raise NotVerifiable(
            f"{type(workload).__name__} does not declare itself deterministic: its interval "
            "cannot be compared by CID, so it is not verified (and nobody is slashed for it)"
        )
    try:
        from_step = workload.step_of(input_state)
    except WorkloadError as exc:
        raise NotVerifiable(
            f"the input checkpoint is not a state of this workload: {exc}"
        ) from None
    if to_step <= from_step:
        raise NotVerifiable(
            f"to_step {to_step} is not after the input checkpoint's step {from_step}"
        )
    state = workload.run(input_state, to_step - from_step)
    cid = cid_for(state)
    return Reexecution(from_step, to_step, cid, cid == committed_cid)
