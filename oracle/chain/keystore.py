"""Ethereum V3 keystores (the JSON files geth, ape and MetaMask export) unlocked with a password
file or a password. Keys are never taken from an environment variable or the command line.

ape's accounts are V3 keystores too (``~/.ape/accounts/<alias>.json``), so ``--account ALIAS``
works without importing ape.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from oracle.chain.errors import KeystoreError

APE_ACCOUNTS_DIR = Path.home() / ".ape" / "accounts"


def read_password_file(path: Path) -> str:
    """The password in `path` (one line; the trailing newline is not part of it)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise KeystoreError(f"password file {path}: cannot read it ({exc.strerror})") from exc
    return text.rstrip("\r\n")


def read_keystore(path: Path) -> dict[str, Any]:
    """The keystore JSON at `path`, checked to be a V3 keystore."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeystoreError(f"keystore {path}: no such file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"keystore {path}: not a readable JSON keystore ({exc})") from exc
    if not isinstance(data, dict) or data.get("version") != 3 or "crypto" not in data:
        raise KeystoreError(f"keystore {path}: not an Ethereum V3 keystore (no version 3 / crypto)")
    return data


def keystore_address(path: Path) -> str:
    """The address a keystore declares (without decrypting it)."""
    address = read_keystore(path).get("address")
    if not isinstance(address, str):
        raise KeystoreError(f"keystore {path}: no address field")
    return "0x" + address.removeprefix("0x").lower()


def unlock(path: Path, password: str) -> LocalAccount:
    """Decrypts the keystore at `path`; a wrong password is a KeystoreError saying so."""
    data = read_keystore(path)
    try:
        key = Account.decrypt(data, password)
    except ValueError as exc:
        raise KeystoreError(f"keystore {path}: wrong password (MAC mismatch)") from exc
    account: LocalAccount = Account.from_key(key)
    return account


def unlock_with_file(path: Path, password_file: Path) -> LocalAccount:
    return unlock(path, read_password_file(password_file))


def ape_keystore(alias: str, accounts_dir: Path = APE_ACCOUNTS_DIR) -> Path:
    """The keystore file of ape account `alias` (`ape accounts import ALIAS` made it)."""
    path = accounts_dir / f"{alias}.json"
    if not path.is_file():
        raise KeystoreError(
            f"no ape account {alias!r} (looked for {path}); create it with "
            f"`ape accounts import {alias}` or use --keystore FILE"
        )
    return path


def write_keystore(path: Path, password: str, private_key: bytes | None = None) -> str:
    """Writes a new V3 keystore (a fresh random key unless one is given) with mode 0600 and
    returns its address. Refuses to overwrite an existing file."""
    if path.exists():
        raise KeystoreError(f"keystore {path} already exists; choose another file")
    if not password:
        raise KeystoreError("a keystore needs a non-empty password")
    account = Account.from_key(private_key) if private_key is not None else Account.create()
    encrypted = Account.encrypt(account.key, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as out:
        json.dump(encrypted, out)
    return str(account.address)
