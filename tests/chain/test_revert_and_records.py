"""Every custom error in the committed ABIs decodes; deployment records and databases refuse to
be mixed up with another chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode

from oracle.chain.abi import errors
from oracle.chain.deployment import load_record
from oracle.chain.errors import DeploymentNotFound, InvalidDeployment, WrongChain
from oracle.chain.revert import decode_revert
from oracle.store import Database, StoreError


def _sample(kind: str) -> Any:
    if kind == "address":
        return "0x" + "12" * 20
    if kind == "bool":
        return True
    if kind.startswith("bytes") and kind != "bytes":
        return b"\x07" * int(kind[5:])
    if kind in ("bytes", "string"):
        return b"\x01\x02" if kind == "bytes" else "text"
    if kind.startswith("int"):
        return -5
    return 42


def test_every_custom_error_of_the_contracts_decodes_with_its_values() -> None:
    table = errors()
    assert len(table) > 40
    for selector, abi in table.items():
        kinds = [t for _, t in abi.inputs]
        values = [_sample(k) for k in kinds]
        decoded = decode_revert(selector + encode(kinds, values))
        assert decoded.name == abi.name
        assert [name for name, _ in decoded.args] == [name for name, _ in abi.inputs]


def test_unknown_and_builtin_reverts() -> None:
    assert decode_revert(b"\xde\xad\xbe\xef").name == "UnknownError"
    assert decode_revert(b"").name == "EmptyRevert"
    panic = decode_revert(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]))
    assert panic.name == "Panic" and panic.arg("reason") == "arithmetic overflow or underflow"


def _record(tmp_path: Path, **changes: Any) -> Path:
    data = {
        "chain_id": 84532,
        "local": True,
        "deployer": "0x" + "11" * 20,
        "start_block": 0,
        "git_commit": "x",
        "contracts": {
            n: "0x" + f"{i:040x}"
            for i, n in enumerate(
                ("VerToken", "NodeRegistry", "TaskMarket", "CheckpointRegistry", "ReportVerifier"),
                1,
            )
        },
    }
    data.update(changes)
    path = tmp_path / "84532.json"
    path.write_text(json.dumps(data))
    return path


def test_deployment_records_are_checked(tmp_path: Path) -> None:
    record = load_record(_record(tmp_path))
    with pytest.raises(
        WrongChain,
        match="records a deployment on chain 84532, but the RPC at http://x serves chain 1",
    ):
        record.check_chain(1, "http://x")
    with pytest.raises(DeploymentNotFound, match="ape run deploy"):
        load_record(tmp_path / "missing.json")
    with pytest.raises(InvalidDeployment, match=r"contracts\.NodeRegistry must be an address"):
        load_record(_record(tmp_path, contracts={"VerToken": "0x" + "1" * 40}))
    with pytest.raises(InvalidDeployment, match="field 'chain_id' must be a int"):
        load_record(_record(tmp_path, chain_id="84532"))


def test_a_database_belongs_to_one_deployment(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.sqlite")
    db.bind(chain_id="84532", registry="0xabc")
    db.bind(chain_id="84532", registry="0xabc")
    with pytest.raises(StoreError, match="belongs to registry=0xabc, not registry=0xdef"):
        Database(tmp_path / "s.sqlite").bind(chain_id="84532", registry="0xdef")


def test_migrations_apply_once_and_refuse_a_newer_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "m.sqlite")
    db.migrate("demo", ["CREATE TABLE a (x INTEGER)"])
    db.migrate("demo", ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"])
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"a", "b"} <= tables
    with pytest.raises(
        StoreError, match="schema 'demo' is at version 2, newer than this program knows"
    ):
        Database(tmp_path / "m.sqlite").migrate("demo", ["CREATE TABLE a (x INTEGER)"])
