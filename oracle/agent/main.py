"""Building a node agent from its settings, with every start-up check done before anything is
sent: the keystore unlocks, the RPC answers, the deployment record is for the chain the RPC
serves and has code, the local database belongs to that deployment, the command workloads
parse. Any failure here is a `StartupError` with one line naming what was wrong."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from oracle.agent.agent import NodeAgent
from oracle.agent.metrics import AgentMetrics
from oracle.agent.progress import Progress
from oracle.agent.settings import AgentSettings
from oracle.agent.state import AgentState
from oracle.agent.telemetry import build_telemetry
from oracle.chain.connection import load_signer, open_chain
from oracle.checkpoints import CheckpointStore, IpfsStore, LocalStore
from oracle.errors import OracleError
from oracle.observe.health import Health
from oracle.observe.server import ObservationServer
from oracle.store import Database


class StartupError(OracleError):
    """The agent cannot start as configured; nothing was sent."""


@dataclass
class Assembled:
    agent: NodeAgent
    server: ObservationServer | None
    db: Database


def open_store(settings: AgentSettings) -> CheckpointStore:
    if settings.ipfs_url:
        return IpfsStore(settings.ipfs_url)
    return LocalStore(settings.store_path)


def assemble(settings: AgentSettings, progress: Progress) -> Assembled:
    for name, line in sorted(settings.commands.items()):
        try:
            if not shlex.split(line):
                raise ValueError("empty command")
        except ValueError as exc:
            raise StartupError(f"setting commands.{name} = {line!r}: {exc}") from None
    metrics = AgentMetrics()
    try:
        account = load_signer(settings, required=True)
        assert account is not None
        chain = open_chain(settings, on_error=metrics.rpc_error)
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.db_path)
        db.bind(
            chain_id=str(chain.chain_id),
            registry=chain.record.contracts["NodeRegistry"].lower(),
            owner=str(account.address).lower(),
        )
    except OracleError as exc:
        raise StartupError(str(exc)) from None
    except OSError as exc:
        raise StartupError(f"setting work_dir = {str(settings.work_dir)!r}: {exc}") from None
    state = AgentState(db)
    telemetry = build_telemetry(
        settings.telemetry,
        tdp_watts=settings.tdp_watts,
        rapl_root=settings.rapl_root,
        energy_base_j=state.energy_base(),
        on_switch=lambda failed, _next, _why: metrics.source_switches.labels(failed).inc(),
    )
    health = Health(timeout=settings.tx_timeout + 60)
    server = None
    if settings.metrics_port is not None:
        try:
            server = ObservationServer(
                settings.metrics_host, settings.metrics_port, metrics.registry, health
            ).start()
        except OSError as exc:
            raise StartupError(f"setting metrics_port = {settings.metrics_port}: {exc}") from None
    agent = NodeAgent(
        settings,
        chain=chain,
        account=account,
        db=db,
        store=open_store(settings),
        telemetry=telemetry,
        metrics=metrics,
        progress=progress,
        health=health,
    )
    return Assembled(agent, server, db)
