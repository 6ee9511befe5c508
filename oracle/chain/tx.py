"""Sending transactions that survive restarts, stuck fees and races.

`TxSender.send`:
1. simulates the call with `eth_call` from the sender (a revert is raised here, decoded, and
   nothing is sent), estimates gas (+25 % and a fixed headroom),
2. takes EIP-1559 fees from `eth_feeHistory` (refused above the configured ceiling),
3. signs with the next nonce and WRITES the signed transaction to SQLite before broadcasting it,
4. waits for a receipt; a transaction not mined after `replace_after` seconds is re-signed with
   the same nonce and data and both fee fields raised by >= 12.5 % (persisted first, again),
   up to the ceiling.

After a crash, `resume()` re-broadcasts and keeps waiting for every transaction still pending:
the same signed bytes or a fee replacement of them, never a different call for the same nonce.
A key (e.g. "transmit:round:42") makes a send idempotent: sending the same key again returns the
outcome of the first. Without a database (the wallet CLI) steps 1-4 run the same, in memory.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from eth_account.signers.local import LocalAccount

from oracle.chain.errors import TransactionFailed, TransactionReverted
from oracle.chain.fees import FeeCeilingReached, Fees, bump, suggest, within
from oracle.chain.revert import DecodedRevert, decode_revert, revert_bytes
from oracle.chain.rpc import JsonRpcError, Rpc
from oracle.store import Database

SCHEMA = [
    """
    CREATE TABLE transactions (
        key TEXT PRIMARY KEY, purpose TEXT NOT NULL, sender TEXT NOT NULL,
        nonce INTEGER NOT NULL, to_address TEXT NOT NULL, data TEXT NOT NULL,
        value TEXT NOT NULL, gas INTEGER NOT NULL, max_fee TEXT NOT NULL,
        priority_fee TEXT NOT NULL, hashes TEXT NOT NULL, raw TEXT NOT NULL,
        state TEXT NOT NULL, created_at REAL NOT NULL, sent_at REAL NOT NULL,
        block_number INTEGER, gas_used INTEGER, replacements INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '');
    CREATE INDEX transactions_by_state ON transactions(state, sender, nonce)
    """,
]

TxState = Literal["pending", "mined", "reverted", "dropped"]
DROP_CONFIRM_BLOCKS = 2


@dataclass(frozen=True)
class TxOutcome:
    """Where a transaction stands."""

    key: str
    state: TxState
    nonce: int
    tx_hash: str
    block_number: int | None = None
    gas_used: int | None = None
    replacements: int = 0
    detail: str = ""

    @property
    def mined(self) -> bool:
        return self.state == "mined"


class TxObserver:
    """Hooks for metrics; the defaults do nothing."""

    def sent(self, purpose: str) -> None: ...
    def replaced(self, purpose: str) -> None: ...
    def finished(self, purpose: str, state: str, gas_used: int | None, seconds: float) -> None: ...


@dataclass
class _Tx:
    key: str
    purpose: str
    nonce: int
    to: str
    data: str
    value: int
    gas: int
    fees: Fees
    hashes: list[str]
    raw: str
    state: TxState
    created_at: float
    sent_at: float
    replacements: int = 0
    block_number: int | None = None
    gas_used: int | None = None
    detail: str = ""

    def outcome(self) -> TxOutcome:
        return TxOutcome(
            self.key,
            self.state,
            self.nonce,
            self.hashes[-1],
            self.block_number,
            self.gas_used,
            self.replacements,
            self.detail,
        )


class TxSender:
    """Sends from one account through one RPC."""

    def __init__(
        self,
        rpc: Rpc,
        account: LocalAccount,
        chain_id: int,
        *,
        db: Database | None = None,
        fee_ceiling: int = 500 * 10**9,
        min_priority_fee: int = 10**6,
        gas_margin: float = 1.25,
        gas_headroom: int = 40_000,
        replace_after: float = 30.0,
        poll_interval: float = 0.5,
        observer: TxObserver | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rpc = rpc
        self.account = account
        self.address = str(account.address)
        self.chain_id = chain_id
        self.db = db
        self.fee_ceiling = fee_ceiling
        self.min_priority_fee = min_priority_fee
        self.gas_margin = gas_margin
        # A fixed headroom on top of the margin: a call estimated in one block may take a
        # costlier path in the next (a payment that was 0 one second earlier writes a fresh
        # balance slot: 22,100 gas more). Unused gas is not charged.
        self.gas_headroom = gas_headroom
        self.replace_after = replace_after
        self.poll_interval = poll_interval
        self.observer = observer or TxObserver()
        self._clock = clock
        self._sleep = sleep
        self._memory: dict[str, _Tx] = {}
        self._nonce_used_at: dict[str, int] = {}  # key -> head when its nonce was seen used
        # One send at a time picks a nonce, signs, persists and broadcasts: two threads of one
        # process (an agent's heartbeats and its commits) never sign two transactions with one
        # nonce. Waiting for receipts does not hold it.
        self._send_lock = threading.RLock()
        if db is not None:
            db.migrate("tx", SCHEMA)

    # ------------------------------------------------------------------ public
    def simulate(
        self, to: str, data: bytes, *, value: int = 0, block: str | int = "latest"
    ) -> bytes:
        """The call's return data; TransactionReverted (with the decoded error) if it reverts."""
        tag = block if isinstance(block, str) else hex(block)
        try:
            result = self.rpc.request("eth_call", [self._call(to, data, value), tag])
        except JsonRpcError as exc:
            raise self._reverted("simulation", exc) from None
        return bytes.fromhex(str(result).removeprefix("0x"))

    def send(
        self,
        to: str,
        data: bytes,
        *,
        purpose: str,
        key: str | None = None,
        value: int = 0,
        gas: int | None = None,
        wait: bool = True,
        timeout: float = 120.0,
    ) -> TxOutcome:
        """Simulates, signs, persists, broadcasts and (with `wait`) waits until mined, replacing
        stuck transactions. With `key`, a second call returns the first one's outcome."""
        if key is not None:
            existing = self._load(key)
            if existing is not None:
                if existing.state == "pending" and wait:
                    return self.wait(key, timeout=timeout)
                return existing.outcome()
        with self._send_lock:
            if key is not None and self._load(key) is not None:
                return self.wait(key, timeout=timeout) if wait else self._outcome_of(key)
            self.simulate(to, data, value=value)
            if gas is None:
                gas = self._estimate(to, data, value)
            fees = within(self.market_fees(), self.fee_ceiling)
            nonce = self._next_nonce()
            now = self._clock()
            raw, tx_hash = self._sign(nonce, to, data, value, gas, fees)
            tx = _Tx(
                key or f"{purpose}:{nonce}:{tx_hash}",
                purpose,
                nonce,
                to,
                "0x" + data.hex(),
                value,
                gas,
                fees,
                [tx_hash],
                raw,
                "pending",
                now,
                now,
            )
            self._save(tx, new=True)  # persisted BEFORE it is broadcast
            self._broadcast(tx)
        self.observer.sent(purpose)
        if not wait:
            return tx.outcome()
        return self.wait(tx.key, timeout=timeout)

    def wait(self, key: str, *, timeout: float = 120.0) -> TxOutcome:
        """Waits for the receipt of `key`, replacing the transaction when it is stuck; returns
        its outcome (still "pending" when `timeout` passed first)."""
        tx = self._load(key)
        if tx is None:
            raise KeyError(f"no transaction {key!r}")
        deadline = self._clock() + timeout
        while tx.state == "pending":
            if self._check_receipts(tx) or self._check_dropped(tx):
                break
            if self._clock() - tx.sent_at >= self.replace_after:
                self._replace(tx)
            elif self.rpc.request("eth_getTransactionByHash", [tx.hashes[-1]]) is None:
                # the node no longer has it (restarted, evicted from its pool): the same bytes
                # again, at once, rather than holding every later nonce until a replacement
                self._broadcast(tx)
            if self._clock() >= deadline:
                break
            self._sleep(self.poll_interval)
        return tx.outcome()

    def resume(self, *, timeout: float = 120.0) -> list[TxOutcome]:
        """After a restart: re-broadcasts every pending transaction of this sender (same bytes)
        and waits for each; returns their outcomes in nonce order."""
        pending = self._pending()
        for tx in pending:
            self._broadcast(tx)
        deadline = self._clock() + timeout  # one deadline for all, not one each
        return [self.wait(tx.key, timeout=max(0.0, deadline - self._clock())) for tx in pending]

    def pending(self) -> list[TxOutcome]:
        return [tx.outcome() for tx in self._pending()]

    def _outcome_of(self, key: str) -> TxOutcome:
        tx = self._load(key)
        assert tx is not None
        return tx.outcome()

    def outcome(self, key: str) -> TxOutcome | None:
        tx = self._load(key)
        return None if tx is None else tx.outcome()

    def estimate(self, to: str, data: bytes, *, value: int = 0) -> int:
        """The gas limit `send` would use (estimate + margin + headroom); raises
        TransactionReverted with the decoded error when the call would revert. For showing a
        fee before asking a person to sign."""
        self.simulate(to, data, value=value)
        return self._estimate(to, data, value)

    def market_fees(self) -> Fees:
        history = self.rpc.request("eth_feeHistory", [hex(10), "latest", [50]])
        return suggest(history, min_priority=self.min_priority_fee)

    def balance(self) -> int:
        return int(self.rpc.request("eth_getBalance", [self.address, "latest"]), 16)

    # ------------------------------------------------------------------ internals
    def _call(self, to: str, data: bytes, value: int) -> dict[str, str]:
        return {"from": self.address, "to": to, "data": "0x" + data.hex(), "value": hex(value)}

    def _reverted(self, stage: str, exc: JsonRpcError) -> TransactionReverted:
        payload = revert_bytes(exc.data)
        decoded: DecodedRevert | None = decode_revert(payload) if payload is not None else None
        if decoded is not None:
            return TransactionReverted(f"{stage} reverted: {decoded}", decoded)
        if "insufficient funds" in exc.message.lower():
            return TransactionReverted(
                f"{stage} failed: account {self.address} has not enough ETH for gas ({exc.message})"
            )
        return TransactionReverted(f"{stage} reverted: {exc.message}")

    def _estimate(self, to: str, data: bytes, value: int) -> int:
        try:
            estimate = int(self.rpc.request("eth_estimateGas", [self._call(to, data, value)]), 16)
        except JsonRpcError as exc:
            raise self._reverted("gas estimate", exc) from None
        return math.ceil(estimate * self.gas_margin) + self.gas_headroom

    def _next_nonce(self) -> int:
        chain = int(self.rpc.request("eth_getTransactionCount", [self.address, "pending"]), 16)
        mine = [tx.nonce + 1 for tx in self._pending()]
        return max([chain, *mine])

    def _sign(
        self, nonce: int, to: str, data: bytes, value: int, gas: int, fees: Fees
    ) -> tuple[str, str]:
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to,
            "data": data,
            "value": value,
            "gas": gas,
            **fees.as_tx(),
        }
        signed = self.account.sign_transaction(tx)
        return "0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex()

    def _broadcast(self, tx: _Tx) -> None:
        try:
            self.rpc.request("eth_sendRawTransaction", [tx.raw])
        except JsonRpcError as exc:
            message = exc.message.lower()
            if "already known" in message or "known transaction" in message:
                return  # the node has it: a resend after a restart or a retried request
            if "nonce too low" in message or "nonce is too low" in message:
                return  # the nonce was used: _check_dropped decides whether by this tx
            if "underpriced" in message:
                return  # the next replacement raises the fees further
            if "insufficient funds" in message:
                raise TransactionFailed(
                    f"{tx.purpose}: account {self.address} has not enough ETH to pay for "
                    f"{tx.gas} gas at {tx.fees.max_fee_per_gas} wei/gas; fund it"
                ) from None
            raise TransactionFailed(
                f"{tx.purpose}: the node refused the transaction: {exc.message}"
            ) from None

    def _check_receipts(self, tx: _Tx) -> bool:
        for tx_hash in reversed(tx.hashes):
            receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
            if receipt is None or receipt.get("blockNumber") is None:
                continue
            tx.state = "mined" if int(receipt["status"], 16) == 1 else "reverted"
            tx.block_number = int(receipt["blockNumber"], 16)
            tx.gas_used = int(receipt["gasUsed"], 16)
            tx.hashes.remove(tx_hash)
            tx.hashes.append(tx_hash)  # the last hash is the one that was mined
            self._save(tx)
            self.observer.finished(tx.purpose, tx.state, tx.gas_used, self._clock() - tx.created_at)
            return True
        return False

    def _check_dropped(self, tx: _Tx) -> bool:
        """The nonce was taken by a transaction that is none of ours: this one can never land.

        Declared only when the nonce has been used for `DROP_CONFIRM_BLOCKS` blocks and still
        none of our hashes has a receipt: a node (or the backends of a load-balanced RPC) may
        count the nonce a moment before it serves the receipt."""
        mined_nonce = int(self.rpc.request("eth_getTransactionCount", [self.address, "latest"]), 16)
        if mined_nonce <= tx.nonce or self._check_receipts(tx):
            self._nonce_used_at.pop(tx.key, None)
            return tx.state != "pending"
        head = int(self.rpc.request("eth_blockNumber", []), 16)
        first_seen = self._nonce_used_at.setdefault(tx.key, head)
        if head - first_seen < DROP_CONFIRM_BLOCKS:
            return False
        if self._check_receipts(tx):
            return True
        tx.state = "dropped"
        tx.detail = f"nonce {tx.nonce} was used by another transaction of {self.address}"
        self._save(tx)
        self.observer.finished(tx.purpose, tx.state, None, self._clock() - tx.created_at)
        return True

    def _replace(self, tx: _Tx) -> None:
        try:
            fees = within(bump(tx.fees, self.market_fees()), self.fee_ceiling)
        except FeeCeilingReached as exc:
            tx.detail = str(exc)  # wait at the current fees; nothing else to do
            tx.sent_at = self._clock()
            self._save(tx)
            return
        raw, tx_hash = self._sign(
            tx.nonce, tx.to, bytes.fromhex(tx.data[2:]), tx.value, tx.gas, fees
        )
        tx.fees, tx.raw, tx.sent_at = fees, raw, self._clock()
        tx.hashes.append(tx_hash)
        tx.replacements += 1
        self._save(tx)  # persisted before it is broadcast, like the first
        self._broadcast(tx)
        self.observer.replaced(tx.purpose)

    # ------------------------------------------------------------------ persistence
    def _save(self, tx: _Tx, *, new: bool = False) -> None:
        self._memory[tx.key] = tx
        if self.db is None:
            return
        row = (
            tx.purpose,
            self.address,
            tx.nonce,
            tx.to,
            tx.data,
            str(tx.value),
            tx.gas,
            str(tx.fees.max_fee_per_gas),
            str(tx.fees.max_priority_fee_per_gas),
            json.dumps(tx.hashes),
            tx.raw,
            tx.state,
            tx.created_at,
            tx.sent_at,
            tx.block_number,
            tx.gas_used,
            tx.replacements,
            tx.detail,
        )
        with self.db.transaction() as conn:
            if new:
                conn.execute(
                    "INSERT INTO transactions(purpose, sender, nonce, to_address, data, value, "
                    "gas, max_fee, priority_fee, hashes, raw, state, created_at, sent_at, "
                    "block_number, gas_used, replacements, detail, key) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*row, tx.key),
                )
            else:
                conn.execute(
                    "UPDATE transactions SET purpose=?, sender=?, nonce=?, to_address=?, data=?, "
                    "value=?, gas=?, max_fee=?, priority_fee=?, hashes=?, raw=?, state=?, "
                    "created_at=?, sent_at=?, block_number=?, gas_used=?, replacements=?, "
                    "detail=? WHERE key=?",
                    (*row, tx.key),
                )

    def _load(self, key: str) -> _Tx | None:
        if self.db is None:
            return self._memory.get(key)
        row = self.db.execute(
            "SELECT key, purpose, nonce, to_address, data, value, gas, max_fee, priority_fee, "
            "hashes, raw, state, created_at, sent_at, replacements, block_number, gas_used, detail "
            "FROM transactions WHERE key = ?",
            (key,),
        ).fetchone()
        return None if row is None else _from_row(row)

    def _pending(self) -> list[_Tx]:
        if self.db is None:
            return sorted(
                (t for t in self._memory.values() if t.state == "pending"), key=lambda t: t.nonce
            )
        rows = self.db.execute(
            "SELECT key, purpose, nonce, to_address, data, value, gas, max_fee, priority_fee, "
            "hashes, raw, state, created_at, sent_at, replacements, block_number, gas_used, detail "
            "FROM transactions WHERE state = 'pending' AND sender = ? ORDER BY nonce",
            (self.address,),
        ).fetchall()
        return [_from_row(row) for row in rows]


def _from_row(row: tuple[Any, ...]) -> _Tx:
    (
        key,
        purpose,
        nonce,
        to,
        data,
        value,
        gas,
        max_fee,
        priority,
        hashes,
        raw,
        state,
        created_at,
        sent_at,
        replacements,
        block_number,
        gas_used,
        detail,
    ) = row
    return _Tx(
        key,
        purpose,
        int(nonce),
        to,
        data,
        int(value),
        int(gas),
        Fees(int(max_fee), int(priority)),
        json.loads(hashes),
        raw,
        state,
        float(created_at),
        float(sent_at),
        int(replacements),
        block_number,
        gas_used,
        detail,
    )
