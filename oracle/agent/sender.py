"""One `TxSender` shared by the heartbeat thread and the work loop.

TxSender picks nonces from the chain and its own pending rows; two threads sending at once could
sign two transactions with one nonce. Every send of the agent (simulate, sign, persist,
broadcast) therefore holds one lock; waiting for the receipt does not (it only touches the row of
its own key), so a commit waiting for a slow block never delays a heartbeat, and a heartbeat
stuck in the mempool never blocks a commit."""

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
            outcome = send_call(self.tx, call, purpose=purpose, key=key, wait=False)
        if not wait or outcome.state != "pending":
            return outcome
        return self.tx.wait(outcome.key, timeout=timeout)

    def wait(self, key: str, *, timeout: float = 120.0) -> TxOutcome:
        return self.tx.wait(key, timeout=timeout)

    def fresh_key(self, base: str) -> str:
        """`base`, or `base:retryN` past every earlier attempt that can no longer land
        (dropped: its nonce went to another transaction; reverted)."""
        key, attempt = base, 0
        while (previous := self.outcome(key)) is not None and previous.state in (
            "dropped",
            "reverted",
        ):
            attempt += 1
            key = f"{base}:retry{attempt}"
        return key

    def outcome(self, key: str) -> TxOutcome | None:
        with self._lock:
            return self.tx.outcome(key)

    def pending(self) -> list[TxOutcome]:
        with self._lock:
            return self.tx.pending()

    def resume(self, *, timeout: float = 120.0) -> list[TxOutcome]:
        with self._lock:
            return self.tx.resume(timeout=timeout)
