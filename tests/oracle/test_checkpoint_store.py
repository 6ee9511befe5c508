"""oracle.checkpoints.LocalStore: a content-addressed folder that re-hashes on every read."""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID

from oracle.checkpoints import (
    CheckpointCorrupted,
    CheckpointError,
    CheckpointNotFound,
    CheckpointStore,
    InvalidCid,
    LocalStore,
    canonical_cid,
    cid_for,
)

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"
SAMPLE = json.loads((VECTORS / "cid-sample.json").read_text())["cids"]
HELLO = b"hello world"
TWO_CHUNKS = random.Random(7).randbytes(262144 + 1000)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "checkpoints")


def test_local_store_put_returns_the_ipfs_cid_and_get_returns_the_bytes(store: LocalStore) -> None:
    cid = store.put(HELLO)
    assert cid == SAMPLE["hello11"]
    assert store.get(cid) == HELLO
    big = store.put(TWO_CHUNKS)
    assert big == cid_for(TWO_CHUNKS)
    assert big.startswith("bafybei")
    assert store.get(big) == TWO_CHUNKS


def test_local_store_keeps_each_checkpoint_in_a_file_named_by_its_cid(store: LocalStore) -> None:
    cid = store.put(HELLO)
    assert store.path_of(cid) == store.folder / cid
    assert (store.folder / cid).read_bytes() == HELLO
    assert sorted(p.name for p in store.folder.iterdir()) == [cid]  # no temporary file left


def test_local_store_put_twice_is_idempotent(store: LocalStore) -> None:
    first = store.put(HELLO)
    stamp = (store.folder / first).stat().st_mtime_ns
    assert store.put(HELLO) == first
    assert (store.folder / first).stat().st_mtime_ns == stamp  # intact copy not rewritten
    assert len(list(store.folder.iterdir())) == 1


def test_local_store_get_rejects_tampered_file(store: LocalStore) -> None:
    cid = store.put(TWO_CHUNKS)
    path = store.folder / cid
    tampered = bytearray(path.read_bytes())
    tampered[100_000] ^= 0x01
    path.write_bytes(bytes(tampered))
    with pytest.raises(CheckpointCorrupted) as caught:
        store.get(cid)
    assert caught.value.cid == cid
    assert caught.value.actual == cid_for(bytes(tampered))
    assert cid in str(caught.value) and caught.value.actual in str(caught.value)


def test_local_store_get_rejects_truncated_file(store: LocalStore) -> None:
    cid = store.put(HELLO)
    (store.folder / cid).write_bytes(HELLO[:-1])
    with pytest.raises(CheckpointCorrupted, match="corrupted"):
        store.get(cid)


def test_local_store_put_repairs_a_tampered_copy(store: LocalStore) -> None:
    cid = store.put(HELLO)
    (store.folder / cid).write_bytes(b"HELLO WORLD")  # same size, other bytes
    assert store.put(HELLO) == cid
    assert store.get(cid) == HELLO


def test_local_store_get_unknown_cid_raises_not_found(store: LocalStore) -> None:
    with pytest.raises(CheckpointNotFound) as caught:
        store.get(SAMPLE["m1"])
    assert caught.value.cid == SAMPLE["m1"]
    assert isinstance(caught.value, CheckpointError)


@pytest.mark.parametrize("bad", ["not-a-cid", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"])
def test_local_store_get_malformed_cid_raises_invalid_cid(store: LocalStore, bad: str) -> None:
    with pytest.raises(InvalidCid):
        store.get(bad)


def test_local_store_get_accepts_other_multibase_of_same_cid(store: LocalStore) -> None:
    cid = store.put(HELLO)
    base58 = CID.decode(cid).set(base="base58btc").encode()
    assert base58.startswith("z")
    assert canonical_cid(base58) == cid
    assert store.get(base58) == HELLO
    assert base58 in store


def test_local_store_failed_write_leaves_nothing_behind(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="No space left"):
        store.put(HELLO)
    monkeypatch.undo()
    assert list(store.folder.iterdir()) == []
    assert SAMPLE["hello11"] not in store


def test_local_store_reopened_folder_serves_earlier_checkpoints(tmp_path: Path) -> None:
    cid = LocalStore(tmp_path / "a" / "b").put(TWO_CHUNKS)
    assert LocalStore(tmp_path / "a" / "b").get(cid) == TWO_CHUNKS


def test_local_store_satisfies_checkpoint_store_protocol(store: LocalStore) -> None:
    assert isinstance(store, CheckpointStore)
    assert "LocalStore(" in repr(store)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=4096))
def test_local_store_round_trips_any_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore(folder)
        cid = store.put(data)
        assert cid == cid_for(data)
        assert store.get(cid) == data
        assert cid in store
