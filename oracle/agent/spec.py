"""Task specs: what a task's `specURI` says to run, and the workload built from it.

A spec is a JSON object:

    {"workload": "linear-regression", "steps": 80, "features": 16, "samples": 256,
     "learning_rate": 0.05}
    {"workload": "command", "command": "my-trainer", "steps": 40}

`steps` is where the work is done (the assignment completes there). A `command` spec names one
of the commands the contributor listed in the agent's settings; a task can never bring its own.

The URI is `ipfs://<CID>` (fetched from the agent's checkpoint store, LocalStore or IPFS, and
re-hashed like every checkpoint) or an inline `data:application/json,<percent-encoded JSON>`
(or `;base64,`). Every node that runs a part of the task seeds that part from the spec, the task
id and the first assignment of its checkpoint chain, so a reassigned part trains the same data.
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from oracle.agent.command_workload import CommandWorkload
from oracle.agent.errors import SpecError
from oracle.agent.workload import LinearRegressionWorkload, Workload
from oracle.checkpoints import CheckpointStore, InvalidCid, canonical_cid

MAX_SPEC_BYTES = 64 * 1024
MAX_STEPS = 2**48 - 1  # the registry's step field
WORKLOADS = ("linear-regression", "command")


@dataclass(frozen=True)
class TaskSpec:
    workload: str
    steps: int
    params: Mapping[str, Any]
    text: str  # canonical JSON (sorted keys), part of every shard's seed

    @property
    def command(self) -> str | None:
        value = self.params.get("command")
        return None if value is None else str(value)


def parse_spec(raw: bytes) -> TaskSpec:
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is {len(raw)} bytes, more than {MAX_SPEC_BYTES}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"spec is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError("spec must be a JSON object")
    workload = data.get("workload")
    if workload not in WORKLOADS:
        raise SpecError(f"spec workload {workload!r} is not one of {', '.join(WORKLOADS)}")
    steps = data.get("steps")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise SpecError(f"spec steps must be an integer from 1 to {MAX_STEPS}, got {steps!r}")
    params = {k: v for k, v in data.items() if k not in ("workload", "steps")}
    if workload == "linear-regression":
        for key in ("features", "samples"):
            value = params.get(key, 1)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**7:
                raise SpecError(f"spec {key} must be a positive integer, got {value!r}")
        rate = params.get("learning_rate", 0.05)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < 10:
            raise SpecError(f"spec learning_rate must be a number in (0, 10), got {rate!r}")
        unknown = set(params) - {"features", "samples", "learning_rate"}
    else:
        if not isinstance(params.get("command"), str):
            raise SpecError('spec of a command workload needs "command": a name')
        unknown = set(params) - {"command"}
    if unknown:
        raise SpecError(f"spec has unknown fields: {', '.join(sorted(unknown))}")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return TaskSpec(str(workload), int(steps), params, text)


def fetch_spec(uri: str, store: CheckpointStore) -> TaskSpec:
    """The spec behind `uri` (see the module docstring). SpecError when it is not one."""
    if uri.startswith("data:"):
        header, _, payload = uri[5:].partition(",")
        if not header.startswith("application/json"):
            raise SpecError(f"spec URI {uri[:60]!r}: only data:application/json is read")
        try:
            raw = (
                base64.b64decode(payload, validate=True)
                if header.endswith(";base64")
                else (unquote_to_bytes(payload))
            )
        except ValueError as exc:
            raise SpecError(f"spec URI {uri[:60]!r}: bad base64: {exc}") from None
        return parse_spec(raw)
    if uri.startswith("ipfs://"):
        try:
            cid = canonical_cid(uri.removeprefix("ipfs://").split("/")[0])
        except InvalidCid as exc:
            raise SpecError(f"spec URI {uri!r} does not hold a CID: {exc}") from None
        return parse_spec(store.get(cid))  # CheckpointNotFound / IpfsError: try again later
    raise SpecError(f"spec URI {uri[:80]!r}: expected ipfs://<CID> or data:application/json,...")


def shard_seed(spec: TaskSpec, task_id: int, root_assignment: int) -> str:
    """What seeds one part of a task: the same for every assignment of a checkpoint chain."""
    return f"{spec.text}|task={task_id}|shard={root_assignment}"


def build_workload(
    spec: TaskSpec,
    *,
    task_id: int,
    root_assignment: int,
    commands: Mapping[str, str],
    scratch: Path,
) -> Workload:
    if spec.workload == "linear-regression":
        return LinearRegressionWorkload(
            shard_seed(spec, task_id, root_assignment),
            features=int(spec.params.get("features", 16)),
            samples=int(spec.params.get("samples", 256)),
            learning_rate=float(spec.params.get("learning_rate", 0.05)),
        )
    name = spec.command or ""
    if name not in commands:
        allowed = ", ".join(sorted(commands)) or "none"
        raise SpecError(
            f"the task asks for command {name!r}, which this node does not allow "
            f"(allowed: {allowed}; add it to the `commands` setting to run it)"
        )
    scratch.mkdir(parents=True, exist_ok=True)
    return CommandWorkload(
        shlex.split(commands[name]), scratch, shard=shard_seed(spec, task_id, root_assignment)
    )
