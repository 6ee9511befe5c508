"""Wallets as the ecosystem makes them: a keystore from `verai account new`, an ape account
(`~/.ape/accounts/ALIAS.json`, the same V3 format) used by its alias, listed with their
addresses; the password never on the command line."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from tests.commands.conftest import VER, Cli, Localnet


def test_new_list_and_use_a_keystore_and_an_ape_account(
    cli: Cli, net: Localnet, tmp_path: Path
) -> None:
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    made = cli.json("account", "new", "--name", "laptop", "--password-file", str(password))
    keystore = Path(made["keystore"])
    assert keystore == cli.home / "keystores" / "laptop.json"
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    again = cli.refused("account", "new", "--name", "laptop", "--password-file", str(password))
    assert again == f"keystore {keystore} already exists; choose another file"

    ape_accounts = cli.home / "ape" / "accounts"  # APE_DATA_FOLDER/accounts
    ape_accounts.mkdir(parents=True)
    shutil.copy(keystore, ape_accounts / "deployer.json")
    listed = cli.json("account", "list")["accounts"]
    assert {(a["source"], a["name"], a["address"]) for a in listed} == {
        ("verai", "laptop", made["address"]),
        ("ape", "deployer", made["address"]),
    }
    assert next(a for a in listed if a["source"] == "ape")["use"] == "--account deployer"

    cli.ok("faucet", made["address"], "--ver", "7.5", "--eth", "1")
    by_alias = cli.json("account", "balance", "--account", "deployer")
    assert by_alias["address"] == made["address"]
    assert by_alias["ver_balance"] == str(75 * VER // 10) and by_alias["ver_balance_ver"] == "7.5"
    # a signing command with the ape alias: the password from the file, the simulation refuses
    # (the new key holds no minter role) before anything is sent
    line = cli.refused(
        "faucet", "TEST::9", "--account", "deployer", "--password-file", str(password)
    )
    assert "AccessControlUnauthorizedAccount" in line and "(you) lacks MINTER_ROLE" in line
    table = cli.ok("account", "list").stdout.splitlines()
    assert table[0].split() == ["source", "name", "address", "use", "with"]
