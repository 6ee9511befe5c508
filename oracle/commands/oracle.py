"""`verai oracle`: run a committee member, or show where one stands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import requests

from oracle.config import SettingsError, load_settings
from oracle.errors import OracleError


def _settings(config: Path | None, **flags: Any) -> Any:
    from oracle.service.settings import OracleSettings

    try:
        return load_settings(OracleSettings, config_file=config, **flags)
    except SettingsError as exc:
        for line in str(exc).splitlines():
            click.echo(f"error: {line}", err=True)
        sys.exit(2)


_config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file with settings (same names as the VERAI_* variables, lower case).",
)


@click.group(name="oracle")
def oracle_group() -> None:
    """Run a member of the oracle committee (`run`) or inspect one (`status`).

    Every setting is a VERAI_* environment variable, a key of the --config TOML file or, for the
    common ones, a flag (flags win, then the environment, then the file). Keys are files: a V3
    keystore and its password file, and the committee's VRF secret key file.
    """


@oracle_group.command("run")
@_config_option
@click.option("--rpc-url", default=None, help="JSON-RPC endpoint (VERAI_RPC_URL).")
@click.option(
    "--deployment", type=click.Path(path_type=Path), default=None, help="Deployment record."
)
@click.option("--keystore", type=click.Path(path_type=Path), default=None, help="V3 keystore.")
@click.option("--password-file", type=click.Path(path_type=Path), default=None)
@click.option("--vrf-key-file", type=click.Path(path_type=Path), default=None)
@click.option("--db", type=click.Path(path_type=Path), default=None, help="SQLite file.")
@click.option("--listen-port", type=int, default=None, help="Peer server port (0: any).")
@click.option("--peer", "peers", multiple=True, help="A peer's URL (repeat for each).")
@click.option("--metrics-port", type=int, default=None, help="/metrics and /healthz port.")
@click.option("--store-folder", type=click.Path(path_type=Path), default=None)
@click.option("--ipfs-url", default=None, help="Kubo RPC API URL (publish to IPFS).")
@click.option("--dry-run", is_flag=True, default=None, help="Compute and log; sign nothing.")
def run(config: Path | None, peers: tuple[str, ...], **flags: Any) -> None:
    """Run one committee member until SIGTERM: ingest the chain, take part in rounds, transmit
    on schedule, perform keeper duties, serve /metrics and /healthz.

    Without a keystore (or with --dry-run) the member computes and logs every round but signs
    and sends nothing."""
    settings = _settings(config, peers=list(peers) or None, **flags)
    from oracle.observe.logs import setup_logging
    from oracle.service.member import run_member

    setup_logging(settings.log_format, settings.log_level)
    try:
        run_member(settings)
    except OracleError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@oracle_group.command("status")
@_config_option
@click.option("--db", type=click.Path(path_type=Path), default=None, help="The member's SQLite.")
@click.option("--peer", "peers", multiple=True, help="A peer's URL (repeat for each).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(config: Path | None, db: Path | None, peers: tuple[str, ...], as_json: bool) -> None:
    """Print the member's ingestion cursor, the last round seen on-chain, its pending work
    (held attested reports, pending transactions, recent rounds) and which peers answer."""
    settings = _settings(config, db=db, peers=list(peers) or None)
    if not Path(settings.db).is_file():
        click.echo(f"error: setting db (VERAI_DB) = {str(settings.db)!r}: no such file", err=True)
        sys.exit(2)
    from oracle.service.status import read_status

    report = read_status(settings.db)
    report["peers"] = [_peer(url) for url in settings.peers]
    if as_json:
        click.echo(json.dumps(report, indent=1, default=str))
        return
    click.echo(f"database        {settings.db}")
    click.echo(f"cursor          block {report['cursor']}")
    click.echo(
        f"last round      {report['latest_round']} (snapshot block {report['latest_snapshot']})"
    )
    click.echo(f"committee       {report['committee']}")
    held = report["held"] or ["none"]
    click.echo(f"held reports    {', '.join(str(h) for h in held)}")
    click.echo(f"pending txs     {len(report['pending_transactions'])}")
    for tx in report["pending_transactions"]:
        click.echo(f"  {tx['key']}  nonce {tx['nonce']}  {tx['hash']}")
    click.echo("recent rounds")
    for r in report["rounds"] or []:
        click.echo(
            f"  round {r['first_round']:<5} {r['result']:<9} reports {r['reports']:<3} entries "
            f"{r['entries']:<5} snapshot {r['snapshot_block']}  {r['cid']}"
        )
    if not report["rounds"]:
        click.echo("  none")
    click.echo("peers")
    for peer in report["peers"]:
        if peer["answers"]:
            click.echo(
                f"  {peer['url']:<28} answers: member {peer['member']} round {peer['round']} "
                f"cursor {peer['cursor']}"
            )
        else:
            click.echo(f"  {peer['url']:<28} does not answer")
    if not report["peers"]:
        click.echo("  none configured")


def _peer(url: str) -> dict[str, Any]:
    try:
        reply = requests.get(f"{url}/v1/status", timeout=3)
        body = reply.json() if reply.status_code == 200 else None
    except (requests.RequestException, ValueError):
        body = None
    if not isinstance(body, dict):
        return {"url": url, "answers": False}
    return {"url": url, "answers": True, **body}
