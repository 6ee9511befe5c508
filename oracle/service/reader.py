"""Reads what a round needs from the mirror, pinned to one block: the member's view at its
cursor and the round inputs at a snapshot block. Block headers the ingestor did not keep (it
keeps those with logs and batch ends) are read from the RPC by number, below the cursor only,
so they are final for the member."""

from __future__ import annotations

from dataclasses import dataclass

from oracle import sortition
from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import ASSIGNMENT_FAILED, NODES, RUNNING, Mirror
from oracle.chain.rpc import Rpc
from oracle.chain.snapshot import class_label
from oracle.service.inputs import (
    AssignmentRow,
    FailedRow,
    NodeRow,
    Parameters,
    RoundInputs,
    TaskRow,
)
from oracle.service.machine import View

MAX_WATTS = 2**24 - 1
"""The registry's bound on a heartbeat's power (uint24), and so on the power it credits."""


@dataclass(frozen=True)
class Committee:
    config_digest: bytes
    members: tuple[str, ...]
    threshold: int
    vrf_public_key: bytes
    version: int


class RoundReader:
    def __init__(
        self,
        mirror: Mirror,
        ingestor: Ingestor,
        rpc: Rpc,
        *,
        chain_id: int,
        market: str,
        verifier: str,
    ) -> None:
        self.mirror = mirror
        self.ingestor = ingestor
        self.rpc = rpc
        self.chain_id = chain_id
        self.market = market
        self.verifier = verifier

    def header(self, block: int) -> tuple[bytes, int]:
        """(hash, timestamp) of `block`."""
        row = self.mirror.db.execute(
            "SELECT hash, timestamp FROM blocks WHERE number = ?", (block,)
        ).fetchone()
        if row is not None:
            return bytes.fromhex(str(row[0])[2:]), int(row[1])
        raw = self.rpc.request("eth_getBlockByNumber", [hex(block), False])
        if raw is None:
            raise LookupError(f"block {block} is not on the chain")
        return bytes.fromhex(str(raw["hash"])[2:]), int(raw["timestamp"], 16)

    def committee(self, block: int) -> Committee | None:
        config = self.mirror.config_at(block)
        if config is None:
            return None
        return Committee(
            config_digest=bytes.fromhex(str(config["configDigest"])[2:]),
            members=tuple(str(s) for s in config["signers"]),
            threshold=int(config["threshold"]),
            vrf_public_key=bytes.fromhex(str(config["vrfPublicKey"])[2:]),
            version=int(config["version"]),
        )

    def service_index(self, block: int) -> int:
        """Service rounds the chain accepted up to `block`: distinct snapshot blocks of the
        ReportAccepted events (all reports of one service round share their snapshot block)."""
        row = self.mirror.db.execute(
            "SELECT COUNT(DISTINCT json_extract(args, '$.snapshotBlock')) FROM logs "
            "WHERE contract = 'ReportVerifier' AND event = 'ReportAccepted' AND block_number <= ?",
            (block,),
        ).fetchone()
        return int(row[0] or 0)

    def view(self) -> View:
        cursor, _ = self.ingestor.cursor()
        latest, snapshot_block = self.mirror.latest_round_at(cursor)
        return View(
            cursor=cursor,
            latest_round=latest,
            latest_snapshot_block=snapshot_block,
            service_index=self.service_index(cursor),
        )

    def credited_watts(self, block: int, timeout: int) -> dict[int, int]:
        """Node id -> the power (W, rounded down) the registry credited on the node's last
        heartbeat up to `block`: the increase of its energyJ on that beat over the credited
        interval, min(time since its previous heartbeat (or its registration), `timeout`), at
        most MAX_WATTS. Integers from the mirror's rows at `block` only, so every member (and
        the document's `watts`, which carries max(watts, this)) agrees. A node beating 0 W with
        a rising energy counter is credited the counter's joules: this is what it pays for.
        Nodes with no heartbeat, or an interval of 0 s, are left out (0)."""
        conn = self.mirror.db.connection
        rows = conn.execute(
            "SELECT node_id, timestamp, energy_j, rank FROM ("
            " SELECT node_id, timestamp, energy_j, ROW_NUMBER() OVER ("
            "  PARTITION BY node_id ORDER BY block_number DESC, log_index DESC) AS rank"
            " FROM heartbeats WHERE block_number <= ?) WHERE rank <= 2 ORDER BY node_id, rank",
            (block,),
        ).fetchall()
        beats: dict[int, list[tuple[int, int]]] = {}
        for node, ts, energy, _ in rows:
            beats.setdefault(int(node), []).append((int(ts), int(energy)))
        registered = {int(r["node_id"]): int(r["registered_at"]) for r in NODES.at(conn, block)}
        result = {}
        for node, history in beats.items():
            (at, energy), before = history[0], history[1:]
            since, base = before[0] if before else (registered.get(node, at), 0)
            interval = min(at - since, timeout) if timeout > 0 else at - since
            if interval > 0 and energy > base:
                result[node] = min(MAX_WATTS, (energy - base) // interval)
        return result

    def inputs(self, round: int, block: int, parameters: Parameters) -> RoundInputs:
        """The inputs of `round` at `block`; ValueError when the block cannot hold that round
        (its latest round is not round - 1, or no committee config)."""
        latest, snapshot_block = self.mirror.latest_round_at(block)
        if latest != round - 1:
            raise ValueError(f"block {block} has latest round {latest}, not {round - 1}")
        if block < snapshot_block:
            raise ValueError(f"block {block} is below the latest snapshot block {snapshot_block}")
        committee = self.committee(block)
        if committee is None:
            raise ValueError(f"no committee config at block {block}")
        block_hash, timestamp = self.header(block)
        # the watts are an input only in an energy-aware round (see RoundInputs.energy_weight)
        energy_weight = self.mirror.energy_weight_at(block)
        heartbeat_timeout = int(self.mirror.parameters_at(block).get("heartbeatTimeout", 0))
        credited = self.credited_watts(block, heartbeat_timeout) if energy_weight > 0 else {}
        nodes = tuple(
            NodeRow(
                id=n.id,
                resource_class=class_label(n.resource_class),
                status=n.status,
                capacity=n.capacity,
                reserved=n.reserved,
                price=n.price,
                load_bps=n.load_bps,
                last_heartbeat_at=n.last_heartbeat_at,
                watts=max(n.watts, credited.get(n.id, 0)) if energy_weight > 0 else 0,
            )
            for n in sorted(self.mirror.nodes_at(block), key=lambda n: n.id)
        )
        tasks = tuple(
            TaskRow(
                id=t.id,
                resource_class=class_label(t.resource_class),
                pending=t.pending,
                running=t.running,
                max_price=t.max_price,
                seed=t.seed,
            )
            for t in sorted(
                self.mirror.tasks_at(
                    block,
                    timestamp,
                    "expires_at > ? AND cancelled = 0 AND (pending > 0 OR running > 0)",
                    (timestamp,),
                ),
                key=lambda t: t.id,
            )
        )
        running = tuple(
            AssignmentRow(id=a.id, task=a.task_id, node=a.node_id, units=a.units)
            for a in sorted(self.mirror.assignments_at(block, "status = ?", (RUNNING,)),
                            key=lambda a: a.id)
        )  # fmt: skip
        failed = tuple(
            FailedRow(
                id=a.id,
                task=a.task_id,
                node=a.node_id,
                units=a.units,
                attempt=sortition.reassignment_attempt(a.id, a.draws),
            )
            for a in sorted(
                self.mirror.assignments_at(block, "status = ?", (ASSIGNMENT_FAILED,)),
                key=lambda a: a.id,
            )
        )
        return RoundInputs(
            chain_id=self.chain_id,
            market=self.market,
            verifier=self.verifier,
            config_digest="0x" + committee.config_digest.hex(),
            vrf_public_key="0x" + committee.vrf_public_key.hex(),
            first_round=round,
            service_index=self.service_index(block),
            snapshot_block=block,
            block_hash="0x" + block_hash.hex(),
            timestamp=timestamp,
            parameters=parameters,
            nodes=nodes,
            tasks=tasks,
            running=running,
            failed=failed,
            heartbeat_timeout=heartbeat_timeout,
            energy_weight=energy_weight,
        )
