"""ECVRF-SECP256K1-SHA256-TAI (suite byte 0xFE, draft-05 rules), on coincurve.

The suite that witnet vrf-rs / vrf-solidity, vechain go-ecvrf and @roamin/ecvrf agree on; the
exact definition is in ``../shared/vectors/README.md``. Summary:

* ``point_to_string`` is SEC1 compressed (33 bytes); proofs are ``Γ (33) ‖ c (16) ‖ s (32)``.
* Hash to curve by try-and-increment: for ``ctr`` = 0..255,
  ``x = SHA256(0xFE ‖ 0x01 ‖ Y ‖ alpha ‖ ctr)``; the first ``x`` that is the x coordinate of a
  curve point gives ``H`` (even y).
* Nonce: RFC 6979 (HMAC-SHA256) with ``h1 = SHA256(point_to_string(H))``.
* Challenge ``c`` = first 16 bytes of ``SHA256(0xFE ‖ 0x02 ‖ H ‖ Γ ‖ U ‖ V)``.
* ``beta = SHA256(0xFE ‖ 0x03 ‖ Γ)``.

Besides prove/verify, :func:`verifier_inputs` computes the helper values that let the on-chain
verifier (``contracts/libraries/VRF.sol``) check a proof with three ``ecrecover`` calls and a few
``mulmod``s instead of elliptic-curve multiplications and square roots:

* the affine points ``U = s·B − c·Y``, ``s·H`` and ``c·Γ`` (each checked on-chain by comparing
  ``ecrecover`` output with the address of the supplied coordinates),
* ``lambda``, the slope of the line through ``s·H`` and ``−c·Γ`` (so ``V = s·H − c·Γ`` costs one
  affine addition checked with one ``mulmod``),
* one witness per rejected hash-to-curve try: ``w`` with ``w² ≡ −(x³ + 7) (mod p)``, which proves
  that ``x³ + 7`` is not a square because ``−1`` is not a square modulo ``p`` (p ≡ 3 mod 4); it is
  0 for a try whose ``x ≥ p``. The accepted try needs no witness: ``ecrecover`` itself rejects an
  ``x`` that is not on the curve.

This module is pure: it imports no chain or I/O code. Every failure is an :class:`InvalidProof`
(or another :class:`VRFError`) naming the check; curve-library exceptions never escape.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final, NamedTuple

from coincurve import PrivateKey, PublicKey

from oracle.errors import OracleError

__all__ = [
    "BETA_LENGTH",
    "CHALLENGE_LENGTH",
    "FIELD_PRIME",
    "GROUP_ORDER",
    "PROOF_LENGTH",
    "PUBLIC_KEY_LENGTH",
    "SECRET_KEY_LENGTH",
    "SUITE",
    "AffinePoint",
    "InvalidProof",
    "InvalidSecretKey",
    "NotVerifiableOnChain",
    "VRFError",
    "VerifierInputs",
    "generate_secret_key",
    "hash_to_curve_counter",
    "proof_to_hash",
    "prove",
    "public_key",
    "verifier_inputs",
    "verify",
]

SUITE: Final = 0xFE
FIELD_PRIME: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
GROUP_ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECRET_KEY_LENGTH: Final = 32
PUBLIC_KEY_LENGTH: Final = 33
CHALLENGE_LENGTH: Final = 16
SCALAR_LENGTH: Final = 32
PROOF_LENGTH: Final = PUBLIC_KEY_LENGTH + CHALLENGE_LENGTH + SCALAR_LENGTH  # 81
BETA_LENGTH: Final = 32
MAX_COUNTER: Final = 255

_P = FIELD_PRIME
_N = GROUP_ORDER
_SQRT_EXPONENT: Final = (_P + 1) // 4  # p ≡ 3 (mod 4)
_HASH_TO_CURVE: Final = bytes([SUITE, 0x01])
_CHALLENGE: Final = bytes([SUITE, 0x02])
_PROOF_TO_HASH: Final = bytes([SUITE, 0x03])


# ------------------------------------------------------------------ errors
class VRFError(OracleError):
    """Base class of the VRF errors; ``check`` names the check that failed."""

    def __init__(self, check: str, message: str) -> None:
        self.check = check
        super().__init__(f"{check}: {message}")


class InvalidProof(VRFError):
    """A proof, public key or alpha was rejected; ``check`` says which check failed.

    Checks: ``type``, ``public_key_length``, ``public_key_prefix``, ``public_key_on_curve``,
    ``proof_length``, ``gamma_prefix``, ``gamma_on_curve``, ``scalar_range``, ``hash_to_curve``,
    ``u_infinity``, ``v_infinity``, ``challenge``.
    """


class InvalidSecretKey(VRFError):
    """A secret key is not 32 bytes or not in [1, n)."""


class NotVerifiableOnChain(VRFError):
    """A valid proof that the on-chain verifier cannot check (each case has probability about
    2^-127 for honest keys and proofs): an x coordinate of Y, Γ or H is ≥ n (``ecrecover`` takes
    r < n only), or s·H and c·Γ share an x coordinate (``v_degenerate``)."""


# ------------------------------------------------------------------ public types
class AffinePoint(NamedTuple):
    """A curve point in affine coordinates (both < p)."""

    x: int
    y: int


@dataclass(frozen=True, slots=True)
class VerifierInputs:
    """Everything the on-chain verifier needs besides the public key, the proof and alpha.

    ``as_abi()`` gives the value of the Solidity ``VRFHelpers`` struct
    ``(uint256[2] u, uint256[2] sH, uint256[2] cGamma, uint256 lambda, uint256[] witnesses)``.
    """

    u: AffinePoint
    """U = s·B − c·Y."""
    s_h: AffinePoint
    """s·H."""
    c_gamma: AffinePoint
    """c·Γ."""
    lam: int
    """Slope: lam·(s_h.x − c_gamma.x) ≡ s_h.y + c_gamma.y (mod p)."""
    witnesses: tuple[int, ...]
    """One per rejected hash-to-curve try: w with w² ≡ −(x³+7) (mod p), or 0 when x ≥ p."""
    beta: bytes
    """The VRF output the verifier returns."""

    @property
    def counter(self) -> int:
        """The try-and-increment counter of the accepted try."""
        return len(self.witnesses)

    def as_abi(
        self,
    ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], int, list[int]]:
        """The ``VRFHelpers`` struct as a tuple for an ABI encoder or an ape contract call."""
        return (
            (self.u.x, self.u.y),
            (self.s_h.x, self.s_h.y),
            (self.c_gamma.x, self.c_gamma.y),
            self.lam,
            list(self.witnesses),
        )


# ------------------------------------------------------------------ API
def generate_secret_key() -> bytes:
    """A fresh random secret key (32 bytes, uniform in [1, n), from the OS CSPRNG)."""
    return PrivateKey().secret


def public_key(secret_key: bytes) -> bytes:
    """The 33-byte SEC1 compressed public key of ``secret_key`` (32 bytes, 1 ≤ x < n)."""
    _secret_scalar(secret_key)
    return PrivateKey(bytes(secret_key)).public_key.format(compressed=True)


def prove(secret_key: bytes, alpha: bytes) -> bytes:
    """The 81-byte proof pi = Γ ‖ c ‖ s for ``alpha`` under ``secret_key`` (deterministic)."""
    x = _secret_scalar(secret_key)
    alpha = _as_bytes(alpha, "alpha", InvalidProof)
    key = PrivateKey(bytes(secret_key))
    pk = key.public_key.format(compressed=True)
    point_h, _ = _hash_to_curve(pk, alpha)
    h = point_h.format(compressed=True)
    gamma = point_h.multiply(bytes(secret_key)).format(compressed=True)
    k = _nonce_rfc6979(x, hashlib.sha256(h).digest())
    k_bytes = k.to_bytes(SCALAR_LENGTH, "big")
    u = PrivateKey(k_bytes).public_key.format(compressed=True)
    v = point_h.multiply(k_bytes).format(compressed=True)
    c = _challenge(h, gamma, u, v)
    s = (k + int.from_bytes(c, "big") * x) % _N
    return gamma + c + s.to_bytes(SCALAR_LENGTH, "big")


def verify(public_key: bytes, proof: bytes, alpha: bytes) -> bytes:
    """Verify ``proof`` for ``alpha`` under ``public_key``; return beta (32 bytes).

    Raises :class:`InvalidProof` naming the failed check.
    """
    return _verify(public_key, proof, alpha).beta


def proof_to_hash(proof: bytes) -> bytes:
    """beta = SHA256(0xFE ‖ 0x03 ‖ Γ) of a well-formed proof (this does NOT verify it)."""
    _, gamma, _, _ = _decode_proof(proof)
    return _beta(gamma)


def hash_to_curve_counter(public_key: bytes, alpha: bytes) -> int:
    """The try-and-increment counter at which hashing (public_key, alpha) hits the curve."""
    pk = _decode_public_key(public_key).format(compressed=True)
    _, ctr = _hash_to_curve(pk, _as_bytes(alpha, "alpha", InvalidProof))
    return ctr


def verifier_inputs(public_key: bytes, proof: bytes, alpha: bytes) -> VerifierInputs:
    """Verify the proof, then compute the helper values for the on-chain verifier.

    Raises :class:`InvalidProof` when the proof does not verify and
    :class:`NotVerifiableOnChain` in the (negligible) cases the contract cannot handle.
    """
    v = _verify(public_key, proof, alpha)
    for name, point in (("public_key", v.pk), ("gamma", v.gamma), ("h", v.h)):
        x, _ = point.point()
        if x >= _N:
            raise NotVerifiableOnChain(
                "x_range", f"{name} x coordinate {x:#x} is ≥ n; ecrecover cannot take it"
            )
    s_h = _affine(v.s_h)
    minus_c_gamma = _affine(v.minus_c_gamma)
    c_gamma = AffinePoint(minus_c_gamma.x, _P - minus_c_gamma.y)
    u = _affine(v.u)
    if s_h.x == c_gamma.x:
        raise NotVerifiableOnChain("v_degenerate", f"s·H and c·Γ share the x coordinate {s_h.x:#x}")
    lam = (s_h.y + c_gamma.y) * pow(s_h.x - c_gamma.x, -1, _P) % _P
    witnesses = tuple(_non_residue_witness(x) for x in v.rejected)
    return VerifierInputs(u=u, s_h=s_h, c_gamma=c_gamma, lam=lam, witnesses=witnesses, beta=v.beta)


# ------------------------------------------------------------------ internals
@dataclass(frozen=True, slots=True)
class _Verified:
    pk: PublicKey
    gamma: PublicKey
    h: PublicKey
    u: PublicKey
    s_h: PublicKey | None
    minus_c_gamma: PublicKey | None
    rejected: tuple[int, ...]
    beta: bytes


def _verify(public_key: bytes, proof: bytes, alpha: bytes) -> _Verified:
    pk = _decode_public_key(public_key)
    gamma, gamma_str, c, s = _decode_proof(proof)
    alpha = _as_bytes(alpha, "alpha", InvalidProof)
    y_str = pk.format(compressed=True)
    point_h, ctr = _hash_to_curve(y_str, alpha)
    # U = s·B − c·Y and V = s·H − c·Γ
    u = _add(_mul_base(s), _mul(pk, (_N - c) % _N))
    if u is None:
        raise InvalidProof("u_infinity", "U = s·B − c·Y is the point at infinity")
    s_h = _mul(point_h, s)
    minus_c_gamma = _mul(gamma, (_N - c) % _N)
    v = _add(s_h, minus_c_gamma)
    if v is None:
        raise InvalidProof("v_infinity", "V = s·H − c·Γ is the point at infinity")
    expected = _challenge(
        point_h.format(compressed=True),
        gamma_str,
        u.format(compressed=True),
        v.format(compressed=True),
    )
    if int.from_bytes(expected, "big") != c:
        raise InvalidProof(
            "challenge",
            f"c = {c:032x} does not equal the recomputed challenge {expected.hex()}",
        )
    return _Verified(
        pk=pk,
        gamma=gamma,
        h=point_h,
        u=u,
        s_h=s_h,
        minus_c_gamma=minus_c_gamma,
        rejected=tuple(int.from_bytes(_try_hash(y_str, alpha, j), "big") for j in range(ctr)),
        beta=_beta(gamma_str),
    )


def _as_bytes(value: object, field: str, error: type[VRFError]) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise error("type", f"{field} must be bytes, got {type(value).__name__}")


def _secret_scalar(secret_key: bytes) -> int:
    sk = _as_bytes(secret_key, "secret_key", InvalidSecretKey)
    if len(sk) != SECRET_KEY_LENGTH:
        raise InvalidSecretKey("secret_key_length", f"secret_key must be 32 bytes, got {len(sk)}")
    x = int.from_bytes(sk, "big")
    if not 0 < x < _N:
        # the value is not echoed: error messages end up in logs
        raise InvalidSecretKey("secret_key_range", "secret_key is 0 or not below the group order n")
    return x


def _decode_point(data: bytes, field: str) -> PublicKey:
    if data[0] not in (2, 3):
        raise InvalidProof(
            f"{field}_prefix", f"{field} prefix byte is {data[0]:#04x}, not 0x02 or 0x03"
        )
    try:
        return PublicKey(data)
    except ValueError:
        raise InvalidProof(
            f"{field}_on_curve", f"{field} {data.hex()} is not a point on secp256k1"
        ) from None


def _decode_public_key(public_key: bytes) -> PublicKey:
    data = _as_bytes(public_key, "public_key", InvalidProof)
    if len(data) != PUBLIC_KEY_LENGTH:
        raise InvalidProof("public_key_length", f"public_key must be 33 bytes, got {len(data)}")
    return _decode_point(data, "public_key")


def _decode_proof(proof: bytes) -> tuple[PublicKey, bytes, int, int]:
    data = _as_bytes(proof, "proof", InvalidProof)
    if len(data) != PROOF_LENGTH:
        raise InvalidProof("proof_length", f"proof must be 81 bytes, got {len(data)}")
    gamma_str = data[:PUBLIC_KEY_LENGTH]
    gamma = _decode_point(gamma_str, "gamma")
    c = int.from_bytes(data[PUBLIC_KEY_LENGTH : PUBLIC_KEY_LENGTH + CHALLENGE_LENGTH], "big")
    s = int.from_bytes(data[PUBLIC_KEY_LENGTH + CHALLENGE_LENGTH :], "big")
    # s = 0 is excluded as well (no feasible proof has it): the on-chain verifier needs s ≠ 0.
    if not 0 < s < _N:
        raise InvalidProof("scalar_range", f"s = {s:#x} is not in [1, n)")
    return gamma, gamma_str, c, s


def _try_hash(pk: bytes, alpha: bytes, ctr: int) -> bytes:
    return hashlib.sha256(_HASH_TO_CURVE + pk + alpha + bytes([ctr])).digest()


def _hash_to_curve(pk: bytes, alpha: bytes) -> tuple[PublicKey, int]:
    for ctr in range(MAX_COUNTER + 1):
        try:
            return PublicKey(b"\x02" + _try_hash(pk, alpha, ctr)), ctr
        except ValueError:
            continue
    # Probability 2^-256: no counter value gives a curve point.
    raise InvalidProof("hash_to_curve", "no try-and-increment counter in 0..255 hit the curve")


def _non_residue_witness(x: int) -> int:
    if x >= _P:
        return 0
    target = (-(x * x * x + 7)) % _P
    w = pow(target, _SQRT_EXPONENT, _P)
    if w * w % _P != target:  # pragma: no cover - x was rejected, so −(x³+7) is a square
        raise NotVerifiableOnChain("witness", f"no non-residue witness for x = {x:#x}")
    return w


def _nonce_rfc6979(x: int, h1: bytes) -> int:
    """RFC 6979 §3.2 with HMAC-SHA256 and qlen = 256 (draft-05 ECVRF_nonce_generation)."""
    x_octets = x.to_bytes(32, "big")
    h_octets = (int.from_bytes(h1, "big") % _N).to_bytes(32, "big")  # bits2octets
    v = b"\x01" * 32
    k = b"\x00" * 32
    k = hmac.new(k, v + b"\x00" + x_octets + h_octets, hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    k = hmac.new(k, v + b"\x01" + x_octets + h_octets, hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    while True:
        v = hmac.new(k, v, hashlib.sha256).digest()
        candidate = int.from_bytes(v, "big")
        if 0 < candidate < _N:
            return candidate
        k = hmac.new(k, v + b"\x00", hashlib.sha256).digest()  # pragma: no cover
        v = hmac.new(k, v, hashlib.sha256).digest()  # pragma: no cover


def _challenge(h: bytes, gamma: bytes, u: bytes, v: bytes) -> bytes:
    return hashlib.sha256(_CHALLENGE + h + gamma + u + v).digest()[:CHALLENGE_LENGTH]


def _beta(gamma: bytes) -> bytes:
    return hashlib.sha256(_PROOF_TO_HASH + gamma).digest()


def _mul_base(scalar: int) -> PublicKey | None:
    if scalar % _N == 0:
        return None
    return PrivateKey((scalar % _N).to_bytes(32, "big")).public_key


def _mul(point: PublicKey, scalar: int) -> PublicKey | None:
    if scalar % _N == 0:
        return None
    return point.multiply((scalar % _N).to_bytes(32, "big"))


def _add(a: PublicKey | None, b: PublicKey | None) -> PublicKey | None:
    if a is None:
        return b
    if b is None:
        return a
    try:
        return PublicKey.combine_keys([a, b])
    except ValueError:  # a = −b: the sum is the point at infinity
        return None


def _affine(point: PublicKey | None) -> AffinePoint:
    if point is None:  # pragma: no cover - callers only pass points of valid proofs
        raise NotVerifiableOnChain("infinity", "a helper point is the point at infinity")
    x, y = point.point()
    return AffinePoint(x, y)
