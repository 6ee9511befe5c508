"""The transactions that carried committee reports: their gas and calldata, fetched once per
report (events carry neither) and kept in the dashboard's own table.

Rows are keyed by (tx hash, block hash): after a reorg the log of the new block finds no row and
the transaction is fetched again; a row of an orphaned block is never joined to a log again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from oracle.chain.rpc import Rpc
from oracle.store import Database

SCHEMA = [
    """
    CREATE TABLE dashboard_transactions (
        tx_hash TEXT NOT NULL, block_hash TEXT NOT NULL, sender TEXT NOT NULL,
        gas_used INTEGER NOT NULL, gas_price TEXT NOT NULL, l1_fee TEXT, input BLOB NOT NULL,
        PRIMARY KEY (tx_hash, block_hash))
    """,
]


@dataclass(frozen=True)
class ReportTransaction:
    tx_hash: str
    sender: str
    gas_used: int
    gas_price: int  # effective wei per gas
    l1_fee: int | None  # OP-stack chains (BASE): the L1 data fee in wei, when the node says it
    input: bytes

    @property
    def fee(self) -> int:
        return self.gas_used * self.gas_price + (self.l1_fee or 0)


class ReportTransactions:
    """Fetches the receipt and input of every ReportAccepted transaction not yet stored."""

    def __init__(self, rpc: Rpc, db: Database) -> None:
        self.rpc = rpc
        self.db = db
        db.migrate("dashboard", SCHEMA)

    def fetch_missing(self, limit: int = 50) -> int:
        """Stores up to `limit` missing transactions; returns how many it stored."""
        missing = self.db.execute(
            "SELECT DISTINCT l.tx_hash, l.block_hash FROM logs l WHERE l.contract = "
            "'ReportVerifier' AND l.event = 'ReportAccepted' AND NOT EXISTS (SELECT 1 FROM "
            "dashboard_transactions t WHERE t.tx_hash = l.tx_hash AND t.block_hash = "
            "l.block_hash) ORDER BY l.block_number LIMIT ?",
            (limit,),
        ).fetchall()
        if not missing:
            return 0
        calls: list[tuple[str, list[object]]] = []
        for tx_hash, _ in missing:
            calls.append(("eth_getTransactionReceipt", [tx_hash]))
            calls.append(("eth_getTransactionByHash", [tx_hash]))
        answers = self.rpc.batch(calls)
        rows = []
        for i, (tx_hash, block_hash) in enumerate(missing):
            receipt, tx = answers[2 * i], answers[2 * i + 1]
            if receipt is None or tx is None:
                continue  # not visible yet (a lagging node): next poll
            if str(receipt.get("blockHash", "")).lower() != block_hash:
                continue  # the chain moved: the ingestor rewinds, the new log asks again
            l1_fee = receipt.get("l1Fee")
            rows.append(
                (
                    tx_hash,
                    block_hash,
                    str(tx.get("from", "")),
                    int(receipt["gasUsed"], 16),
                    str(int(receipt.get("effectiveGasPrice") or tx.get("gasPrice") or "0x0", 16)),
                    None if l1_fee is None else str(int(l1_fee, 16)),
                    bytes.fromhex(str(tx.get("input", "0x")).removeprefix("0x")),
                )
            )
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO dashboard_transactions VALUES (?,?,?,?,?,?,?)", rows
            )
        return len(rows)


def report_transaction(
    conn: sqlite3.Connection, tx_hash: str, block_hash: str
) -> ReportTransaction | None:
    row = conn.execute(
        "SELECT tx_hash, sender, gas_used, gas_price, l1_fee, input FROM dashboard_transactions "
        "WHERE tx_hash = ? AND block_hash = ?",
        (tx_hash, block_hash),
    ).fetchone()
    if row is None:
        return None
    return ReportTransaction(
        str(row[0]),
        str(row[1]),
        int(row[2]),
        int(row[3]),
        None if row[4] is None else int(row[4]),
        bytes(row[5]),
    )
