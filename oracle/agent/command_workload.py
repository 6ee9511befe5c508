"""A workload that runs a command the contributor allowed, with a checkpoint-folder contract.

For each chunk of steps the agent
1. fills an empty folder, `$VERAI_CHECKPOINT_DIR`, with the files of the current checkpoint
   (nothing at step 0: a fresh start),
2. runs the command (no shell) with `VERAI_STEP` (the step the folder is at), `VERAI_STEPS`
   (how many steps to run now) and `VERAI_SHARD` (what seeds this part of the task, the same on
   every node that resumes it) in its environment,
3. expects exit status 0 and the folder holding the state after `VERAI_STEP + VERAI_STEPS`.

The folder is packed into the checkpoint bytes deterministically (paths sorted, no timestamps or
modes), after an 8-byte step header, so a deterministic command gives the same CID on every
machine and a resumed run ends with the bytes of an uninterrupted one. Commands come from the
agent's settings (`commands`), never from a task: a task only names one of them.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from oracle.agent.workload import WorkloadError

MAGIC = b"VERAIDIR1\n"
_HEADER = struct.Struct("<q")
_LENGTH = struct.Struct("<Q")


def pack_folder(folder: Path) -> bytes:
    """The files under `folder` as bytes: MAGIC, then per file (sorted by relative path)
    path length, path (UTF-8, '/'-separated), size, content."""
    parts = [MAGIC]
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        if path.is_symlink():
            raise WorkloadError(f"checkpoint folder holds a symlink, {path}: copy the file instead")
        name = path.relative_to(folder).as_posix().encode()
        content = path.read_bytes()
        parts += [_LENGTH.pack(len(name)), name, _LENGTH.pack(len(content)), content]
    return b"".join(parts)


def unpack_folder(data: bytes, folder: Path) -> None:
    """Writes the files of `pack_folder` bytes into the empty `folder`."""
    if not data:
        return
    if not data.startswith(MAGIC):
        raise WorkloadError("checkpoint is not a packed folder (bad magic)")
    offset = len(MAGIC)
    root = folder.resolve()
    while offset < len(data):
        try:
            (name_length,) = _LENGTH.unpack_from(data, offset)
            offset += _LENGTH.size
            name = data[offset : offset + name_length].decode()
            offset += name_length
            (size,) = _LENGTH.unpack_from(data, offset)
            offset += _LENGTH.size
        except (struct.error, UnicodeDecodeError) as exc:
            raise WorkloadError(f"packed folder is truncated or corrupt: {exc}") from None
        if offset + size > len(data):
            raise WorkloadError("packed folder is truncated")
        target = (root / name).resolve()
        if root not in target.parents:
            raise WorkloadError(f"packed folder names a path outside the folder: {name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[offset : offset + size])
        offset += size


class CommandWorkload:
    """See the module docstring. `argv` is the command line; `scratch` a folder it may own.
    A command is not taken to be deterministic unless its contributor says so."""

    deterministic = False

    def __init__(
        self,
        argv: Sequence[str],
        scratch: Path,
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        shard: str = "",
    ) -> None:
        if not argv:
            raise WorkloadError("a command workload needs a command")
        self.argv = list(argv)
        self.scratch = scratch
        self.timeout = timeout
        self.shard = shard
        base = dict(os.environ if env is None else env)
        # the agent's own settings (keystore paths ...) are none of the command's business
        self._env = {k: v for k, v in base.items() if not k.startswith("VERAI_")}

    def initial_state(self) -> bytes:
        return _HEADER.pack(0)

    def step_of(self, state: bytes) -> int:
        if len(state) < _HEADER.size:
            raise WorkloadError(f"state is {len(state)} bytes, shorter than its step header")
        (step,) = _HEADER.unpack_from(state)
        if step < 0:
            raise WorkloadError(f"state step is negative ({step})")
        return int(step)

    def run(self, state: bytes, steps: int) -> bytes:
        if steps < 0:
            raise WorkloadError(f"steps must be >= 0, got {steps}")
        step = self.step_of(state)
        if steps == 0:
            return state
        folder = self.scratch / "checkpoint"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        unpack_folder(state[_HEADER.size :], folder)
        env = {
            **self._env,
            "VERAI_CHECKPOINT_DIR": str(folder),
            "VERAI_STEP": str(step),
            "VERAI_STEPS": str(steps),
            "VERAI_SHARD": self.shard,
        }
        try:
            done = subprocess.run(
                self.argv,
                env=env,
                cwd=self.scratch,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise WorkloadError(f"command {self.argv[0]}: {exc}") from None
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise WorkloadError(
                f"command {self.argv[0]} exited {done.returncode} at step {step}: "
                + " | ".join(tail)
            )
        return _HEADER.pack(step + steps) + pack_folder(folder)
