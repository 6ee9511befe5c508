"""Child processes that are always stopped: each runs in its own process group with its output in
a log file, every wait has a timeout and says what it waited for, and `stop()` ends the whole
group (SIGTERM, then SIGKILL). Used by the tests and by `make demo` to run Anvil, committee
members and node agents as real processes.

A child also dies with its parent: on Linux it is started with PR_SET_PDEATHSIG = SIGKILL, so a
test runner or demo killed with SIGKILL (a CI timeout) leaves no Anvil or member running. The
signal follows the thread that started the child, so start children from the main thread.
Every child still running is listed by `running()` and ended by `stop_all()` (the test session
calls it at its end and reports any it had to stop).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if sys.platform == "linux"
    else None
)
_RUNNING: set[ManagedProcess] = set()  # strong: a child nobody refers to any more still counts


def _die_with_parent() -> None:
    # runs in the child between fork and exec: one system call, no Python-level locks
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def running() -> list[ManagedProcess]:
    """Children started here that are still alive."""
    return [p for p in list(_RUNNING) if p.alive()]


def stop_all() -> list[str]:
    """Stops every child still alive; returns their names."""
    names = []
    for process in running():
        names.append(process.name)
        process.stop()
    return names


class ProcessError(Exception):
    """A child process did not start, or a wait for it timed out; the message says which."""


def wait_until(
    condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.05
) -> object:
    """Polls `condition` until it returns something truthy; raises ProcessError naming `what`
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ProcessError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class ManagedProcess:
    """One child process with its own process group and log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(os.environ if env is None else env)
        self._cwd = cwd
        self._log: IO[bytes] | None = None
        self._offset = 0  # where this run's output starts in the (appended) log file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._offset = self._log.tell()
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,  # its own process group: stop() reaches its children
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            self._log.close()
            raise ProcessError(f"{self.name}: cannot start {self.argv[0]}: {exc}") from exc
        _RUNNING.add(self)
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ProcessError(f"{self.name} was never started")
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        """What this run has printed so far (earlier runs appended to the same log excluded)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_output(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """Waits until the log matches `pattern` (a regex); fails early if the process exits."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            match = regex.search(self.output())
            if match is None and not self.alive():
                raise ProcessError(
                    f"{self.name} exited (code {self.returncode}) before printing "
                    f"{pattern!r}; last output:\n{self.tail()}"
                )
            return match

        try:
            match = wait_until(found, timeout=timeout, what=f"{self.name} to print {pattern!r}")
        except ProcessError as exc:
            if not self.alive():
                raise
            raise ProcessError(f"{exc}; last output:\n{self.tail()}") from None
        assert isinstance(match, re.Match)
        return match

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def kill9(self) -> None:
        """SIGKILL to the whole group, the way a crash or `kill -9` ends it."""
        self._signal(signal.SIGKILL)
        self._reap(timeout=10)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM to the group, SIGKILL if it is still there after `timeout` seconds."""
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
        self._reap(timeout=10)
        return self.returncode

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def _reap(self, timeout: float) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                raise ProcessError(f"{self.name} (pid {self.process.pid}) did not exit") from exc
            # children left in the group (a shell's) go too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.process is not None and self.process.poll() is not None:
            _RUNNING.discard(self)
