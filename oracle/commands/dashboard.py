"""`verai dashboard`: a live, read-only web page of the network (nodes, tasks, rounds, energy)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from oracle.config import SettingsError, load_settings
from oracle.errors import OracleError


def _fail(code: int, message: str) -> NoReturn:
    for line in message.splitlines() or [message]:
        click.echo(f"verai dashboard: {line}", err=True)
    sys.exit(code)


@click.command("dashboard")
@click.option(
    "--network",
    metavar="local|base-sepolia|URL",
    default=None,
    help="The chain: local (http://127.0.0.1:8545), base-sepolia (https://sepolia.base.org) or "
    "a JSON-RPC URL. Default: VERAI_RPC_URL, else local.",
)
@click.option(
    "--deployment",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Deployment record. Default: deployments/local/<chain-id>.json for a local RPC, "
    "deployments/<chain-id>.json otherwise.",
)
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default=None,
    help="Address of the web server. Default 127.0.0.1:8080: this machine only. Another "
    "address (e.g. 0.0.0.0:8080) shows the read-only pages to everyone who can reach it. "
    "Port 0 picks a free port.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file of the dashboard's own mirror (default dashboard.sqlite); it is bound to "
    "one deployment and rebuilt from the chain if deleted.",
)
@click.option(
    "--poll-interval", type=float, default=None, help="Seconds between chain polls (default 1)."
)
@click.option(
    "--confirmations",
    type=int,
    default=None,
    help="Blocks behind the head to show (default 0; reorgs are rewound either way).",
)
@click.option(
    "--store-folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder where the committee publishes its round documents (LocalStore): each round is "
    "then audited with `verai audit`'s checks. Without it (or --ipfs-url) rounds show "
    "'not audited'.",
)
@click.option(
    "--ipfs-url", default=None, help="Fetch round documents from this Kubo RPC API instead."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file with the same settings (flags and VERAI_* variables take precedence).",
)
@click.option(
    "--log-format", type=click.Choice(["json", "text"]), default=None, help="Log lines on stderr."
)
def dashboard_command(
    network: str | None,
    deployment: Path | None,
    listen: str | None,
    db: Path | None,
    poll_interval: float | None,
    confirmations: int | None,
    store_folder: Path | None,
    ipfs_url: str | None,
    config_file: Path | None,
    log_format: str | None,
) -> None:
    """Serve a live, read-only web dashboard of the network.

    Pages: the overview (nodes by class and status, utilisation, asks, open tasks, the last
    round and its age), each node (load, watts and heartbeat gaps over time, assignments,
    earnings), each task (units, assignments with checkpoints and CIDs, spend, escrow,
    reassignments), the committee rounds (entries, skipped entries and reasons, gas, audit
    verdict) and energy (power per class, kWh, renewable share toward the 80 % goal). Pages
    follow new blocks by themselves. No key is needed; nothing can be changed through it.
    /metrics and /healthz serve Prometheus and liveness checks.
    """
    from oracle.dashboard.settings import DashboardSettings, network_url, parse_listen

    overrides: dict[str, object] = {
        "rpc_url": None if network is None else network_url(network),
        "deployment": deployment,
        "db": db,
        "poll_interval": poll_interval,
        "confirmations": confirmations,
        "store_folder": store_folder,
        "ipfs_url": ipfs_url,
        "log_format": log_format,
    }
    if listen is not None:
        try:
            overrides["listen_host"], overrides["listen_port"] = parse_listen(listen)
        except ValueError as exc:
            _fail(2, f"--listen {exc}")
    try:
        settings = load_settings(DashboardSettings, config_file=config_file, **overrides)
    except SettingsError as exc:
        _fail(2, str(exc))

    from oracle.dashboard import service
    from oracle.observe.logs import setup_logging

    setup_logging(settings.log_format, settings.log_level)
    try:
        parts = service.assemble(settings)
    except OracleError as exc:
        _fail(1, str(exc))
    record = parts.chain.record
    click.echo(
        f"Following chain {parts.chain.chain_id} (deployment {record.path}, from block "
        f"{record.start_block}) into {settings.db}"
    )
    if settings.public:
        click.echo(
            f"warning: listening on {settings.listen_host}, beyond this machine: the pages are "
            "read-only, but everyone who can reach this address can read them",
            err=True,
        )

    def listening(url: str) -> None:
        click.echo(f"Listening on {url}", nl=True)
        sys.stdout.flush()

    import asyncio

    try:
        asyncio.run(service.serve(settings, parts, listening))
    except OracleError as exc:
        _fail(1, str(exc))
    except KeyboardInterrupt:
        pass
