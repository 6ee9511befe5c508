"""What `verai oracle status` reads from a member's SQLite file (read-only queries)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from oracle.chain.mirror import Mirror
from oracle.service.persistence import ServiceStore
from oracle.store import Database


def read_status(path: Path) -> dict[str, Any]:
    db = Database(path)
    mirror = Mirror(db)
    store = ServiceStore(db)
    row = db.execute("SELECT block FROM ingest_cursor WHERE name = 'main'").fetchone()
    cursor = int(row[0]) if row else None
    latest, snapshot = mirror.latest_round_at(cursor) if cursor is not None else (0, 0)
    config = mirror.config_at(cursor) if cursor is not None else None
    committee = (
        f"{config['threshold']} of {len(config['signers'])}, version {config['version']}"
        if config
        else "no config ingested"
    )
    held = []
    for body in store.held(latest):
        message = json.loads(body)
        first = int(message["round"])
        held.append(f"rounds {first}..{first + len(message['reports']) - 1}")
    pending = []
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "transactions" in tables:
        for key, nonce, hashes in db.execute(
            "SELECT key, nonce, hashes FROM transactions WHERE state = 'pending' ORDER BY nonce"
        ):
            pending.append({"key": key, "nonce": nonce, "hash": json.loads(hashes)[-1]})
    return {
        "cursor": cursor,
        "latest_round": latest,
        "latest_snapshot": snapshot,
        "committee": committee,
        "held": held,
        "pending_transactions": pending,
        "rounds": [
            {**r, "result": "on chain"} if r["first_round"] + r["reports"] - 1 <= latest else r
            for r in store.rounds()
        ],
    }
