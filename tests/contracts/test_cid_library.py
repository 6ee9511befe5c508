"""contracts/libraries/CID.sol through CIDHarness: the on-chain parser agrees with oracle.cid.

The harness functions are pure, so they run as eth_call; ape does not decode custom errors of call
reverts (`ape.reverts` then checks nothing), hence `view_reverts_with`, which decodes the revert
data against the error's ABI and compares every named input."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.cid import (
    CODEC_DAG_PB,
    CODEC_RAW,
    InvalidCid,
    cid_bytes,
    onchain_to_cid,
    parse_cid_bytes,
)
from tests.contracts._helpers import view_reverts_with
from tests.oracle.test_cid import BAD_BYTES, IMPORTER_VECTORS, LARGE_CID, SAMPLE

# InvalidCid.field -> (CID.sol error, its parameter)
ERRORS = {
    "version": ("CidVersionUnsupported", "version"),
    "codec": ("CidCodecUnsupported", "codec"),
    "hash": ("CidHashUnsupported", "code"),
    "digest_length": ("CidDigestLengthInvalid", "length"),
    "length": ("CidLengthInvalid", "length"),
    "varint_offset": ("CidVarintInvalid", "offset"),
}
VALID_CIDS = [*SAMPLE["cids"].values(), LARGE_CID, *(cid for _, cid in IMPORTER_VECTORS)]
GOOD = cid_bytes(SAMPLE["cids"]["hello11"])
PARSE_GAS_BUDGET = 24_000  # whole call: 21 000 intrinsic + calldata + execution (23 580 measured)


@pytest.fixture(scope="session")
def harness(project: Any, admin: Any) -> Any:
    return admin.deploy(project.CIDHarness)


def assert_reverts_like_python(harness: Any, raw: bytes) -> InvalidCid:
    with pytest.raises(InvalidCid) as caught:
        parse_cid_bytes(raw)
    error, parameter = ERRORS[caught.value.field]
    view_reverts_with(
        harness, "parse", (raw,), getattr(harness, error), **{parameter: caught.value.value}
    )
    return caught.value


@pytest.mark.parametrize("cid", VALID_CIDS)
def test_parse_vector_gives_python_codec_and_digest(harness: Any, cid: str) -> None:
    raw = cid_bytes(cid)
    codec, digest = harness.parse(raw)
    assert (codec, bytes(digest)) == parse_cid_bytes(raw)
    assert onchain_to_cid(codec, bytes(digest)) == cid


@pytest.mark.parametrize("cid", VALID_CIDS)
def test_encode_rebuilds_the_cid_bytes(harness: Any, cid: str) -> None:
    raw = cid_bytes(cid)
    codec, digest = parse_cid_bytes(raw)
    assert bytes(harness.encode(codec, digest)) == raw


@pytest.mark.parametrize(
    ("raw", "field", "value"), [c[1:] for c in BAD_BYTES], ids=[c[0] for c in BAD_BYTES]
)
def test_parse_rejects_bad_cid_with_named_error(
    harness: Any, raw: bytes, field: str, value: int
) -> None:
    error, parameter = ERRORS[field]
    view_reverts_with(harness, "parse", (raw,), getattr(harness, error), **{parameter: value})


@pytest.mark.parametrize("codec", [0, 0x71, 0x129, 2**256 - 1])
def test_encode_rejects_unsupported_codec(harness: Any, codec: int) -> None:
    digest = hashlib.sha256(b"x").digest()
    view_reverts_with(harness, "encode", (codec, digest), harness.CidCodecUnsupported, codec=codec)


def test_parse_valid_cid_gas_within_budget(harness: Any, admin: Any) -> None:
    for codec in (CODEC_RAW, CODEC_DAG_PB):
        raw = bytes([1, codec, 0x12, 0x20]) + hashlib.sha256(b"x").digest()
        assert harness.parse.estimate_gas_cost(raw, sender=admin) <= PARSE_GAS_BUDGET


def _mutations(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from([GOOD, cid_bytes(LARGE_CID)])))
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "header"]))
    if kind == "flip":
        index = draw(st.integers(0, len(raw) - 1))
        raw[index] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif kind == "extend":
        raw += draw(st.binary(min_size=1, max_size=8))
    else:
        raw[: draw(st.integers(1, 6))] = draw(st.binary(min_size=1, max_size=6))
    return bytes(raw)


fuzz_inputs = st.one_of(
    st.binary(max_size=48),
    st.composite(_mutations)(),
    st.builds(
        lambda d, c: bytes([1, c, 0x12, 0x20]) + d,
        st.binary(min_size=32, max_size=32),
        st.sampled_from([CODEC_RAW, CODEC_DAG_PB]),
    ),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=fuzz_inputs)
def test_parse_fuzz_accepts_exactly_what_python_accepts(harness: Any, raw: bytes) -> None:
    try:
        expected = parse_cid_bytes(raw)
    except InvalidCid:
        assert_reverts_like_python(harness, raw)
        return
    codec, digest = harness.parse(raw)
    assert (codec, bytes(digest)) == expected
    assert len(raw) == 36
    assert bytes(harness.encode(codec, digest)) == raw
