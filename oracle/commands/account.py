"""`verai account`: V3 keystores (new, list) and what a wallet holds (balance)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
from eth_account import Account

from oracle.chain.errors import KeystoreError
from oracle.chain.keystore import keystore_address, read_password_file, write_keystore
from oracle.commands._accounts import ape_accounts_dir, default_keystore_dir
from oracle.commands._options import WalletOptions, json_option, wallet_command
from oracle.commands._output import amount, emit_json, fail, show_eth, show_ver, table
from oracle.commands._session import Session

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
dir_option = click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keystore folder (default ~/.verai/keystores, or $VERAI_KEYSTORE_DIR).",
)


@click.group("account")
def account_group() -> None:
    """Wallets: make and list V3 keystores, see what an address holds.

    Commands that sign take --account ALIAS (an ape account) or --keystore FILE; the password is
    asked for (hidden) or read from --password-file, never given on the command line."""


@account_group.command("new")
@click.option("--name", help="File name in the folder (default: account-<address prefix>).")
@dir_option
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the new password from this file instead of asking twice.",
)
@json_option
def new(name: str | None, folder: Path | None, password_file: Path | None, as_json: bool) -> None:
    """Create a new account as an encrypted V3 keystore (file mode 0600)."""
    directory = folder or default_keystore_dir()
    if name is not None and not _NAME.match(name):
        fail(f"--name: {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    try:
        if password_file is not None:
            password = read_password_file(password_file)
        else:
            password = click.prompt(
                "Password for the new keystore",
                hide_input=True,
                confirmation_prompt=True,
                err=True,
            )
        if not password:
            fail("the password must not be empty")
        fresh = Account.create()
        stem = name or f"account-{fresh.address[2:10].lower()}"
        path = directory / f"{stem.removesuffix('.json')}.json"
        address = write_keystore(path, password, bytes(fresh.key))
    except KeystoreError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"schema": "verai.account.new/1", "address": address, "keystore": str(path)})
        return
    click.echo(f"created {address} in {path}")
    click.echo(f"use it with --keystore {path} (fund it on a local chain: verai faucet {address})")


@account_group.command("list")
@dir_option
@json_option
def list_accounts(folder: Path | None, as_json: bool) -> None:
    """The keystores of the folder and the ape accounts, with their addresses."""
    rows: list[dict[str, Any]] = []
    for source, directory in (
        ("verai", folder or default_keystore_dir()),
        ("ape", ape_accounts_dir()),
    ):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.json")):
            try:
                address = keystore_address(path)
            except KeystoreError:
                continue  # not a keystore (ape keeps other JSON files there too)
            name = path.stem
            use = f"--account {name}" if source == "ape" else f"--keystore {path}"
            rows.append(
                {
                    "source": source,
                    "name": name,
                    "address": _checksum(address),
                    "path": str(path),
                    "use": use,
                }
            )
    if as_json:
        emit_json({"schema": "verai.account.list/1", "accounts": rows})
        return
    if not rows:
        click.echo(
            f"no keystores in {folder or default_keystore_dir()} nor {ape_accounts_dir()}"
            " (verai account new)"
        )
        return
    click.echo(
        table(
            ("source", "name", "address", "use with"),
            [(r["source"], r["name"], r["address"], r["use"]) for r in rows],
        )
    )


def _checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


@account_group.command("balance")
@click.argument("who", metavar="[ADDRESS]", required=False)
@json_option
@wallet_command(signs=False)
def balance(who: str | None, as_json: bool, opts: WalletOptions) -> None:
    """ETH, VER, earnings and compensation of ADDRESS (default: the --account/--keystore
    wallet), read at one block."""
    from oracle.commands._accounts import parse_address

    session = Session(opts)
    address = parse_address(who, "ADDRESS") if who else session.require_address()
    token = session.contracts.token.functions
    market = session.contracts.market.functions
    ver, earnings, compensation = session.views(
        [token.balanceOf(address), market.earningsOf(address), market.compensationOf(address)]
    )
    eth = session.eth_balance(address)
    if as_json:
        doc: dict[str, Any] = {
            "schema": "verai.account.balance/1",
            "block": session.pin.number,
            "chain_id": session.chain.chain_id,
            "address": address,
        }
        amount(doc, "eth_balance", eth, unit="eth")
        amount(doc, "ver_balance", int(ver))
        amount(doc, "earnings", int(earnings))
        amount(doc, "compensation", int(compensation))
        emit_json(doc)
        return
    click.echo(f"{address} on chain {session.chain.chain_id} (block {session.pin.number:,}):")
    click.echo(f"  ETH           {show_eth(eth)}")
    click.echo(f"  VER           {show_ver(int(ver))}")
    click.echo(f"  earnings      {show_ver(int(earnings))} owed (verai earnings withdraw)")
    click.echo(f"  compensation  {show_ver(int(compensation))} owed (verai compensation claim)")
