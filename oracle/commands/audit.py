"""`verai audit`: re-solve rounds from their published documents and compare with the chain."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from oracle.config import ChainSettings, SettingsError, load_settings
from oracle.errors import OracleError


@click.command(name="audit")
@click.argument("round_number", metavar="ROUND", type=int, required=False)
@click.option("--all", "audit_all", is_flag=True, help="Audit every round since --from-block.")
@click.option("--from-block", type=int, default=None, help="First block to look at (with --all).")
@click.option("--rpc-url", default=None, help="JSON-RPC endpoint (VERAI_RPC_URL).")
@click.option("--deployment", type=click.Path(path_type=Path), default=None)
@click.option(
    "--store-folder",
    type=click.Path(path_type=Path),
    default=None,
    help="LocalStore folder holding the round documents (VERAI_STORE_FOLDER).",
)
@click.option("--ipfs-url", default=None, help="Fetch documents from this Kubo RPC API instead.")
@click.option(
    "--paths", default="structured,mcf,lp", show_default=True, help="Solvers to re-solve with."
)
def audit_command(
    round_number: int | None,
    audit_all: bool,
    from_block: int | None,
    store_folder: Path | None,
    ipfs_url: str | None,
    paths: str,
    **flags: Any,
) -> None:
    """Audit committee round ROUND (or --all rounds since --from-block): fetch its published
    document by the digest the chain recorded, re-solve it with structured, mcf and lp, and
    compare entry by entry with what the chain applied. Exit code 1 on any mismatch. Needs no
    key."""
    import os

    if (round_number is None) == (not audit_all):
        click.echo("error: give either ROUND or --all", err=True)
        sys.exit(2)
    chosen = tuple(p.strip() for p in paths.split(",") if p.strip())
    bad = [p for p in chosen if p not in ("structured", "mcf", "lp")]
    if bad or "structured" not in chosen:
        click.echo(f"error: --paths {paths!r}: choose among structured, mcf, lp (structured "
                   "is required)", err=True)  # fmt: skip
        sys.exit(2)
    try:
        settings = load_settings(ChainSettings, **flags)
    except SettingsError as exc:
        for line in str(exc).splitlines():
            click.echo(f"error: {line}", err=True)
        sys.exit(2)
    from oracle.chain.connection import open_chain
    from oracle.checkpoints import IpfsStore, LocalStore
    from oracle.service.audit import accepted_events, audit_round

    folder = store_folder or Path(os.environ.get("VERAI_STORE_FOLDER", "round-documents"))
    ipfs = ipfs_url or os.environ.get("VERAI_IPFS_URL")
    try:
        chain = open_chain(settings)
        store: Any = IpfsStore(ipfs) if ipfs else LocalStore(folder)
        start = from_block if from_block is not None else chain.record.start_block
        events = accepted_events(chain.contracts, start)
        if audit_all:
            rounds, seen = [], set()
            for e in events:
                digest = bytes(e.args["inputsDigest"])
                if digest not in seen:
                    seen.add(digest)
                    rounds.append(int(e.args["round"]))
        else:
            assert round_number is not None
            rounds = [round_number]
        if not rounds:
            click.echo(f"no rounds on chain since block {start}")
            return
        failed = 0
        for number in rounds:
            result = audit_round(chain.contracts, store, number, events=events, paths=chosen)
            span = ", ".join(str(r) for r in result.rounds) or str(number)
            click.echo(f"round {number} (reports of rounds {span})")
            for ok, text in result.checks:
                click.echo(f"  {'ok  ' if ok else 'FAIL'} {text}")
            verdict = "PASS" if result.ok else "FAIL"
            click.echo(f"  verdict: {verdict}")
            failed += 0 if result.ok else 1
    except OracleError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if len(rounds) > 1:
        click.echo(f"{len(rounds) - failed} of {len(rounds)} rounds pass")
    sys.exit(1 if failed else 0)
