"""Keystores and settings: precise, one-line errors; precedence flags > env > file > defaults."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from oracle.chain.connection import load_signer
from oracle.chain.errors import KeystoreError
from oracle.chain.keystore import keystore_address, unlock, unlock_with_file, write_keystore
from oracle.config import ChainSettings, SettingsError, SignerSettings, load_settings

KEY = bytes.fromhex("11" * 32)


def test_a_keystore_is_written_0600_and_unlocks_to_its_key(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    address = write_keystore(path, "s3cret", KEY)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert address == Account.from_key(KEY).address
    assert keystore_address(path) == address.lower()
    assert unlock(path, "s3cret").key == KEY
    (tmp_path / "pw").write_text("s3cret\n")
    assert unlock_with_file(path, tmp_path / "pw").address == address


def test_keystore_errors_say_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_keystore(path, "right", KEY)
    with pytest.raises(KeystoreError, match="wrong password"):
        unlock(path, "wrong")
    with pytest.raises(KeystoreError, match="no such file"):
        unlock(tmp_path / "missing.json", "x")
    (tmp_path / "plain.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(KeystoreError, match="not an Ethereum V3 keystore"):
        unlock(tmp_path / "plain.json", "x")
    with pytest.raises(KeystoreError, match="already exists"):
        write_keystore(path, "again")


def test_a_keystore_without_a_password_file_is_refused(tmp_path: Path) -> None:
    settings = load_settings(SignerSettings, keystore=tmp_path / "k.json")
    with pytest.raises(KeystoreError, match="needs a password file: set VERAI_PASSWORD_FILE"):
        load_signer(settings, required=True)
    assert load_signer(load_settings(SignerSettings), required=False) is None
    with pytest.raises(KeystoreError, match="no keystore configured"):
        load_signer(load_settings(SignerSettings), required=True)


def test_flags_beat_environment_beat_file_beat_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "verai.toml"
    config.write_text('rpc_url = "http://127.0.0.1:1111"\nrpc_timeout = 3.5\nlog_format = "text"\n')
    assert load_settings(ChainSettings).rpc_url == "http://127.0.0.1:8545"
    from_file = load_settings(ChainSettings, config_file=config)
    assert (from_file.rpc_url, from_file.rpc_timeout, from_file.log_format) == (
        "http://127.0.0.1:1111",
        3.5,
        "text",
    )
    monkeypatch.setenv("VERAI_RPC_URL", "http://127.0.0.1:2222")
    assert load_settings(ChainSettings, config_file=config).rpc_url == "http://127.0.0.1:2222"
    flagged = load_settings(
        ChainSettings, config_file=config, rpc_url="http://127.0.0.1:3333", rpc_timeout=None
    )
    assert flagged.rpc_url == "http://127.0.0.1:3333" and flagged.rpc_timeout == 3.5


def test_bad_settings_are_one_line_each_naming_setting_variable_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERAI_RPC_TIMEOUT", "-1")
    with pytest.raises(SettingsError) as info:
        load_settings(ChainSettings, rpc_url="ftp://x", log_level="loud")
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert any(
        line.startswith("setting rpc_url (VERAI_RPC_URL) = 'ftp://x': must be an http")
        for line in lines
    )
    assert any(line.startswith("setting rpc_timeout (VERAI_RPC_TIMEOUT) = '-1'") for line in lines)
    assert any(line.startswith("setting log_level (VERAI_LOG_LEVEL) = 'loud'") for line in lines)
    config = tmp_path / "bad.toml"
    config.write_text('rpc_urll = "http://127.0.0.1:1"\n')
    monkeypatch.delenv("VERAI_RPC_TIMEOUT")
    with pytest.raises(SettingsError, match="unknown setting 'rpc_urll'"):
        load_settings(ChainSettings, config_file=config)
    with pytest.raises(SettingsError, match=r"--config .*nope\.toml: no such file"):
        load_settings(ChainSettings, config_file=tmp_path / "nope.toml")
