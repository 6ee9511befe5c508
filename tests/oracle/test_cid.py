"""oracle.cid: CIDs equal to `ipfs add --cid-version=1`, and the on-chain (codec, digest) form.

Reference values come from real implementations, never from oracle.cid itself:
- ../shared/vectors/cid-sample.json: a js-ipfs 0.66.1 daemon (raw, one-level dag-pb);
- IMPORTER_VECTORS below: ipfs-unixfs-importer 17.1.1 (what that daemon runs), computed once with
  `importer(..., {cidVersion: 1, rawLeaves: true, chunker: fixedSize({chunkSize}),
  layout: balanced({maxChildrenPerNode})})`; they cover DAGs two to seven levels deep.
The DAG structure is also checked block by block with a protobuf decoder written here.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID, multihash

from oracle.cid import (
    CHUNK_SIZE,
    CODEC_DAG_PB,
    CODEC_RAW,
    MAX_LINKS,
    CidBuilder,
    InvalidCid,
    cid_bytes,
    cid_bytes_for,
    cid_for,
    cid_from_bytes,
    cid_to_onchain,
    onchain_to_cid,
    parse_cid_bytes,
)
from oracle.errors import OracleError

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"
SAMPLE = json.loads((VECTORS / "cid-sample.json").read_text())

# (seed, length, chunk_size, max_links) -> CID by ipfs-unixfs-importer 17.1.1;
# the bytes are random.Random(seed).randbytes(length).
IMPORTER_VECTORS = [
    ((1, 100, 1, 2), "bafybeicxj53day6tvt7ymh2o73w7fpzoh6rq6t7e2gb7q5b376fq6wjwxq"),
    ((2, 1000, 3, 3), "bafybeif7met5fhayzkf4xfib627md3kwa3n5w5lynl2qoz5t2mrt63szb4"),
    ((3, 253, 3, 3), "bafybeihvvuwhfhpc25so43ox73n7wxlgonj3wlahky3ciigrskbusuiqha"),
    ((4, 2000, 8, 5), "bafybeica4yej27dtznwo4jem6omdm7n2opv7dxq4x4zhazqpx5rxiw2rpe"),
    ((5, 4096, 16, 7), "bafybeiepr2tmqgw2f6acfccfbjudrm6a6bt55hscgqdyvngmt4z2pgr7yu"),
]
# Default parameters, 176 leaves (175 full + 12345 bytes): a root over two branch nodes.
LARGE_SEED = 20241126
LARGE_LENGTH = 175 * CHUNK_SIZE + 12345
LARGE_CID = "bafybeiedbcv2h7ibqtqmmcy6xx2ruvzvb4q4tb3ypmwyes5k32nnrasram"

HELLO_CID = SAMPLE["cids"]["hello11"]
HELLO_DIGEST = hashlib.sha256(b"hello world").digest()


def sample_bytes() -> dict[str, bytes]:
    """The bytes behind cid-sample.json, made as its `how_bytes_are_made` says."""
    rng = random.Random(20241125)
    made = {"empty": b"", "hello11": b"hello world"}
    made["k256"] = rng.randbytes(262144)
    made["k256p1"] = rng.randbytes(262145)
    made["m1"] = rng.randbytes(1048576)
    return made


SAMPLE_BYTES = sample_bytes()


# ------------------------------------------------------------------ an independent dag-pb reader
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) in wire order; varints as int, length-delimited as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            out.append((number, buf[pos : pos + length]))
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


@dataclass
class Link:
    cid: bytes
    name: bytes | None
    tsize: int


@dataclass
class Branch:
    links: list[Link] = field(default_factory=list)
    unixfs_type: int | None = None
    filesize: int | None = None
    blocksizes: list[int] = field(default_factory=list)
    field_order: list[int] = field(default_factory=list)


def decode_branch(block: bytes) -> Branch:
    node = Branch()
    for number, value in _fields(block):
        node.field_order.append(number)
        assert isinstance(value, bytes)
        if number == 2:
            link = dict(_fields(value))
            assert [n for n, _ in _fields(value)] == [1, 2, 3], "link fields Hash, Name, Tsize"
            node.links.append(Link(link[1], link.get(2), link[3]))  # type: ignore[arg-type]
        elif number == 1:
            for inner, inner_value in _fields(value):
                assert isinstance(inner_value, int), f"UnixFS field {inner} must be a varint"
                if inner == 1:
                    node.unixfs_type = inner_value
                elif inner == 3:
                    node.filesize = inner_value
                elif inner == 4:
                    node.blocksizes.append(inner_value)
                else:
                    raise AssertionError(f"unexpected UnixFS field {inner}")
    return node


def build_with_blocks(
    data: bytes, chunk_size: int = CHUNK_SIZE, max_links: int = MAX_LINKS
) -> tuple[bytes, dict[bytes, bytes]]:
    blocks: dict[bytes, bytes] = {}
    builder = CidBuilder(
        chunk_size=chunk_size, max_links=max_links, on_block=lambda c, b: blocks.setdefault(c, b)
    )
    builder.update(data)
    return builder.cid_bytes(), blocks


@dataclass
class Walk:
    content: bytearray = field(default_factory=bytearray)
    depth_of_leaves: set[int] = field(default_factory=set)
    links_per_level: dict[int, list[int]] = field(default_factory=dict)


def walk(cid: bytes, blocks: dict[bytes, bytes], out: Walk, depth: int = 0) -> tuple[int, int]:
    """Checks one node and everything under it; returns (Tsize, file size)."""
    block = blocks[cid]
    assert cid[:4] in (bytes([1, CODEC_RAW, 0x12, 0x20]), bytes([1, CODEC_DAG_PB, 0x12, 0x20]))
    assert cid[4:] == hashlib.sha256(block).digest(), "a block's CID is the SHA-256 of the block"
    if cid[1] == CODEC_RAW:
        out.content += block
        out.depth_of_leaves.add(depth)
        return len(block), len(block)
    node = decode_branch(block)
    assert node.field_order[-1] == 1 and set(node.field_order[:-1]) == {2}, "links, then Data"
    assert node.unixfs_type == 2, "UnixFS File"
    out.links_per_level.setdefault(depth, []).append(len(node.links))
    tsize_sum = 0
    sizes = []
    for link in node.links:
        assert link.name == b"", "Name written explicitly as the empty string"
        tsize, filesize = walk(link.cid, blocks, out, depth + 1)
        assert link.tsize == tsize, "Tsize = child block plus everything under it"
        tsize_sum += tsize
        sizes.append(filesize)
    assert node.blocksizes == sizes, "one blocksizes entry per child, its content size"
    assert node.filesize == sum(sizes)
    return len(block) + tsize_sum, sum(sizes)


def expected_depth(leaves: int, max_links: int) -> int:
    return 0 if leaves <= 1 else math.ceil(math.log(leaves, max_links) - 1e-9)


# ------------------------------------------------------------------ real-node vectors
@pytest.mark.parametrize("name", sorted(SAMPLE["cids"]))
def test_cid_for_matches_real_node_vector(name: str) -> None:
    assert cid_for(SAMPLE_BYTES[name]) == SAMPLE["cids"][name]


@pytest.mark.parametrize("name", sorted(SAMPLE["cids"]))
def test_cid_builder_matches_real_node_vector_when_fed_in_pieces(name: str) -> None:
    data = SAMPLE_BYTES[name]
    rng = random.Random(name)
    builder = CidBuilder()
    position = 0
    while position < len(data):
        step = rng.choice([1, 7, 4096, CHUNK_SIZE - 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 5])
        builder.update(data[position : position + step])
        position += step
    assert builder.cid() == SAMPLE["cids"][name]
    assert builder.size == len(data)


@pytest.mark.parametrize(("spec", "expected"), IMPORTER_VECTORS)
def test_cid_builder_matches_importer_on_deep_dags(
    spec: tuple[int, int, int, int], expected: str
) -> None:
    seed, length, chunk_size, max_links = spec
    data = random.Random(seed).randbytes(length)
    root, blocks = build_with_blocks(data, chunk_size, max_links)
    assert cid_from_bytes(root) == expected
    seen = Walk()
    walk(root, blocks, seen)
    leaves = math.ceil(length / chunk_size)
    assert seen.depth_of_leaves == {expected_depth(leaves, max_links)}
    assert expected_depth(leaves, max_links) >= 2
    assert bytes(seen.content) == data


def test_cid_for_matches_importer_beyond_174_leaves() -> None:
    data = random.Random(LARGE_SEED).randbytes(LARGE_LENGTH)
    assert cid_for(data) == LARGE_CID
    root, blocks = build_with_blocks(data)
    seen = Walk()
    tsize, filesize = walk(root, blocks, seen)
    assert filesize == LARGE_LENGTH
    assert tsize > LARGE_LENGTH
    assert seen.depth_of_leaves == {2}
    # 176 leaves: a full node of 174, a node with the last 2, and a root over both.
    assert seen.links_per_level == {0: [2], 1: [MAX_LINKS, 2]}
    assert bytes(seen.content) == data


# ------------------------------------------------------------------ properties
def test_cid_for_is_raw_sha256_up_to_one_chunk() -> None:
    data = SAMPLE_BYTES["k256"]
    assert len(data) == CHUNK_SIZE
    assert cid_to_onchain(cid_for(data)) == (CODEC_RAW, hashlib.sha256(data).digest())


def test_cid_for_is_dag_pb_over_two_leaves_at_one_chunk_plus_one() -> None:
    data = SAMPLE_BYTES["k256p1"]
    root, blocks = build_with_blocks(data)
    assert root[1] == CODEC_DAG_PB
    node = decode_branch(blocks[root])
    assert node.blocksizes == [CHUNK_SIZE, 1]
    assert [link.cid for link in node.links] == [
        bytes([1, CODEC_RAW, 0x12, 0x20]) + hashlib.sha256(data[:CHUNK_SIZE]).digest(),
        bytes([1, CODEC_RAW, 0x12, 0x20]) + hashlib.sha256(data[CHUNK_SIZE:]).digest(),
    ]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=700),
    chunk_size=st.integers(1, 9),
    max_links=st.integers(2, 6),
    cuts=st.lists(st.integers(0, 700), max_size=6),
)
def test_cid_builder_layout_is_balanced_for_any_parameters(
    data: bytes, chunk_size: int, max_links: int, cuts: list[int]
) -> None:
    root, blocks = build_with_blocks(data, chunk_size, max_links)
    seen = Walk()
    _, filesize = walk(root, blocks, seen)
    assert filesize == len(data)
    assert bytes(seen.content) == data
    leaves = max(1, math.ceil(len(data) / chunk_size))
    assert seen.depth_of_leaves == {expected_depth(leaves, max_links)}
    for counts in seen.links_per_level.values():
        assert all(count == max_links for count in counts[:-1]), "every node but the last is full"
        assert 1 <= counts[-1] <= max_links
    # the same CID whatever pieces the bytes arrive in
    builder = CidBuilder(chunk_size=chunk_size, max_links=max_links)
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        builder.update(data[previous : max(previous, cut)])
        previous = max(previous, cut)
    assert builder.cid_bytes() == root


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2048))
def test_cid_for_small_content_is_raw_sha256(data: bytes) -> None:
    cid = cid_for(data)
    assert cid.startswith("bafkrei")
    assert cid_to_onchain(cid) == (CODEC_RAW, hashlib.sha256(data).digest())
    assert cid_bytes(cid) == cid_bytes_for(data)
    assert cid_for(bytearray(data)) == cid_for(memoryview(data)) == cid


@settings(max_examples=300, deadline=None)
@given(codec=st.sampled_from([CODEC_RAW, CODEC_DAG_PB]), digest=st.binary(min_size=32, max_size=32))
def test_cid_conversions_round_trip_text_onchain_bytes(codec: int, digest: bytes) -> None:
    text = onchain_to_cid(codec, digest)  # built by multiformats
    reference = CID("base32", 1, codec, multihash.wrap(digest, "sha2-256"))
    assert text == str(reference)
    assert cid_to_onchain(text) == (codec, digest)
    raw = cid_bytes(text)
    assert raw == bytes(reference)
    assert len(raw) == 36
    assert parse_cid_bytes(raw) == (codec, digest)
    assert cid_from_bytes(raw) == text  # the hand-written base32 agrees with multiformats
    assert cid_to_onchain(reference.set(base="base58btc").encode()) == (codec, digest)


def test_cid_to_onchain_accepts_base58_cidv1() -> None:
    text = str(CID("base58btc", 1, "raw", multihash.wrap(HELLO_DIGEST, "sha2-256")))
    assert text.startswith("z")
    assert cid_to_onchain(text) == (CODEC_RAW, HELLO_DIGEST)
    assert onchain_to_cid(*cid_to_onchain(text)) == HELLO_CID


# ------------------------------------------------------------------ bad CIDs
def _mh(code: int, digest: bytes) -> bytes:
    return bytes(multihash.wrap(digest, code))


GOOD = bytes([1, CODEC_RAW, 0x12, 0x20]) + HELLO_DIGEST
BAD_BYTES = [
    ("empty", b"", "length", 0),
    ("cidv0", _mh(0x12, HELLO_DIGEST), "version", 0),
    ("version_2", bytes([2]) + GOOD[1:], "version", 2),
    ("version_0_varint", bytes([0]) + GOOD[1:], "version", 0),
    ("dag_cbor", bytes([1, 0x71]) + GOOD[2:], "codec", 0x71),
    ("dag_json_two_byte_varint", bytes([1, 0xA9, 0x02]) + GOOD[2:], "codec", 0x129),
    ("sha2_512", bytes([1, CODEC_RAW]) + _mh(0x13, bytes(64)), "hash", 0x13),
    ("blake2b_256", bytes([1, CODEC_RAW]) + _mh(0xB220, bytes(32)), "hash", 0xB220),
    ("truncated_digest", bytes([1, CODEC_RAW, 0x12, 0x14]) + bytes(20), "digest_length", 20),
    ("one_byte_short", GOOD[:-1], "length", 35),
    ("one_byte_long", GOOD + b"\x00", "length", 37),
    ("header_only", GOOD[:4], "length", 4),
    ("ends_inside_varint", bytes([1, 0x80]), "length", 2),
    ("non_minimal_version", bytes([0x81, 0x00]) + GOOD[1:], "varint_offset", 0),
    ("non_minimal_codec", bytes([1, 0xD5, 0x00]) + GOOD[2:], "varint_offset", 1),
    ("varint_over_9_bytes", bytes([1]) + b"\xff" * 9 + b"\x01" + GOOD[2:], "varint_offset", 1),
]


@pytest.mark.parametrize(
    ("raw", "field", "value"), [c[1:] for c in BAD_BYTES], ids=[c[0] for c in BAD_BYTES]
)
def test_parse_cid_bytes_rejects_bad_cid_naming_the_field(
    raw: bytes, field: str, value: int
) -> None:
    with pytest.raises(InvalidCid) as caught:
        parse_cid_bytes(raw)
    assert (caught.value.field, caught.value.value) == (field, value)
    assert field in str(caught.value)
    assert isinstance(caught.value, OracleError)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "version"),
        ("hello", "multibase"),
        ("", "multibase"),
        ("b!!!notbase32", "multibase"),
        (str(CID("base32", 1, "dag-cbor", multihash.wrap(HELLO_DIGEST, "sha2-256"))), "codec"),
        (str(CID("base32", 1, "raw", multihash.wrap(bytes(64), "sha2-512"))), "hash"),
        (HELLO_CID[:-2], "length"),
    ],
)
def test_cid_to_onchain_rejects_bad_text_naming_the_field(text: str, field: str) -> None:
    with pytest.raises(InvalidCid) as caught:
        cid_to_onchain(text)
    assert caught.value.field == field
    assert repr(text)[:20] in str(caught.value)
    with pytest.raises(InvalidCid):
        cid_bytes(text)


def test_cid_to_onchain_rejects_non_text() -> None:
    with pytest.raises(InvalidCid, match="type is 'bytes'"):
        cid_to_onchain(GOOD)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codec", "digest", "field"),
    [(0x71, HELLO_DIGEST, "codec"), (CODEC_RAW, HELLO_DIGEST[:31], "digest_length")],
)
def test_onchain_to_cid_rejects_bad_pair(codec: int, digest: bytes, field: str) -> None:
    with pytest.raises(InvalidCid) as caught:
        onchain_to_cid(codec, digest)
    assert caught.value.field == field


def test_invalid_cid_message_shows_hex_codec() -> None:
    with pytest.raises(InvalidCid, match=r"codec is 0x71, expected 0x55 \(raw\) or 0x70"):
        parse_cid_bytes(bytes([1, 0x71]) + GOOD[2:])


@pytest.mark.parametrize(("chunk_size", "max_links"), [(0, 174), (262144, 1)])
def test_cid_builder_rejects_bad_parameters(chunk_size: int, max_links: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        CidBuilder(chunk_size=chunk_size, max_links=max_links)


def test_cid_module_imports_no_network_or_chain_code() -> None:
    code = (
        "import sys, oracle.cid; "
        "bad = [m for m in ('requests', 'ape', 'web3', 'urllib3', 'socket') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"oracle.cid pulled in {result.stdout.strip()}"
