"""The VerAI network end to end on a local chain posing as BASE Sepolia (`make demo`).

ape starts Anvil (chain id 84532, --optimism) for this script and stops it when the script ends,
whether it succeeds or fails.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand

from oracle.allocation import allocate
from oracle.chain.snapshot import read_snapshot
from oracle.checkpoints import cid_bytes, cid_from_bytes
from oracle.reports import Candidate, Report, build_report, prove_reassignment
from scripts._ape_backend import ApeBackend
from scripts._committee import LOCAL_VRF_SECRET, local_committee
from scripts._demo_world import (
    A100,
    ASSIGNMENT_STATUS,
    CLASS_NAMES,
    FAILURE_GRACE,
    HEARTBEAT_TIMEOUT,
    MINUTE,
    STATUS,
    World,
    step,
)
from scripts._deployment import DEFAULT_CLASSES, VER, Committee, deploy_all
from scripts._table import table, ver

FINAL_STEP = 80


class Demo(World):
    """Each method is one step of the story and prints what happened."""

    # ------------------------------------------------------------------ registry
    def deploy(self) -> None:
        step("Deploy the contracts, configure resource classes, seat a 3-of-4 committee")
        backend = ApeBackend(project, chain, self.deployer)
        record = deploy_all(
            backend,
            local=True,
            committee=Committee(*local_committee()),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            failure_grace=FAILURE_GRACE,
        )
        self.c = backend.instances(record.contracts)
        path = record.write(force=True)
        for name, address in record.contracts.items():
            click.echo(f"  {name:<18} {address}")
        click.echo(f"  chain id {chain.chain_id}; recorded in {path}")

    def register_nodes(self) -> None:
        step("Five contributors stake VER and register nodes")
        token, registry = self.c["VerToken"], self.c["NodeRegistry"]
        offers = {
            "alice": ("GPU-A100-80G", 8, 3 * VER, 150 * VER),
            "bob": ("GPU-RTX4090-24G", 4, 3 * VER // 2, 60 * VER),
            "carol": ("CPU-EPYC-64", 64, VER // 5, 20 * VER),
            "erin": ("GPU-A100-80G", 4, 5 * VER // 2, 100 * VER),
            "frank": ("GPU-A100-80G", 4, 7 * VER // 2, 100 * VER),
        }
        for name, (cls, capacity, price, stake) in offers.items():
            wallet = self.contributors[name]
            token.mint(wallet, 1_000 * VER, sender=self.deployer)
            token.approve(registry, stake, sender=wallet)
            key = next(c.key for c in DEFAULT_CLASSES if c.name == cls)
            receipt = registry.register(
                key, capacity, price, stake, f"ipfs://{name}-node", sender=wallet
            )
            self.nodes[name] = int(receipt.decode_logs(registry.NodeRegistered)[0].nodeId)
            click.echo(
                f"  {name:<6} node {self.nodes[name]}: {capacity} x {cls} at {ver(price)} "
                f"VER/unit-h, stake {ver(stake)} VER  (gas {receipt.gas_used:,})"
            )

    def heartbeats(self) -> None:
        step("Nodes send heartbeats with telemetry (bob draws more than his class allows)")
        registry = self.c["NodeRegistry"]
        readings = {
            "alice": (6_500, 350),
            "bob": (9_800, 520),
            "carol": (2_000, 180),
            "erin": (1_000, 90),
            "frank": (500, 80),
        }
        for name, (load, watts) in readings.items():
            node_id = self.nodes[name]
            receipt = registry.heartbeat(node_id, load, watts, sender=self.contributors[name])
            status = STATUS[registry.getNode(node_id).status]
            click.echo(
                f"  {name:<6} load {load / 100:.0f}%  {watts} W  -> {status}"
                f"  (gas {receipt.gas_used:,})"
            )

    def carol_fails(self) -> None:
        step(f"Time passes ({HEARTBEAT_TIMEOUT + 60} s); carol's node stops sending heartbeats")
        registry = self.c["NodeRegistry"]
        self.advance(HEARTBEAT_TIMEOUT + 60, "alice", "bob", "erin", "frank")
        click.echo("  the others sent fresh heartbeats (bob is back under his limit: Active)")
        receipt = self.report_failure("carol", "alice", "bob", "erin", "frank")
        log = receipt.decode_logs(registry.NodeFailed)[0]
        click.echo(
            f"  dave reported carol's node failed: slashed {ver(log.slashed)} VER, bounty "
            f"{ver(log.bounty)} VER to dave, {ver(log.burned)} VER burned; nothing ran on it, so "
            f"{ver(log.compensationHeld)} VER is held for developers (gas {receipt.gas_used:,})"
        )

    # ------------------------------------------------------------------ market + committee
    def submit_task(self) -> None:
        step("A developer escrows VER for a task: 6 x GPU-A100-80G for up to 2 h")
        token, market = self.c["VerToken"], self.c["TaskMarket"]
        token.mint(self.developer, 500 * VER, sender=self.deployer)
        token.approve(market, 2**256 - 1, sender=self.developer)
        receipt = market.submitTask(
            A100.key, 6, 4 * VER, 2 * 3600, "ipfs://demo-task-spec", sender=self.developer
        )
        log = receipt.decode_logs(market.TaskSubmitted)[0]
        self.task_id = int(log.taskId)
        click.echo(
            f"  grace submitted task {self.task_id}: cap 4 VER/unit-h, escrow "
            f"{ver(log.escrow)} VER (gas {receipt.gas_used:,})"
        )

    def allocate(self) -> None:
        step("The committee allocates from a chain snapshot and reports it (3 of 4 sign)")
        registry, market = self.c["NodeRegistry"], self.c["TaskMarket"]
        chain.mine(1)
        snapshot = read_snapshot(registry, market, chain.blocks.head.number - 1)
        result = allocate(snapshot)
        published = (snapshot.to_json() + "\n" + result.to_json()).encode()
        report = build_report(result, **self.report_fields(published))
        rows = [
            [e.task, e.node, self.owner_of(e.node)[0], e.units, ver(e.price)]
            for e in result.entries
        ]
        click.echo(table(["task", "node", "owner", "units", "VER/unit-h"], rows))
        receipt = self.transmit(report, "allocation")
        for log in receipt.decode_logs(market.AssignmentCreated):
            assignment = int(log.assignmentId)
            self.start_work(assignment, f"task {self.task_id} shard {assignment}")

    def run_and_fail(self) -> None:
        step("Nodes train and checkpoint; erin's node dies after a checkpoint, before the next")
        registry, market = self.c["NodeRegistry"], self.c["TaskMarket"]
        running = sorted(self.work)
        self.advance(30 * MINUTE, "alice", "erin", "frank")
        for assignment in running:
            self.checkpoint(assignment, 30)
        self.advance(20 * MINUTE, "alice", "frank")  # erin's node is gone from here on
        for assignment in running:
            if self.node_of_assignment(assignment)[0] != "erin":
                self.checkpoint(assignment, 50)
        click.echo("  erin trained 20 more steps but never checkpointed them: nobody pays for them")
        self.advance(HEARTBEAT_TIMEOUT + 1, "alice", "frank")
        receipt = self.report_failure("erin", "alice", "frank")
        log = receipt.decode_logs(registry.NodeFailed)[0]
        click.echo(
            f"  dave reported erin's node failed: {ver(log.compensationHeld)} VER held to "
            f"compensate, {ver(log.compensationPerUnit)} VER per reserved unit"
        )
        self.failed = [a for a in running if self.node_of_assignment(a)[0] == "erin"]
        receipt = market.settleNodeFailure(self.nodes["erin"], self.failed, sender=self.reporter)
        for closed in receipt.decode_logs(market.AssignmentClosed):
            start = int(market.getAssignment(closed.assignmentId).startAt)
            click.echo(
                f"  assignment {closed.assignmentId} ended at its last checkpoint: earned "
                f"{ver(closed.earned)} VER for {(int(closed.paidUntil) - start) // MINUTE} min"
            )

    def reassign(self) -> None:
        step("A VRF reassignment report moves the lost units; the new node resumes")
        registry, market = self.c["NodeRegistry"], self.c["TaskMarket"]
        chain.mine(1)
        snapshot = read_snapshot(registry, market, chain.blocks.head.number - 1)
        task = market.getTask(self.task_id)
        # each weight must equal the node's free units when its entry applies: the snapshot's,
        # less what the report's earlier entries reserve
        free = {n.id: n.free_units for n in snapshot.nodes}
        entries = []
        for failed in self.failed:
            units = int(market.getAssignment(failed).units)
            candidates = [
                Candidate(n.id, free[n.id])
                for n in snapshot.nodes
                if n.status == "active"
                and n.resource_class == "0x" + A100.key.hex()
                and free[n.id] >= units
                and n.price <= int(task.maxPricePerUnitHour)
            ]
            click.echo(
                f"  candidates for assignment {failed} (node: weight = free units): "
                + ", ".join(f"{c.node_id}: {c.weight}" for c in candidates)
            )
            entries.append(
                prove_reassignment(
                    LOCAL_VRF_SECRET,
                    chain_id=chain.chain_id,
                    market=str(market.address),
                    task_id=self.task_id,
                    task_seed=int(task.seed).to_bytes(32, "big"),
                    assignment_id=failed,
                    draw=int(market.drawsOf(failed)),
                    candidates=candidates,
                )
            )
            free[entries[-1].node_id] -= units
        fields = self.report_fields(snapshot.to_json().encode())
        receipt = self.transmit(Report(**fields, reassignments=tuple(entries)), "reassignment")
        for log in receipt.decode_logs(market.AssignmentCreated):
            new, source = int(log.assignmentId), int(log.resumesFrom)
            origin, at_step, raw = self.c["CheckpointRegistry"].resumePoint(new)
            cid = cid_from_bytes(bytes(raw))
            # the new node fetches the checkpoint; the store re-hashes it and refuses bad bytes
            self.start_work(new, self.shard[source], state=self.store.get(cid))
            click.echo(
                f"  the VRF picked {self.owner_of(log.nodeId)[0]}'s node {log.nodeId}: "
                f"assignment {new} resumes assignment {origin} at step {at_step} ({cid[:24]}…)"
            )

    def complete(self) -> None:
        step("The work finishes: final checkpoints, payments, refund and compensation")
        market = self.c["TaskMarket"]
        self.advance(30 * MINUTE, "alice", "frank")
        for assignment in sorted(self.work):
            if ASSIGNMENT_STATUS[int(market.getAssignment(assignment).status)] != "Running":
                continue
            name, wallet = self.node_of_assignment(assignment)
            state, cid = self.train(assignment, FINAL_STEP)
            receipt = market.complete(assignment, cid_bytes(cid), sender=wallet)
            closed = receipt.decode_logs(market.AssignmentClosed)[0]
            fresh = type(self.work[assignment])(self.shard[assignment])
            same = fresh.run(fresh.initial_state(), FINAL_STEP) == state
            click.echo(
                f"  {name:<6} completed assignment {assignment} at step {FINAL_STEP}: earned "
                f"{ver(closed.earned)} VER (gas {receipt.gas_used:,}); model equals an "
                f"uninterrupted run: {'yes' if same else 'NO'}"
            )
            if not same:
                raise RuntimeError(f"assignment {assignment} diverged from an uninterrupted run")
        for name in ("alice", "erin", "frank"):
            if market.earningsOf(self.contributors[name]):
                market.withdraw(sender=self.contributors[name])
        refund = market.claimRefund(self.task_id, sender=self.developer)
        comp = market.claimCompensation(sender=self.developer)
        click.echo(
            f"  grace got back {ver(refund.decode_logs(market.TaskRefunded)[0].amount)} VER of "
            f"unused escrow and {ver(comp.decode_logs(market.CompensationWithdrawn)[0].amount)} "
            "VER of compensation for erin's failure"
        )

    # ------------------------------------------------------------------ summary
    def summary(self) -> None:
        step("Registry")
        registry, token, market = self.c["NodeRegistry"], self.c["VerToken"], self.c["TaskMarket"]
        rows = []
        for node_id in range(1, registry.nodeCount() + 1):
            n = registry.getNode(node_id)
            rows.append(
                [
                    node_id,
                    self.names.get(str(n.owner), n.owner),
                    CLASS_NAMES.get(bytes(n.resourceClass), "?"),
                    STATUS[n.status],
                    f"{n.reserved}/{n.capacity}",
                    ver(n.pricePerUnitHour),
                    ver(n.stake),
                    f"{n.loadBps / 100:.0f}%",
                    n.watts,
                ]
            )
        headers = [
            "node",
            "owner",
            "class",
            "status",
            "reserved/cap",
            "VER/unit-h",
            "stake VER",
            "load",
            "watts",
        ]
        click.echo(table(headers, rows))
        step("VER balances")
        holders = [
            *self.contributors.items(),
            ("dave (reporter)", self.reporter),
            ("grace (developer)", self.developer),
            ("NodeRegistry", registry),
            ("TaskMarket", market),
        ]
        click.echo(table(["holder", "VER"], [[n, ver(token.balanceOf(a))] for n, a in holders]))
        stakes, held = registry.totalHeld()
        in_registry = token.balanceOf(registry)
        escrow, earnings, owed = market.totals()
        in_market = token.balanceOf(market)
        checks = [
            (
                f"registry holds {ver(in_registry)} VER = stakes {ver(stakes)} + compensation "
                f"{ver(held)}",
                in_registry == stakes + held,
            ),
            (
                f"market holds {ver(in_market)} VER = escrow {ver(escrow)} + earnings "
                f"{ver(earnings)} + compensation {ver(owed)}",
                in_market == escrow + earnings + owed,
            ),
        ]
        click.echo("")
        for text, ok in checks:
            click.echo(f"  {text}: {'OK' if ok else 'MISMATCH'}")
        if not all(ok for _, ok in checks):
            raise RuntimeError("a contract's VER does not match what it owes")


@click.command(cls=ConnectedProviderCommand, short_help="Run the VerAI network end to end")
def cli() -> None:
    """Deploy on a local Anvil posing as BASE Sepolia and walk through the network: nodes
    register and stake, send telemetry, one is throttled, one fails and is reported; a developer
    escrows a task, the 3-of-4 committee allocates it, nodes checkpoint, a node dies, a VRF
    reassignment resumes its work from the last checkpoint, everyone is paid and refunded."""
    demo = Demo()
    steps: list[Callable[[], None]] = [
        demo.deploy,
        demo.register_nodes,
        demo.heartbeats,
        demo.carol_fails,
        demo.submit_task,
        demo.allocate,
        demo.run_and_fail,
        demo.reassign,
        demo.complete,
        demo.summary,
    ]
    for action in steps:
        try:
            action()
        except Exception as exc:  # one clear line instead of a traceback; ape then stops Anvil
            raise click.ClickException(
                f"demo step '{action.__name__}' failed: {type(exc).__name__}: {exc}"
            ) from None
    click.secho("\ndemo finished: every step succeeded", fg="green")
