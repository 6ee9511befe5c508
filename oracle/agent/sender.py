"""One `TxSender` shared by the heartbeat thread and the work loop.

TxSender picks nonces from the chain and its own pending rows, and is not thread-safe; two
threads sending at once could sign two transactions with one nonce. Every send and wait of the
agent therefore goes through one lock. A send holds it for a few seconds at most (one block on
BASE), so a checkpoint never delays a heartbeat by more than that."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from oracle.chain.calls import send_call
from oracle.chain.tx import TxOutcome, TxSender


class SerialSender:
    def __init__(self, sender: TxSender) -> None:
        self.tx = sender
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.tx.address

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[TxSender]:
        """The sender for a sequence of sends nothing may interleave with (registration)."""
        with self._lock:
            yield self.tx

    def send(
        self,
        call: Any,
        *,
        purpose: str,
        key: str | None = None,
        wait: bool = True,
        timeout: float = 120.0,
    ) -> TxOutcome:
        with self._lock:
            return send_call(self.tx, call, purpose=purpose, key=key, wait=wait, timeout=timeout)

    def wait(self, key: str, *, timeout: float = 120.0) -> TxOutcome:
        with self._lock:
            return self.tx.wait(key, timeout=timeout)

    def outcome(self, key: str) -> TxOutcome | None:
        with self._lock:
            return self.tx.outcome(key)

    def pending(self) -> list[TxOutcome]:
        with self._lock:
            return self.tx.pending()

    def resume(self, *, timeout: float = 120.0) -> list[TxOutcome]:
        with self._lock:
            return self.tx.resume(timeout=timeout)
