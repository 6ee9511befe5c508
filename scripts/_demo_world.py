"""The demo's cast (local wallets), its deployed contracts and the actions the off-chain parts
take: node agents (heartbeats, training, checkpoints) and the committee (sign, transmit)."""

from __future__ import annotations

from typing import Any

import click
from ape import accounts, chain

from oracle.agent.workload import LinearRegressionWorkload
from oracle.checkpoints import LocalStore, cid_bytes
from oracle.reports import (
    Domain,
    Report,
    encode_signatures,
    inputs_digest,
    select_quorum,
    sign_report,
)
from scripts._committee import LOCAL_MEMBERS, LOCAL_THRESHOLD
from scripts._deployment import DEFAULT_CLASSES, ROOT

STATUS = ("None", "Active", "Throttled", "Failed", "Exiting", "Exited")
ASSIGNMENT_STATUS = ("None", "Running", "Completed", "Moved", "Failed", "Reassigned", "Ended")
CLASS_NAMES = {c.key: c.name for c in DEFAULT_CLASSES}
A100 = next(c for c in DEFAULT_CLASSES if c.name == "GPU-A100-80G")
HEARTBEAT_TIMEOUT = 300  # short, so the demo shows a failure without waiting 15 minutes
FAILURE_GRACE = 60  # a suspected node has a minute to send a heartbeat
MINUTE = 60


def step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


class World:
    """Wallets, contracts and the off-chain state of the node agents."""

    def __init__(self) -> None:
        wallets = accounts.test_accounts
        self.deployer = wallets[0]
        self.contributors = {
            "alice": wallets[1],
            "bob": wallets[2],
            "carol": wallets[3],
            "erin": wallets[5],
            "frank": wallets[6],
        }
        self.reporter = wallets[4]
        self.developer = wallets[7]
        self.transmitter = wallets[8]  # oracle-1's transmitting wallet; members sign with keys
        self.names = {str(a.address): n for n, a in self.contributors.items()}
        self.names[str(self.reporter.address)] = "dave (reporter)"
        self.names[str(self.developer.address)] = "grace (developer)"
        self.nodes: dict[str, int] = {}
        self.c: dict[str, Any] = {}
        self.store = LocalStore(ROOT / "build" / "demo-checkpoints")
        self.task_id = 0
        self.work: dict[int, LinearRegressionWorkload] = {}  # assignment -> its workload
        self.state: dict[int, bytes] = {}  # assignment -> the model state its node holds
        self.shard: dict[int, str] = {}  # assignment -> the part of the task it trains
        self.failed: list[int] = []

    # ------------------------------------------------------------------ node agents
    def alive(self, *names: str) -> None:
        """A heartbeat from each named node (what every agent sends each interval)."""
        for name in names:
            self.c["NodeRegistry"].heartbeat(
                self.nodes[name], 5_000, 300, sender=self.contributors[name]
            )

    def advance(self, seconds: int, *alive: str) -> None:
        """Time passes; the named nodes keep sending heartbeats."""
        chain.mine(1, timestamp=chain.blocks.head.timestamp + seconds)
        self.alive(*alive)

    def report_failure(self, name: str, *alive: str) -> Any:
        """The keeper's two reports of a silent node: the suspicion, then, once the grace has
        passed without a heartbeat (the named nodes keep beating), the failure."""
        registry = self.c["NodeRegistry"]
        receipt = registry.reportFailure(self.nodes[name], sender=self.reporter)
        failable = receipt.decode_logs(registry.NodeSuspected)[0].failableAt
        click.echo(f"  dave suspects {name}'s node: it fails unless it beats by {failable}")
        self.advance(FAILURE_GRACE, *alive)
        return registry.reportFailure(self.nodes[name], sender=self.reporter)

    def owner_of(self, node_id: int) -> tuple[str, Any]:
        return next((n, self.contributors[n]) for n, i in self.nodes.items() if i == int(node_id))

    def node_of_assignment(self, assignment: int) -> tuple[str, Any]:
        return self.owner_of(self.c["TaskMarket"].getAssignment(assignment).nodeId)

    def start_work(self, assignment: int, shard: str, state: bytes | None = None) -> None:
        self.shard[assignment] = shard
        self.work[assignment] = LinearRegressionWorkload(shard)
        self.state[assignment] = self.work[assignment].initial_state() if state is None else state

    def train(self, assignment: int, until_step: int) -> tuple[bytes, str]:
        """The node trains up to `until_step`, stores the state and returns it with its CID."""
        work = self.work[assignment]
        state = work.run(self.state[assignment], until_step - work.step_of(self.state[assignment]))
        self.state[assignment] = state
        return state, self.store.put(state)

    def checkpoint(self, assignment: int, until_step: int) -> None:
        name, wallet = self.node_of_assignment(assignment)
        state, cid = self.train(assignment, until_step)
        receipt = self.c["CheckpointRegistry"].commit(
            assignment, until_step, cid_bytes(cid), sender=wallet
        )
        click.echo(
            f"  {name:<6} assignment {assignment}: step {until_step}, loss "
            f"{self.work[assignment].loss(state):.4f}, {cid[:24]}… (gas {receipt.gas_used:,})"
        )

    # ------------------------------------------------------------------ committee
    def report_fields(self, published: bytes) -> dict[str, Any]:
        """Header of the next report: the round after the last, the snapshot block, and the
        digest of the published inputs + solution (stored, so anyone can audit the round)."""
        verifier = self.c["ReportVerifier"]
        cid = self.store.put(published)
        return {
            "config_digest": bytes(verifier.config()[0]),
            "round": int(verifier.latestRound()[0]) + 1,
            "snapshot_block": chain.blocks.head.number - 1,
            "inputs_digest": inputs_digest(cid),
        }

    def transmit(self, report: Report, what: str) -> Any:
        """All four members sign; three signatures, sorted by signer, go on-chain."""
        verifier = self.c["ReportVerifier"]
        domain = Domain(chain_id=chain.chain_id, verifying_contract=str(verifier.address))
        signatures = [sign_report(report, domain, m.key) for m in LOCAL_MEMBERS]
        members = [m.address for m in LOCAL_MEMBERS]
        quorum = select_quorum(report, domain, members, LOCAL_THRESHOLD, signatures)
        receipt = verifier.transmit(
            report.as_abi(), encode_signatures(quorum), sender=self.transmitter
        )
        skipped = receipt.decode_logs(verifier.EntrySkipped)
        click.echo(
            f"  {len(LOCAL_MEMBERS)} members signed the {what} report (round {report.round}); "
            f"{LOCAL_THRESHOLD} signatures sent; gas {receipt.gas_used:,}"
        )
        if skipped:
            raise RuntimeError(f"the {what} report had skipped entries: {skipped}")
        return receipt
