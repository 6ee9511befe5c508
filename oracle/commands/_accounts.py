"""Which wallet a command acts for: an ape account alias, a V3 keystore file, or (local chains
only) one of Anvil's well-known dev accounts. Keys never come from the command line or the
environment: a keystore is unlocked with a password typed at a hidden prompt or read from a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address

from oracle.chain.errors import KeystoreError
from oracle.chain.keystore import ape_keystore, keystore_address, read_password_file, unlock
from oracle.commands._output import fail

# Anvil's and ape's default test mnemonic: account i holds 10,000 test ETH on every dev chain.
# It is public knowledge, never a secret, and only accepted on a local chain.
TEST_MNEMONIC = "test test test test test test test test test test test junk"
_TEST_ALIAS = re.compile(r"^TEST::(\d{1,3})$")


def verai_home() -> Path:
    return Path(os.environ.get("VERAI_HOME", Path.home() / ".verai"))


def default_keystore_dir() -> Path:
    return Path(os.environ.get("VERAI_KEYSTORE_DIR", verai_home() / "keystores"))


def default_cache_dir() -> Path:
    return verai_home() / "cache"


def ape_accounts_dir() -> Path:
    """Where ape keeps its accounts: $APE_DATA_FOLDER/accounts, else ~/.ape/accounts."""
    return Path(os.environ.get("APE_DATA_FOLDER", Path.home() / ".ape")) / "accounts"


def test_index(alias: str | None) -> int | None:
    """N for the alias TEST::N, else None."""
    match = _TEST_ALIAS.match(alias or "")
    return int(match.group(1)) if match else None


def test_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


def keystore_file(account: str | None, keystore: Path | None) -> Path | None:
    """The keystore behind --account ALIAS or --keystore FILE (None when neither is given)."""
    if account and keystore:
        fail("give --account or --keystore, not both")
    try:
        if keystore is not None:
            if not keystore.is_file():
                fail(f"--keystore {keystore}: no such file")
            return keystore
        if account:
            return ape_keystore(account, ape_accounts_dir())
    except KeystoreError as exc:
        fail(str(exc))
    return None


def address_of(account: str | None, keystore: Path | None) -> str | None:
    """The address of the configured wallet, read without unlocking it."""
    index = test_index(account)
    if index is not None:
        return str(test_account(index).address)
    path = keystore_file(account, keystore)
    if path is None:
        return None
    try:
        return str(to_checksum_address(keystore_address(path)))
    except KeystoreError as exc:
        fail(str(exc))


def unlock_wallet(
    account: str | None, keystore: Path | None, password_file: Path | None, *, local: bool
) -> LocalAccount:
    """The signing account; asks for the keystore's password (hidden) unless a file holds it."""
    index = test_index(account)
    if index is not None:
        if not local:
            fail(f"--account {account}: Anvil's dev accounts exist only on a local chain")
        return test_account(index)
    path = keystore_file(account, keystore)
    if path is None:
        fail(
            "no wallet: pass --account ALIAS (an ape account) or --keystore FILE "
            "(`verai account new` makes one)"
        )
    try:
        if password_file is not None:
            password = read_password_file(password_file)
        else:
            password = click.prompt(f"Password of {path}", hide_input=True, err=True)
        return unlock(path, password)
    except KeystoreError as exc:
        fail(str(exc))


def parse_address(text: str, what: str) -> str:
    """A 0x address, an ape alias or a keystore file, as a checksum address."""
    if is_address(text):
        return str(to_checksum_address(text))
    if text.startswith("0x"):
        fail(f"{what}: {text!r} is not a 20-byte 0x address")
    index = test_index(text)
    if index is not None:
        return str(test_account(index).address)
    path = Path(text)
    try:
        if path.is_file():
            return str(to_checksum_address(keystore_address(path)))
        return str(to_checksum_address(keystore_address(ape_keystore(text, ape_accounts_dir()))))
    except KeystoreError as exc:
        fail(f"{what}: {text!r} is no address, keystore file or ape account ({exc})")
