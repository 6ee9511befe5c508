"""VRFVerifier on Anvil: the shared vectors, every check's custom error, Python/Solidity equality
(VRF beta, weighted pick, alpha) and the receipt gas of a verification."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import ape
import pytest
from coincurve import PrivateKey, PublicKey
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import vrf
from oracle.sortition import pick, vrf_alpha
from tests.contracts._helpers import reverts_with

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors" / "vrf-sample.json"
SAMPLE = json.loads(VECTORS.read_text())
VALID = SAMPLE["valid"]
INVALID = SAMPLE["invalid"]
P = vrf.FIELD_PRIME
N = vrf.GROUP_ORDER
GAS_BUDGET = 90_000
GAS_SPREAD_BUDGET = 10_000
CHAIN_HYPOTHESIS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

Helpers = tuple[tuple[int, int], tuple[int, int], tuple[int, int], int, list[int]]


@pytest.fixture(scope="session")
def verifier(project: Any, admin: Any) -> Any:
    return admin.deploy(project.VRFVerifier)


def _b(entry: dict[str, str], key: str) -> bytes:
    return bytes.fromhex(entry[key])


def _vector(index: int) -> tuple[bytes, bytes, bytes]:
    entry = VALID[index]
    return _b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha")


@pytest.fixture
def verify_tx(verifier: Any, alice: Any) -> Any:
    """verifyAndRecord as a transaction: ape decodes custom errors of transactions, while with
    anvil 1.7.1 the revert data of an eth_call reaches ape only as text it cannot decode."""

    def send(pk: bytes, pi: bytes, alpha: bytes, helpers: Any) -> Any:
        return verifier.verifyAndRecord(pk, pi, alpha, helpers, sender=alice)

    return send


VERIFY_TYPES = ["bytes", "bytes", "bytes", "(uint256[2],uint256[2],uint256[2],uint256,uint256[])"]
VERIFY_SELECTOR = keccak(text=f"verify({','.join(VERIFY_TYPES)})")[:4]


def _call_verify(verifier: Any, pk: bytes, pi: bytes, alpha: bytes, helpers: Any) -> bytes | str:
    """verify() through a raw eth_call: beta, or the name of the custom error it reverted with.

    Much faster than a reverting ape call (ape traces every revert), for the bulk tamper tests.
    """
    data = VERIFY_SELECTOR + encode(VERIFY_TYPES, [pk, pi, alpha, helpers])
    call = {"to": verifier.address, "data": "0x" + data.hex()}
    response = ape.chain.provider.web3.provider.make_request("eth_call", [call, "latest"])
    if "error" not in response:
        return bytes.fromhex(response["result"][2:])
    revert = bytes.fromhex(response["error"]["data"][2:])
    names = {keccak(text=abi.selector)[:4]: abi.name for abi in verifier.contract_type.errors}
    return names.get(revert[:4], "0x" + revert.hex())


def _assert_rejected(result: bytes | str) -> None:
    assert isinstance(result, str), f"accepted, beta {result.hex()}"
    assert result.startswith("VRF"), f"reverted without a VRF error: {result}"


# ------------------------------------------------------------------ raw helpers
# Helper values computed from the definitions without verifying anything, so that malformed or
# forged proofs reach the check under test (oracle.vrf.verifier_inputs refuses invalid proofs).
def _try_x(pk: bytes, alpha: bytes, ctr: int) -> int:
    return int.from_bytes(hashlib.sha256(b"\xfe\x01" + pk + alpha + bytes([ctr])).digest(), "big")


def _is_curve_x(x: int) -> bool:
    return x < P and pow((x**3 + 7) % P, (P - 1) // 2, P) == 1


def _first_counter(pk: bytes, alpha: bytes) -> int:
    return next(j for j in range(256) if _is_curve_x(_try_x(pk, alpha, j)))


def _witness(x: int) -> int:
    return 0 if x >= P else pow((-(x**3 + 7)) % P, (P + 1) // 4, P)


def _mul(point: PublicKey | None, scalar: int) -> tuple[int, int]:
    if point is None or scalar % N == 0:
        return (0, 0)
    x, y = point.multiply((scalar % N).to_bytes(32, "big")).point()
    return (x, y)


def _point(data: bytes) -> PublicKey | None:
    try:
        return PublicKey(data)
    except ValueError:
        return None


def _raw_helpers(pk: bytes, pi: bytes, alpha: bytes, ctr: int | None = None) -> Helpers:
    if ctr is None:
        ctr = _first_counter(pk, alpha)
    witnesses = [_witness(_try_x(pk, alpha, j)) for j in range(ctr)]
    c = int.from_bytes(pi[33:49], "big")
    s = int.from_bytes(pi[49:81], "big")
    point_h = _point(b"\x02" + _try_x(pk, alpha, ctr).to_bytes(32, "big"))
    s_h = _mul(point_h, s)
    c_gamma = _mul(_point(pi[:33]), c)
    y = _point(pk)
    u = (0, 0)
    if y is not None and 0 < s < N and c > 0:
        s_b = PrivateKey(s.to_bytes(32, "big")).public_key
        minus_c_y = y.multiply((N - c).to_bytes(32, "big"))
        u = PublicKey.combine_keys([s_b, minus_c_y]).point()
    lam = 0
    if s_h[0] != c_gamma[0]:
        lam = (s_h[1] + c_gamma[1]) * pow(s_h[0] - c_gamma[0], -1, P) % P
    return (u, s_h, c_gamma, lam, witnesses)


def _address(point: tuple[int, int]) -> str:
    digest = keccak(point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big"))
    return to_checksum_address(digest[12:])


# ------------------------------------------------------------------ vectors
@pytest.mark.parametrize("index", range(len(VALID)), ids=[e["sk"][-4:] for e in VALID])
def test_verify_returns_vector_beta(verifier: Any, index: int) -> None:
    pk, pi, alpha = _vector(index)
    helpers = vrf.verifier_inputs(pk, pi, alpha)
    assert helpers.as_abi() == _raw_helpers(pk, pi, alpha)  # two implementations agree
    assert bytes(verifier.verify(pk, pi, alpha, helpers.as_abi())).hex() == VALID[index]["beta"]
    assert bytes(verifier.proofToHash(pi)).hex() == VALID[index]["beta"]


def test_verify_and_record_emits_beta_and_meets_gas_budget(
    verifier: Any, alice: Any, gas_log: Any
) -> None:
    used: dict[int, list[int]] = {}
    for index in range(len(VALID)):
        pk, pi, alpha = _vector(index)
        helpers = vrf.verifier_inputs(pk, pi, alpha)
        receipt = verifier.verifyAndRecord(pk, pi, alpha, helpers.as_abi(), sender=alice)
        [log] = verifier.ProofVerified.from_receipt(receipt)
        assert bytes(log.publicKeyHash) == keccak(pk)
        assert bytes(log.alphaHash) == keccak(alpha)
        assert bytes(log.beta).hex() == VALID[index]["beta"]
        gas = gas_log.record(f"VRFVerifier.verify[ctr={helpers.counter}]", receipt)
        used.setdefault(helpers.counter, []).append(gas)
        assert gas <= GAS_BUDGET, f"vector {index} (ctr {helpers.counter}) used {gas} gas"
    assert sorted(used) == [0, 1, 3]
    flat = [gas for values in used.values() for gas in values]
    assert max(flat) - min(flat) <= GAS_SPREAD_BUDGET, used
    # flat in the counter: an extra try costs far less than witnet's ~35k square root
    assert max(used[3]) - max(used[0]) <= 3 * 2_000, used


@pytest.mark.parametrize("entry", INVALID, ids=[e["reason"] for e in INVALID])
def test_verify_rejects_invalid_vector_with_challenge_mismatch(
    verifier: Any, entry: dict[str, str], verify_tx: Any
) -> None:
    pk, pi, alpha = _b(entry, "pk"), _b(entry, "pi"), _b(entry, "alpha")
    with reverts_with(verifier.VRFChallengeMismatch, given=pi[33:49]):
        verify_tx(pk, pi, alpha, _raw_helpers(pk, pi, alpha))


# ------------------------------------------------------------------ tampering
@pytest.mark.parametrize("index", range(vrf.PROOF_LENGTH))
def test_verify_rejects_proof_with_any_byte_changed(verifier: Any, index: int) -> None:
    pk, pi, alpha = _vector(1)  # counter 3
    tampered = bytearray(pi)
    tampered[index] ^= 0x01
    # helpers recomputed for the tampered proof, so only the proof itself can fail
    _assert_rejected(
        _call_verify(verifier, pk, bytes(tampered), alpha, _raw_helpers(pk, bytes(tampered), alpha))
    )


@pytest.mark.parametrize("index", range(vrf.PUBLIC_KEY_LENGTH))
def test_verify_rejects_public_key_with_any_byte_changed(verifier: Any, index: int) -> None:
    pk, pi, alpha = _vector(0)
    tampered = bytearray(pk)
    tampered[index] ^= 0x01
    _assert_rejected(
        _call_verify(verifier, bytes(tampered), pi, alpha, _raw_helpers(bytes(tampered), pi, alpha))
    )


def test_verify_rejects_alpha_changed_with_challenge_mismatch(
    verifier: Any, verify_tx: Any
) -> None:
    pk, pi, alpha = _vector(5)
    for changed in (alpha[:-1] + b"f", alpha + b"\x00", b""):
        with reverts_with(verifier.VRFChallengeMismatch):
            verify_tx(pk, pi, changed, _raw_helpers(pk, pi, changed))


def test_verify_rejects_original_helpers_for_tampered_proof(verifier: Any) -> None:
    pk, pi, alpha = _vector(1)
    helpers = vrf.verifier_inputs(pk, pi, alpha).as_abi()
    for index in range(vrf.PROOF_LENGTH):
        tampered = bytearray(pi)
        tampered[index] ^= 0x04
        _assert_rejected(_call_verify(verifier, pk, bytes(tampered), alpha, helpers))


# ------------------------------------------------------------------ every custom error
def test_verify_rejects_public_key_of_wrong_length(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(0)
    helpers = _raw_helpers(pk, pi, alpha)
    with reverts_with(verifier.VRFInvalidPublicKeyLength, length=32):
        verify_tx(pk[:32], pi, alpha, helpers)
    with reverts_with(verifier.VRFInvalidPublicKeyLength, length=65):
        verify_tx(b"\x04" + pk[1:] * 2, pi, alpha, helpers)


def test_verify_rejects_public_key_with_bad_prefix(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(0)
    with reverts_with(verifier.VRFInvalidPublicKeyPrefix, prefix=4):
        verify_tx(b"\x04" + pk[1:], pi, alpha, _raw_helpers(pk, pi, alpha))


def test_verify_rejects_proof_of_wrong_length(verifier: Any, verify_tx: Any, alice: Any) -> None:
    pk, pi, alpha = _vector(0)
    helpers = _raw_helpers(pk, pi, alpha)
    with reverts_with(verifier.VRFInvalidProofLength, length=80):
        verify_tx(pk, pi[:80], alpha, helpers)
    with reverts_with(verifier.VRFInvalidProofLength, length=82):
        verifier.proofToHash.transact(pi + b"\x00", sender=alice)


def test_verify_rejects_gamma_with_bad_prefix(verifier: Any, verify_tx: Any, alice: Any) -> None:
    pk, pi, alpha = _vector(0)
    forged = b"\x05" + pi[1:]
    with reverts_with(verifier.VRFInvalidGammaPrefix, prefix=5):
        verify_tx(pk, forged, alpha, _raw_helpers(pk, pi, alpha))
    with reverts_with(verifier.VRFInvalidGammaPrefix, prefix=5):
        verifier.proofToHash.transact(forged, sender=alice)


@pytest.mark.parametrize("s", [0, N, 2**256 - 1])
def test_verify_rejects_scalar_out_of_range(verifier: Any, s: int, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(0)
    forged = pi[:49] + s.to_bytes(32, "big")
    with reverts_with(verifier.VRFScalarOutOfRange, s=s):
        verify_tx(pk, forged, alpha, _raw_helpers(pk, pi, alpha))


def test_verify_rejects_coordinates_ecrecover_cannot_take(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(0)
    helpers = _raw_helpers(pk, pi, alpha)
    with reverts_with(verifier.VRFUnsupportedCoordinate, x=N):
        verify_tx(b"\x02" + N.to_bytes(32, "big"), pi, alpha, helpers)
    with reverts_with(verifier.VRFUnsupportedCoordinate, x=P - 1):
        verify_tx(pk, b"\x03" + (P - 1).to_bytes(32, "big") + pi[33:], alpha, helpers)


def test_verify_rejects_more_than_255_tries(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(0)
    u, s_h, c_gamma, lam, _ = _raw_helpers(pk, pi, alpha)
    with reverts_with(verifier.VRFTooManyTries, tries=256):
        verify_tx(pk, pi, alpha, (u, s_h, c_gamma, lam, [0] * 256))


def test_verify_rejects_wrong_non_residue_witness(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(1)  # counter 3
    u, s_h, c_gamma, lam, witnesses = vrf.verifier_inputs(pk, pi, alpha).as_abi()
    assert all(_try_x(pk, alpha, j) < P for j in range(3))
    bad = [witnesses[0], (witnesses[1] + 1) % P, witnesses[2]]
    with reverts_with(verifier.VRFInvalidNonResidueWitness, ctr=1, witness=bad[1]):
        verify_tx(pk, pi, alpha, (u, s_h, c_gamma, lam, bad))
    # −w works as well as w (both square to −(x³+7)); only the square matters
    negated = [witnesses[0], P - witnesses[1], witnesses[2]]
    assert (
        bytes(verifier.verify(pk, pi, alpha, (u, s_h, c_gamma, lam, negated))).hex()
        == (VALID[1]["beta"])
    )


def test_verify_rejects_skipping_the_accepted_try(verifier: Any, verify_tx: Any) -> None:
    # Claiming that try 0 (a curve point) was rejected: no witness can show that.
    pk, pi, alpha = _vector(0)
    x0 = _try_x(pk, alpha, 0)
    fake = _witness(x0)  # the square root of x³+7's negation does not exist: junk
    with reverts_with(verifier.VRFInvalidNonResidueWitness, ctr=0, witness=fake):
        verify_tx(pk, pi, alpha, (*_raw_helpers(pk, pi, alpha, ctr=1)[:4], [fake]))


def test_verify_rejects_counter_before_the_accepted_try(verifier: Any, verify_tx: Any) -> None:
    # Claiming try 2 was accepted when it is not on the curve (the real counter is 3).
    pk, pi, alpha = _vector(1)
    x2 = _try_x(pk, alpha, 2)
    assert x2 < N and not _is_curve_x(x2)
    with reverts_with(verifier.VRFHashPointNotOnCurve, ctr=2, x=x2):
        verify_tx(pk, pi, alpha, _raw_helpers(pk, pi, alpha, ctr=2))


def test_verify_rejects_public_key_off_curve(verifier: Any, verify_tx: Any) -> None:
    _, pi, alpha = _vector(0)
    x = next(x for x in range(1, 100) if not _is_curve_x(x))
    off = b"\x02" + x.to_bytes(32, "big")
    with reverts_with(verifier.VRFUndefinedU, publicKeyX=x):
        verify_tx(off, pi, alpha, _raw_helpers(off, pi, alpha))


def test_verify_rejects_zero_challenge(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(0)
    forged = pi[:33] + bytes(16) + pi[49:]
    with reverts_with(verifier.VRFUndefinedU, publicKeyX=int.from_bytes(pk[1:], "big")):
        verify_tx(pk, forged, alpha, _raw_helpers(pk, forged, alpha))


def test_verify_rejects_gamma_off_curve(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(0)
    x = next(x for x in range(1, 100) if not _is_curve_x(x))
    forged = b"\x02" + x.to_bytes(32, "big") + pi[33:]
    with reverts_with(verifier.VRFGammaNotOnCurve, gammaX=x):
        verify_tx(pk, forged, alpha, _raw_helpers(pk, forged, alpha))


@pytest.mark.parametrize("which", [0, 1, 2])
def test_verify_rejects_wrong_helper_point(verifier: Any, which: int, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(3)
    helpers = list(vrf.verifier_inputs(pk, pi, alpha).as_abi())
    true_point = helpers[which]
    wrong = (true_point[0], P - true_point[1])  # the negated point: right x, wrong y
    helpers[which] = wrong
    error = [
        verifier.VRFInvalidUHelper,
        verifier.VRFInvalidSHHelper,
        verifier.VRFInvalidCGammaHelper,
    ][which]
    with reverts_with(error, recovered=_address(true_point), supplied=_address(wrong)):
        verify_tx(pk, pi, alpha, tuple(helpers))


def test_verify_rejects_wrong_lambda(verifier: Any, verify_tx: Any) -> None:
    pk, pi, alpha = _vector(2)
    u, s_h, c_gamma, lam, witnesses = vrf.verifier_inputs(pk, pi, alpha).as_abi()
    with reverts_with(verifier.VRFInvalidLambda, **{"lambda": lam + 1}):
        verify_tx(pk, pi, alpha, (u, s_h, c_gamma, lam + 1, witnesses))


def test_verify_rejects_degenerate_v(verifier: Any, verify_tx: Any) -> None:
    # With Γ = (s/c)·H, c·Γ = s·H and V = s·H − c·Γ is the point at infinity.
    pk, pi, alpha = _vector(2)
    ctr = _first_counter(pk, alpha)
    point_h = PublicKey(b"\x02" + _try_x(pk, alpha, ctr).to_bytes(32, "big"))
    c = int.from_bytes(pi[33:49], "big")
    s = int.from_bytes(pi[49:], "big")
    gamma = point_h.multiply((s * pow(c, -1, N) % N).to_bytes(32, "big"))
    forged = gamma.format() + pi[33:]
    helpers = _raw_helpers(pk, forged, alpha)
    with reverts_with(verifier.VRFDegenerateV, x=helpers[1][0]):
        verify_tx(pk, forged, alpha, helpers)
    with pytest.raises(vrf.InvalidProof, match=r"^v_infinity"):
        vrf.verify(pk, forged, alpha)


# ------------------------------------------------------------------ Python == Solidity
@CHAIN_HYPOTHESIS
@given(
    sk=st.integers(1, N - 1).map(lambda x: x.to_bytes(32, "big")),
    alpha=st.one_of(
        st.binary(max_size=100),
        st.builds(
            vrf_alpha,
            st.integers(0, 2**64),
            st.binary(min_size=20, max_size=20),
            st.integers(0, 2**256 - 1),
            st.binary(min_size=32, max_size=32),
            st.integers(0, 2**32 - 1),
        ),
    ),
)
def test_verify_random_python_proof_returns_python_beta(
    verifier: Any, sk: bytes, alpha: bytes
) -> None:
    pk = vrf.public_key(sk)
    pi = vrf.prove(sk, alpha)
    helpers = vrf.verifier_inputs(pk, pi, alpha)
    assert bytes(verifier.verify(pk, pi, alpha, helpers.as_abi())) == vrf.verify(pk, pi, alpha)


@CHAIN_HYPOTHESIS
@given(
    sk=st.integers(1, N - 1).map(lambda x: x.to_bytes(32, "big")),
    alpha=st.binary(min_size=1, max_size=64),
    data=st.data(),
)
def test_verify_random_tampered_proof_is_rejected_by_both(
    verifier: Any, sk: bytes, alpha: bytes, data: st.DataObject
) -> None:
    pk = vrf.public_key(sk)
    pi = vrf.prove(sk, alpha)
    which = data.draw(st.sampled_from(["pi", "pk", "alpha"]))
    target = bytearray({"pi": pi, "pk": pk, "alpha": alpha}[which])
    target[data.draw(st.integers(0, len(target) - 1))] ^= data.draw(st.integers(1, 255))
    args = {"pi": pi, "pk": pk, "alpha": alpha, which: bytes(target)}
    with pytest.raises(vrf.InvalidProof):
        vrf.verify(args["pk"], args["pi"], args["alpha"])
    _assert_rejected(
        _call_verify(
            verifier,
            args["pk"],
            args["pi"],
            args["alpha"],
            _raw_helpers(args["pk"], args["pi"], args["alpha"]),
        )
    )


@CHAIN_HYPOTHESIS
@given(
    beta=st.binary(min_size=32, max_size=32),
    attempt=st.integers(0, 2**256 - 1),
    weights=st.lists(st.integers(0, 2**200), min_size=1, max_size=30).filter(any),
)
def test_pick_equals_python(verifier: Any, beta: bytes, attempt: int, weights: list[int]) -> None:
    assert verifier.pick(beta, attempt, weights) == pick(beta, attempt, weights)


@CHAIN_HYPOTHESIS
@given(
    chain_id=st.integers(0, 2**256 - 1),
    market=st.binary(min_size=20, max_size=20),
    task_id=st.integers(0, 2**256 - 1),
    seed=st.binary(min_size=32, max_size=32),
    attempt=st.integers(0, 2**64 - 1),
)
def test_vrf_alpha_equals_python(
    verifier: Any, chain_id: int, market: bytes, task_id: int, seed: bytes, attempt: int
) -> None:
    on_chain = verifier.vrfAlpha(chain_id, "0x" + market.hex(), task_id, seed, attempt)
    assert bytes(on_chain) == vrf_alpha(chain_id, market, task_id, seed, attempt)


def test_pick_rejects_empty_candidate_list(verifier: Any, alice: Any) -> None:
    with reverts_with(verifier.SortitionNoCandidates):
        verifier.pick.transact(bytes(32), 0, [], sender=alice)


def test_pick_rejects_all_zero_weights(verifier: Any, alice: Any) -> None:
    with reverts_with(verifier.SortitionZeroTotalWeight, candidates=3):
        verifier.pick.transact(bytes(32), 0, [0, 0, 0], sender=alice)


def test_pick_rejects_total_weight_overflow(verifier: Any) -> None:
    with ape.reverts() as info:
        verifier.pick(bytes(32), 0, [2**255, 2**255])
    assert "(0x11)" in info.value.revert_message  # checked-arithmetic overflow panic
