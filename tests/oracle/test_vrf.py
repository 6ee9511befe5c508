"""ECVRF-SECP256K1-SHA256-TAI in Python (oracle.vrf): vectors, rejections, round trips."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from coincurve import PrivateKey, PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import OracleError, vrf

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors" / "vrf-sample.json"
SAMPLE = json.loads(VECTORS.read_text())
VALID = SAMPLE["valid"]
INVALID = SAMPLE["invalid"]
P = vrf.FIELD_PRIME
N = vrf.GROUP_ORDER
# The TAI counters of the sample vectors, in file order (the vectors README lists 0, 1 and 3).
COUNTERS = [0, 3, 0, 0, 0, 1]

secret_keys = st.integers(min_value=1, max_value=N - 1).map(lambda x: x.to_bytes(32, "big"))
alphas = st.binary(max_size=200)


def _b(entry: dict[str, str], key: str) -> bytes:
    return bytes.fromhex(entry[key])


def _invalid(check: str) -> Any:
    """pytest.raises(InvalidProof) that also asserts the named check."""
    return pytest.raises(vrf.InvalidProof, match=f"^{check}: ")


# ------------------------------------------------------------------ the shared vectors
@pytest.mark.parametrize("entry", VALID, ids=[e["sk"][-4:] for e in VALID])
def test_public_key_matches_vector(entry: dict[str, str]) -> None:
    assert vrf.public_key(_b(entry, "sk")) == _b(entry, "pk")


@pytest.mark.parametrize(
    "entry", [e for e in VALID if e.get("nonce") == "rfc6979-draft05"], ids=lambda e: e["sk"][-4:]
)
def test_prove_reproduces_vector_pi_byte_for_byte(entry: dict[str, str]) -> None:
    assert vrf.prove(_b(entry, "sk"), _b(entry, "alpha")).hex() == entry["pi"]


@pytest.mark.parametrize("entry", VALID, ids=[e["sk"][-4:] for e in VALID])
def test_verify_returns_vector_beta(entry: dict[str, str]) -> None:
    beta = vrf.verify(_b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha"))
    assert beta.hex() == entry["beta"]
    assert vrf.proof_to_hash(_b(entry, "pi")).hex() == entry["beta"]


def test_vectors_cover_counters_zero_one_and_three() -> None:
    counters = [vrf.hash_to_curve_counter(_b(e, "pk"), _b(e, "alpha")) for e in VALID]
    assert counters == COUNTERS


@pytest.mark.parametrize("entry", INVALID, ids=[e["reason"] for e in INVALID])
def test_verify_rejects_invalid_vector(entry: dict[str, str]) -> None:
    with _invalid("challenge"):
        vrf.verify(_b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha"))
    with _invalid("challenge"):
        vrf.verifier_inputs(_b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha"))


# ------------------------------------------------------------------ tampering
@pytest.mark.parametrize("index", range(vrf.PROOF_LENGTH))
def test_verify_rejects_proof_with_any_byte_changed(index: int) -> None:
    entry = VALID[1]  # counter 3
    for flip in (0x01, 0x80):
        pi = bytearray(_b(entry, "pi"))
        pi[index] ^= flip
        with pytest.raises(vrf.InvalidProof):
            vrf.verify(_b(entry, "pk"), bytes(pi), _b(entry, "alpha"))


@pytest.mark.parametrize("index", range(vrf.PUBLIC_KEY_LENGTH))
def test_verify_rejects_public_key_with_any_byte_changed(index: int) -> None:
    entry = VALID[0]
    pk = bytearray(_b(entry, "pk"))
    pk[index] ^= 0x01
    with pytest.raises(vrf.InvalidProof):
        vrf.verify(bytes(pk), _b(entry, "pi"), _b(entry, "alpha"))


def test_verify_rejects_alpha_with_any_byte_changed_added_or_removed() -> None:
    entry = VALID[0]
    alpha = _b(entry, "alpha")
    variants = [alpha[:i] + bytes([alpha[i] ^ 1]) + alpha[i + 1 :] for i in range(len(alpha))]
    variants += [alpha + b"\x00", alpha[:-1], b""]
    for changed in variants:
        with _invalid("challenge"):
            vrf.verify(_b(entry, "pk"), _b(entry, "pi"), changed)


# ------------------------------------------------------------------ malformed input
@pytest.mark.parametrize("length", [0, 1, 32, 34, 65])
def test_verify_rejects_public_key_of_wrong_length(length: int) -> None:
    entry = VALID[0]
    pk = (_b(entry, "pk") * 2)[:length]
    with _invalid("public_key_length"):
        vrf.verify(pk, _b(entry, "pi"), _b(entry, "alpha"))


@pytest.mark.parametrize("prefix", [0x00, 0x01, 0x04, 0x06, 0xFF])
def test_verify_rejects_public_key_with_bad_prefix(prefix: int) -> None:
    entry = VALID[0]
    pk = bytes([prefix]) + _b(entry, "pk")[1:]
    with _invalid("public_key_prefix"):
        vrf.verify(pk, _b(entry, "pi"), _b(entry, "alpha"))


@pytest.mark.parametrize("x", [0, P - 1, P, 2**256 - 1])
def test_verify_rejects_public_key_off_curve(x: int) -> None:
    entry = VALID[0]
    with _invalid("public_key_on_curve"):
        vrf.verify(b"\x02" + x.to_bytes(32, "big"), _b(entry, "pi"), _b(entry, "alpha"))


@pytest.mark.parametrize("length", [0, 33, 80, 82, 97])
def test_verify_rejects_proof_of_wrong_length(length: int) -> None:
    entry = VALID[0]
    pi = (_b(entry, "pi") * 2)[:length]
    with _invalid("proof_length"):
        vrf.verify(_b(entry, "pk"), pi, _b(entry, "alpha"))
    with _invalid("proof_length"):
        vrf.proof_to_hash(pi)


@pytest.mark.parametrize("prefix", [0x00, 0x04, 0xFF])
def test_verify_rejects_gamma_with_bad_prefix(prefix: int) -> None:
    entry = VALID[0]
    pi = bytes([prefix]) + _b(entry, "pi")[1:]
    with _invalid("gamma_prefix"):
        vrf.verify(_b(entry, "pk"), pi, _b(entry, "alpha"))


@pytest.mark.parametrize("x", [0, P, 2**256 - 1])
def test_verify_rejects_gamma_off_curve(x: int) -> None:
    entry = VALID[0]
    pi = b"\x02" + x.to_bytes(32, "big") + _b(entry, "pi")[33:]
    with _invalid("gamma_on_curve"):
        vrf.verify(_b(entry, "pk"), pi, _b(entry, "alpha"))


@pytest.mark.parametrize("s", [0, N, N + 1, 2**256 - 1])
def test_verify_rejects_scalar_out_of_range(s: int) -> None:
    entry = VALID[0]
    pi = _b(entry, "pi")[:49] + s.to_bytes(32, "big")
    with _invalid("scalar_range"):
        vrf.verify(_b(entry, "pk"), pi, _b(entry, "alpha"))


def test_verify_rejects_input_that_is_not_bytes() -> None:
    entry = VALID[0]
    with _invalid("type"):
        vrf.verify(entry["pk"], _b(entry, "pi"), _b(entry, "alpha"))  # type: ignore[arg-type]
    with _invalid("type"):
        vrf.verify(_b(entry, "pk"), _b(entry, "pi"), None)  # type: ignore[arg-type]


def test_verify_rejects_u_at_infinity() -> None:
    # With the secret key one can choose s = c·x, so that U = s·B − c·Y is the point at infinity.
    entry = VALID[2]
    x = int(entry["sk"], 16)
    pi = _b(entry, "pi")
    c = int.from_bytes(pi[33:49], "big")
    forged = pi[:49] + (c * x % N).to_bytes(32, "big")
    with _invalid("u_infinity"):
        vrf.verify(_b(entry, "pk"), forged, _b(entry, "alpha"))


def test_verify_rejects_v_at_infinity() -> None:
    # Γ = (s/c)·H makes V = s·H − c·Γ the point at infinity.
    entry = VALID[2]
    pk, pi, alpha = _b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha")
    ctr = vrf.hash_to_curve_counter(pk, alpha)
    h_x = hashlib.sha256(b"\xfe\x01" + pk + alpha + bytes([ctr])).digest()
    point_h = PublicKey(b"\x02" + h_x)
    c = int.from_bytes(pi[33:49], "big")
    s = int.from_bytes(pi[49:], "big")
    gamma = point_h.multiply((s * pow(c, -1, N) % N).to_bytes(32, "big"))
    forged = gamma.format() + pi[33:]
    with _invalid("v_infinity"):
        vrf.verify(pk, forged, alpha)


@pytest.mark.parametrize(
    "secret", [b"", b"\x01" * 31, b"\x01" * 33, bytes(32), N.to_bytes(32, "big")]
)
def test_prove_rejects_bad_secret_key(secret: bytes) -> None:
    with pytest.raises(vrf.InvalidSecretKey):
        vrf.prove(secret, b"alpha")
    with pytest.raises(vrf.InvalidSecretKey):
        vrf.public_key(secret)


def test_errors_derive_from_oracle_error() -> None:
    assert issubclass(vrf.InvalidProof, OracleError)
    assert issubclass(vrf.InvalidSecretKey, OracleError)
    assert issubclass(vrf.NotVerifiableOnChain, OracleError)


# ------------------------------------------------------------------ RFC 9381 is a different suite
def _rfc9381_style_proof(sk: bytes, alpha: bytes) -> bytes:
    """A proof with RFC 9381's changes (Y in the challenge, trailing zero bytes): not draft-05."""
    key = PrivateKey(sk)
    pk = key.public_key.format()
    for ctr in range(256):
        digest = hashlib.sha256(b"\xfe\x01" + pk + alpha + bytes([ctr]) + b"\x00").digest()
        try:
            point_h = PublicKey(b"\x02" + digest)
            break
        except ValueError:
            continue
    gamma = point_h.multiply(sk).format()
    k = int.from_bytes(hashlib.sha256(sk + alpha).digest(), "big") % N
    u = PrivateKey(k.to_bytes(32, "big")).public_key.format()
    v = point_h.multiply(k.to_bytes(32, "big")).format()
    c = hashlib.sha256(b"\xfe\x02" + pk + point_h.format() + gamma + u + v + b"\x00").digest()[:16]
    s = (k + int.from_bytes(c, "big") * int.from_bytes(sk, "big")) % N
    return gamma + c + s.to_bytes(32, "big")


def test_verify_rejects_rfc9381_style_proof() -> None:
    entry = VALID[0]
    pi = _rfc9381_style_proof(_b(entry, "sk"), _b(entry, "alpha"))
    with pytest.raises(vrf.InvalidProof):
        vrf.verify(_b(entry, "pk"), pi, _b(entry, "alpha"))


# ------------------------------------------------------------------ verifier inputs
def _check_helpers(pk: bytes, pi: bytes, alpha: bytes, helpers: vrf.VerifierInputs) -> None:
    """Re-derive every helper independently of oracle.vrf's code paths."""
    c = int.from_bytes(pi[33:49], "big")
    s = int.from_bytes(pi[49:], "big")
    ctr = helpers.counter
    assert ctr == vrf.hash_to_curve_counter(pk, alpha)
    for j, w in enumerate(helpers.witnesses):
        x = int.from_bytes(hashlib.sha256(b"\xfe\x01" + pk + alpha + bytes([j])).digest(), "big")
        if x >= P:
            assert w == 0
        else:
            assert w * w % P == (-(x**3 + 7)) % P
    h_x = hashlib.sha256(b"\xfe\x01" + pk + alpha + bytes([ctr])).digest()
    point_h = PublicKey(b"\x02" + h_x)
    assert helpers.s_h == point_h.multiply(s.to_bytes(32, "big")).point()
    assert helpers.c_gamma == PublicKey(pi[:33]).multiply(c.to_bytes(32, "big")).point()
    minus_c_y = PublicKey(pk).multiply((N - c).to_bytes(32, "big"))
    s_b = PrivateKey(s.to_bytes(32, "big")).public_key
    assert helpers.u == PublicKey.combine_keys([s_b, minus_c_y]).point()
    lhs = helpers.lam * (helpers.s_h.x - helpers.c_gamma.x) % P
    assert lhs == (helpers.s_h.y + helpers.c_gamma.y) % P
    assert helpers.beta == vrf.proof_to_hash(pi)
    u, s_h, c_gamma, lam, witnesses = helpers.as_abi()
    assert (u, s_h, c_gamma, lam, witnesses) == (
        tuple(helpers.u),
        tuple(helpers.s_h),
        tuple(helpers.c_gamma),
        helpers.lam,
        list(helpers.witnesses),
    )


@pytest.mark.parametrize("entry", VALID, ids=[e["sk"][-4:] for e in VALID])
def test_verifier_inputs_are_consistent_for_vector(entry: dict[str, str]) -> None:
    pk, pi, alpha = _b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha")
    helpers = vrf.verifier_inputs(pk, pi, alpha)
    _check_helpers(pk, pi, alpha, helpers)
    assert helpers.beta.hex() == entry["beta"]


def test_verifier_inputs_is_frozen() -> None:
    entry = VALID[0]
    helpers = vrf.verifier_inputs(_b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha"))
    with pytest.raises(AttributeError):
        helpers.lam = 1  # type: ignore[misc]


# ------------------------------------------------------------------ properties
@settings(max_examples=200, deadline=None)
@given(sk=secret_keys, alpha=alphas)
def test_prove_then_verify_round_trips(sk: bytes, alpha: bytes) -> None:
    pi = vrf.prove(sk, alpha)
    assert len(pi) == vrf.PROOF_LENGTH
    assert pi == vrf.prove(sk, alpha)  # deterministic
    pk = vrf.public_key(sk)
    beta = vrf.verify(pk, pi, alpha)
    assert beta == vrf.proof_to_hash(pi)
    assert len(beta) == vrf.BETA_LENGTH


@settings(max_examples=100, deadline=None)
@given(sk=secret_keys, alpha=alphas, data=st.data())
def test_prove_tampered_anywhere_is_rejected(sk: bytes, alpha: bytes, data: st.DataObject) -> None:
    pk = vrf.public_key(sk)
    pi = vrf.prove(sk, alpha)
    which = data.draw(st.sampled_from(["pi", "pk", "alpha"]))
    target = bytearray({"pi": pi, "pk": pk, "alpha": alpha}[which] or b"\x00")
    index = data.draw(st.integers(0, len(target) - 1))
    target[index] ^= data.draw(st.integers(1, 255))
    # an empty alpha becomes one non-zero byte: still a different alpha
    args = {"pi": pi, "pk": pk, "alpha": alpha, which: bytes(target)}
    with pytest.raises(vrf.InvalidProof):
        vrf.verify(args["pk"], args["pi"], args["alpha"])


@settings(max_examples=100, deadline=None)
@given(sk=secret_keys, alpha=alphas)
def test_verifier_inputs_are_consistent_for_random_proofs(sk: bytes, alpha: bytes) -> None:
    pk = vrf.public_key(sk)
    pi = vrf.prove(sk, alpha)
    _check_helpers(pk, pi, alpha, vrf.verifier_inputs(pk, pi, alpha))


@settings(max_examples=300, deadline=None)
@given(pk=st.binary(min_size=0, max_size=40), pi=st.binary(min_size=0, max_size=90))
def test_verify_garbage_raises_only_invalid_proof(pk: bytes, pi: bytes) -> None:
    with pytest.raises(vrf.InvalidProof):
        vrf.verify(pk, pi, b"alpha")


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from([2, 3]),
    x=st.integers(0, 2**256 - 1),
    rest=st.binary(min_size=48, max_size=48),
)
def test_verify_random_well_formed_proof_raises_only_invalid_proof(
    prefix: int, x: int, rest: bytes
) -> None:
    entry = VALID[0]
    pi = bytes([prefix]) + x.to_bytes(32, "big") + rest
    with pytest.raises(vrf.InvalidProof):
        vrf.verify(_b(entry, "pk"), pi, _b(entry, "alpha"))
