"""EIP-712 digests and signatures of committee reports, computed directly.

`oracle.reports.report_digest` goes through eth-account's generic typed-data encoder, which
re-derives the type strings and ABI-encodes every field of every entry on each call: about 8 ms
per 60-entry report, several times per round (digests, then each signature). This module
computes the same 32 bytes from the same `REPORT_TYPES` (the encoding plan is derived from it
once, so a field added there is encoded here too, and an unknown field type fails at import), and
signs a digest once computed. Byte-identical results are proven against `oracle.reports` by
tests/service/test_digest.py. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from coincurve import PrivateKey
from eth_hash.auto import keccak

from oracle.reports import DOMAIN_NAME, DOMAIN_VERSION, REPORT_TYPES, Domain, Report

_DOMAIN_TYPE: Final = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def _encode_type(primary: str, types: dict[str, list[dict[str, str]]]) -> str:
    """EIP-712 encodeType: the primary type, then every type it references, sorted by name."""
    found: set[str] = set()

    def walk(name: str) -> None:
        for f in types[name]:
            base = f["type"].removesuffix("[]")
            if base in types and base not in found:
                found.add(base)
                walk(base)

    walk(primary)
    found.discard(primary)

    def one(name: str) -> str:
        return name + "(" + ",".join(f"{f['type']} {f['name']}" for f in types[name]) + ")"

    return one(primary) + "".join(one(name) for name in sorted(found))


_Encoder = Callable[[Any], bytes]


def _word(value: int) -> bytes:
    return int(value).to_bytes(32, "big")


def _field_encoder(kind: str) -> _Encoder:
    if kind == "bytes32":
        return bytes
    if kind.startswith("uint") and kind[4:].isdigit():
        return _word
    if kind.endswith("[]"):
        inner = kind[:-2]
        if inner.startswith("uint") and inner[4:].isdigit():
            return lambda values: keccak(b"".join(v.to_bytes(32, "big") for v in values))
        if inner in REPORT_TYPES:
            return lambda items: keccak(b"".join(_struct_hash(inner, item) for item in items))
    raise TypeError(f"EIP-712 field type {kind!r} of REPORT_TYPES has no fast encoder")


_TYPEHASH: Final = {
    name: keccak(_encode_type(name, REPORT_TYPES).encode()) for name in REPORT_TYPES
}
_PLAN: Final = {
    name: tuple((f["name"], _field_encoder(f["type"])) for f in fields)
    for name, fields in REPORT_TYPES.items()
}


def _struct_hash(name: str, value: dict[str, Any]) -> bytes:
    parts = [_TYPEHASH[name]]
    parts.extend(encode(value[field]) for field, encode in _PLAN[name])
    return bytes(keccak(b"".join(parts)))


def domain_separator(domain: Domain) -> bytes:
    return bytes(
        keccak(
            keccak(_DOMAIN_TYPE.encode())
            + keccak(DOMAIN_NAME.encode())
            + keccak(DOMAIN_VERSION.encode())
            + _word(domain.chain_id)
            + bytes(12)
            + bytes.fromhex(domain.verifying_contract[2:])
        )
    )


def report_digest(report: Report, domain: Domain, separator: bytes | None = None) -> bytes:
    """The EIP-712 digest of `report` (= oracle.reports.report_digest = hashReport on-chain)."""
    separator = separator if separator is not None else domain_separator(domain)
    return bytes(keccak(b"\x19\x01" + separator + _struct_hash("Report", report.typed())))


def report_digests(reports: Sequence[Report], domain: Domain) -> tuple[bytes, ...]:
    separator = domain_separator(domain)
    return tuple(report_digest(r, domain, separator) for r in reports)


def sign_digests(digests: Sequence[bytes], private_key: bytes) -> tuple[bytes, ...]:
    """EIP-2098 compact signatures (r ‖ yParity·2^255 + s) of `digests`: RFC 6979 nonces and
    low s, the very bytes eth-account's `sign_message` gives on its coincurve backend."""
    key = PrivateKey(private_key)
    signatures = []
    for digest in digests:
        raw = key.sign_recoverable(digest, hasher=None)  # r (32) ‖ s (32) ‖ recovery id (1)
        s, parity = int.from_bytes(raw[32:64], "big"), raw[64]
        signatures.append(raw[:32] + (parity << 255 | s).to_bytes(32, "big"))
    return tuple(signatures)
