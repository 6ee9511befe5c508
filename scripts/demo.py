"""The VerAI network end to end on a local chain posing as BASE Sepolia (`make demo`).

ape starts Anvil (chain id 84532, --optimism) for this script and stops it when the script ends,
whether it succeeds or fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand

from scripts._deployment import DEFAULT_CLASSES, VER, deploy_all
from scripts._table import table, ver

STATUS = {0: "None", 1: "Active", 2: "Throttled", 3: "Failed", 4: "Exiting", 5: "Exited"}
CLASS_NAMES = {c.key: c.name for c in DEFAULT_CLASSES}
HEARTBEAT_TIMEOUT = 300  # short, so the demo can show a failure without waiting 15 minutes


class Demo:
    """The demo's cast and contracts; each step is a method that prints what happened."""

    def __init__(self) -> None:
        wallets = accounts.test_accounts
        self.deployer = wallets[0]
        self.contributors = {"alice": wallets[1], "bob": wallets[2], "carol": wallets[3]}
        self.reporter = wallets[4]
        self.names = {str(a.address): n for n, a in self.contributors.items()}
        self.names[str(self.reporter.address)] = "dave (reporter)"
        self.nodes: dict[str, int] = {}
        self.c: dict[str, Any] = {}

    def step(self, title: str) -> None:
        click.secho(f"\n== {title}", bold=True)

    def deploy(self) -> None:
        self.step("Deploy VerToken and NodeRegistry, configure resource classes")
        record, self.c = deploy_all(
            project, chain, self.deployer, local=True, heartbeat_timeout=HEARTBEAT_TIMEOUT
        )
        path = record.write(force=True)
        for name, address in record.contracts.items():
            click.echo(f"  {name:<14} {address}")
        click.echo(f"  chain id {chain.chain_id}; recorded in {path}")

    def register_nodes(self) -> None:
        self.step("Three contributors stake VER and register nodes")
        token, registry = self.c["VerToken"], self.c["NodeRegistry"]
        offers = {
            "alice": ("GPU-A100-80G", 8, 3 * VER, 150 * VER),
            "bob": ("GPU-RTX4090-24G", 4, 3 * VER // 2, 60 * VER),
            "carol": ("CPU-EPYC-64", 64, VER // 5, 20 * VER),
        }
        for name, (cls, capacity, price, stake) in offers.items():
            wallet = self.contributors[name]
            token.mint(wallet, 1_000 * VER, sender=self.deployer)
            token.approve(registry, stake, sender=wallet)
            key = next(c.key for c in DEFAULT_CLASSES if c.name == cls)
            receipt = registry.register(
                key, capacity, price, stake, f"ipfs://{name}-node", sender=wallet
            )
            node_id = receipt.decode_logs(registry.NodeRegistered)[0].nodeId
            self.nodes[name] = node_id
            click.echo(
                f"  {name:<6} node {node_id}: {capacity} x {cls} at {ver(price)} VER/unit-h,"
                f" stake {ver(stake)} VER  (gas {receipt.gas_used:,})"
            )

    def heartbeats(self) -> None:
        self.step("Nodes send heartbeats with telemetry (bob draws more than his class allows)")
        registry = self.c["NodeRegistry"]
        readings = {"alice": (6_500, 350), "bob": (9_800, 520), "carol": (2_000, 180)}
        for name, (load, watts) in readings.items():
            receipt = registry.heartbeat(
                self.nodes[name], load, watts, sender=self.contributors[name]
            )
            status = STATUS[registry.getNode(self.nodes[name]).status]
            click.echo(
                f"  {name:<6} load {load / 100:.0f}%  {watts} W  -> {status}"
                f"  (gas {receipt.gas_used:,})"
            )

    def failure(self) -> None:
        self.step(
            f"Time passes ({HEARTBEAT_TIMEOUT + 60} s); carol's node stops sending heartbeats"
        )
        registry = self.c["NodeRegistry"]
        chain.mine(1, timestamp=chain.blocks.head.timestamp + HEARTBEAT_TIMEOUT + 60)
        for name in ("alice", "bob"):
            registry.heartbeat(self.nodes[name], 5_000, 300, sender=self.contributors[name])
        click.echo("  alice and bob sent fresh heartbeats (bob is back under his limit: Active)")
        receipt = registry.reportFailure(self.nodes["carol"], sender=self.reporter)
        log = receipt.decode_logs(registry.NodeFailed)[0]
        click.echo(
            f"  dave reported carol's node failed: slashed {ver(log.slashed)} VER, bounty "
            f"{ver(log.bounty)} VER to dave, {ver(log.compensationHeld)} VER held to "
            f"compensate her tasks' developers (gas {receipt.gas_used:,})"
        )

    def report(self) -> None:
        self.step("Registry")
        registry, token = self.c["NodeRegistry"], self.c["VerToken"]
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
        click.echo(
            table(
                [
                    "node",
                    "owner",
                    "class",
                    "status",
                    "reserved/cap",
                    "VER/unit-h",
                    "stake VER",
                    "load",
                    "watts",
                ],
                rows,
            )
        )
        self.step("VER balances")
        holders = [
            *self.contributors.items(),
            ("dave (reporter)", self.reporter),
            ("NodeRegistry", registry),
        ]
        click.echo(table(["holder", "VER"], [[n, ver(token.balanceOf(a))] for n, a in holders]))
        stakes, compensation = registry.totalHeld()
        held = token.balanceOf(registry)
        ok = held == stakes + compensation
        click.echo(
            f"\n  registry holds {ver(held)} VER = stakes {ver(stakes)} + compensation "
            f"{ver(compensation)}: {'OK' if ok else 'MISMATCH'}"
        )
        if not ok:
            raise RuntimeError("the registry's VER does not equal stakes + compensation")


@click.command(cls=ConnectedProviderCommand, short_help="Run the VerAI network end to end")
def cli() -> None:
    """Deploy on a local Anvil posing as BASE Sepolia and walk through the network: nodes
    register and stake, send telemetry, one is throttled, one fails and is reported."""
    demo = Demo()
    steps: list[Callable[[], None]] = [
        demo.deploy,
        demo.register_nodes,
        demo.heartbeats,
        demo.failure,
        demo.report,
    ]
    for step in steps:
        try:
            step()
        except Exception as exc:  # one clear line instead of a traceback, then ape stops Anvil
            raise click.ClickException(
                f"demo step '{step.__name__}' failed: {type(exc).__name__}: {exc}"
            ) from None
    click.secho("\ndemo finished: every step succeeded", fg="green")
