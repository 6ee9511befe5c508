"""Ingestion: exactly once across restarts, reorgs, crashes halfway and duplicated logs."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from oracle.chain.events import ChainEvent
from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.chain.rpc import Rpc
from oracle.store import Database
from tests._history import RandomHistory, compare_at
from tests._localnet import GPU, VER, Localnet


class CountingSink:
    """Counts every event it is fed, by key, and what was rewound."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.seen: dict[tuple[str, int], int] = {}
        self.fail_at = fail_at
        self.rewinds: list[int] = []

    def apply(self, conn: sqlite3.Connection, event: ChainEvent, timestamp: int) -> None:
        if self.fail_at is not None and len(self.seen) == self.fail_at:
            raise RuntimeError("sink crashed halfway through the batch")
        self.seen[event.key] = self.seen.get(event.key, 0) + 1

    def rewind(self, conn: sqlite3.Connection, to_block: int) -> None:
        self.rewinds.append(to_block)
        self.seen = {k: v for k, v in self.seen.items() if self._block_of(conn, k) <= to_block}

    @staticmethod
    def _block_of(conn: sqlite3.Connection, key: tuple[str, int]) -> int:
        row = conn.execute(
            "SELECT block_number FROM logs WHERE block_hash = ? AND log_index = ?", key
        ).fetchone()
        return int(row[0]) if row else -1


def _ingestor(
    net: Localnet, db: Database, sinks: list[Any], rpc: Rpc | None = None, **kw: Any
) -> Ingestor:
    c = net.contracts
    return Ingestor(
        rpc or net.rpc,
        db,
        addresses=c.ingest_addresses(),
        contract_of=c.names_by_address(),
        sinks=sinks,
        start_block=net.record.start_block,
        **kw,
    )


def _register(net: Localnet, index: int, capacity: int = 4) -> None:
    owner = net.account(index)
    net.fund(owner)
    net.send(
        net.contracts.registry.functions.register(GPU, capacity, VER, 100 * VER, "ipfs://n"), owner
    )


def test_events_are_applied_once_across_restarts(localnet: Localnet, tmp_path: Path) -> None:
    _register(localnet, 1)
    db = Database(tmp_path / "state.sqlite")
    sink = CountingSink()
    first = _ingestor(localnet, db, [sink]).catch_up()
    assert first.events > 0 and first.cursor == localnet.head()
    assert set(sink.seen.values()) == {1}
    _register(localnet, 2)
    # a new process on the same file: resumes at the cursor, never re-applies
    again = CountingSink()
    second = _ingestor(localnet, Database(tmp_path / "state.sqlite"), [again]).catch_up()
    assert second.events == len(again.seen) > 0
    assert not set(again.seen) & set(sink.seen)
    assert set(again.seen.values()) == {1}


def test_a_sink_crash_halfway_rolls_the_batch_back_and_it_is_redone_once(
    localnet: Localnet, tmp_path: Path
) -> None:
    for i in (1, 2, 3):
        _register(localnet, i)
    db = Database(tmp_path / "state.sqlite")
    mirror = Mirror(db)
    crashing = CountingSink(fail_at=5)
    with pytest.raises(RuntimeError, match="crashed halfway"):
        _ingestor(localnet, db, [mirror, crashing]).poll()
    # nothing of the batch stayed: no logs, no cursor, no mirror rows
    assert db.execute("SELECT COUNT(*) FROM logs").fetchone()[0] == 0
    assert mirror.nodes_at(localnet.head()) == []
    healthy = CountingSink()
    result = _ingestor(localnet, db, [mirror, healthy]).catch_up()
    assert result.cursor == localnet.head() and set(healthy.seen.values()) == {1}
    assert len(mirror.nodes_at(result.cursor)) == 3
    compare_at(localnet, mirror, result.cursor)


class PerturbingRpc(Rpc):
    """The real node's answers, with every log returned twice and the list shuffled (what a
    load-balanced RPC behind several nodes can do)."""

    def request(self, method: str, params: Any = ()) -> Any:
        result = super().request(method, params)
        if method == "eth_getLogs":
            doubled = list(result) * 2
            random.Random(len(doubled)).shuffle(doubled)
            return doubled
        return result


def test_duplicated_and_out_of_order_logs_are_applied_once_in_chain_order(
    localnet: Localnet, tmp_path: Path
) -> None:
    history = RandomHistory(localnet, random.Random(5))
    history.run(40)
    db = Database(tmp_path / "state.sqlite")
    mirror = Mirror(db)
    sink = CountingSink()
    rpc = PerturbingRpc(localnet.url)
    result = _ingestor(localnet, db, [mirror, sink], rpc=rpc, batch_blocks=5).catch_up()
    assert set(sink.seen.values()) == {1}
    compare_at(localnet, mirror, result.cursor)


def test_a_reorg_made_with_snapshot_and_revert_is_rewound_and_reingested(
    localnet: Localnet, tmp_path: Path
) -> None:
    _register(localnet, 1)
    fork_point = localnet.head()
    snapshot = localnet.rpc_call("evm_snapshot")
    _register(localnet, 2, capacity=7)  # only on the branch that will be dropped
    localnet.mine(3)
    db = Database(tmp_path / "state.sqlite")
    mirror = Mirror(db)
    ingestor = _ingestor(localnet, db, [mirror])
    ingestor.catch_up()
    assert [n.capacity for n in mirror.nodes_at(localnet.head())] == [4, 7]
    assert localnet.rpc_call("evm_revert", snapshot) is True
    # the other branch: a different node 2, and more blocks than the dropped branch had
    _register(localnet, 3, capacity=9)
    localnet.mine(5)
    result = ingestor.poll()
    assert result.reorg_depth > 0
    assert ingestor.cursor()[0] == localnet.head()
    nodes = mirror.nodes_at(localnet.head())
    assert [(n.id, n.capacity, n.owner) for n in nodes] == [
        (1, 4, localnet.account(1).address),
        (2, 9, localnet.account(3).address),
    ]
    compare_at(localnet, mirror, localnet.head())
    compare_at(localnet, mirror, fork_point)


def test_anvil_reorg_of_depth_three_replaces_the_last_blocks(
    localnet: Localnet, tmp_path: Path
) -> None:
    _register(localnet, 1)
    _register(localnet, 2)
    c = localnet.contracts
    owner = localnet.account(1)
    for watts in (100, 200, 300):
        localnet.send(c.registry.functions.heartbeat(1, 5_000, watts), owner)
    db = Database(tmp_path / "state.sqlite")
    mirror = Mirror(db)
    ingestor = _ingestor(localnet, db, [mirror])
    ingestor.catch_up()
    assert mirror.node_at(1, localnet.head()).watts == 300  # type: ignore[union-attr]
    head = localnet.head()
    # replace the last 3 blocks (the three heartbeats) by blocks holding one other heartbeat
    call = c.registry.functions.heartbeat(1, 1_234, 77)
    nonce = int(localnet.rpc_call("eth_getTransactionCount", owner.address, "latest"), 16) - 3
    tx = call.build_transaction(
        {
            "from": owner.address,
            "chainId": localnet.chain_id,
            "gas": 200_000,
            "nonce": nonce,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    raw = "0x" + bytes(owner.sign_transaction(tx).raw_transaction).hex()
    localnet.rpc_call("anvil_reorg", 3, [[raw, 0]])
    assert localnet.head() == head
    result = ingestor.poll()
    assert result.reorg_depth >= 3
    node = mirror.node_at(1, localnet.head())
    assert node is not None and (node.watts, node.load_bps) == (77, 1_234)
    compare_at(localnet, mirror, localnet.head())
    heartbeats = db.execute("SELECT COUNT(*) FROM heartbeats WHERE node_id = 1").fetchone()[0]
    assert heartbeats == 1  # the three dropped heartbeats are gone from the history too


def test_pruning_keeps_every_state_a_recent_snapshot_needs(
    localnet: Localnet, tmp_path: Path
) -> None:
    history = RandomHistory(localnet, random.Random(8))
    history.run(50)
    db = Database(tmp_path / "state.sqlite")
    mirror = Mirror(db, retention_blocks=10, heartbeat_retention_blocks=10)
    head = _ingestor(localnet, db, [mirror]).catch_up().cursor
    removed = mirror.prune(head)
    assert removed > 0
    for block in (head - 10, head - 3, head):
        compare_at(localnet, mirror, block)
    oldest = db.execute("SELECT MIN(block_number) FROM heartbeats").fetchone()[0]
    assert oldest is None or oldest >= head - 10
