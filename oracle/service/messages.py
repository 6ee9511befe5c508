"""The messages members exchange, authenticated by EIP-712 signatures of the member keys.

* ``proposal`` — the leader's choice for (round, attempt): the snapshot block and its hash, the
  inputs digest and the digest of every report of the round, signed as the typed data
  ``Proposal(bytes32 configDigest,uint64 round,uint32 attempt,uint64 snapshotBlock,bytes32
  blockHash,bytes32 inputsDigest,bytes32[] reportDigests)`` in the domain "VerAI Oracle
  Committee" / "1" / chain id / verifier address (so it can never pass for a report).
* ``signatures`` — one member's EIP-712 signatures of the round's reports (the very signatures
  `transmit` takes); the signer is who they recover to.
* ``attested`` — the reports in full with at least threshold signatures each (reliable
  broadcast); authenticated by those signatures.

`parse_message` checks the shape and sizes (malformed: 400); `Authenticator` recovers signers,
checks membership and config (non-member, wrong config: 403/409). Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.datatypes import Signature as KeySignature
from eth_utils.crypto import keccak

from oracle.reports import (
    Domain,
    QuorumNotReached,
    Report,
    ReportError,
    ReportSignature,
    select_quorum,
)
from oracle.service.digest import report_digests, sign_digests
from oracle.service.errors import RejectedMessage
from oracle.service.wire import bad, expect, hex_bytes, keys, report_from_json, report_to_json

COMMITTEE_DOMAIN_NAME = "VerAI Oracle Committee"
COMMITTEE_DOMAIN_VERSION = "1"
MAX_REPORTS = 256
PROPOSAL_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Proposal": [
        {"name": "configDigest", "type": "bytes32"},
        {"name": "round", "type": "uint64"},
        {"name": "attempt", "type": "uint32"},
        {"name": "snapshotBlock", "type": "uint64"},
        {"name": "blockHash", "type": "bytes32"},
        {"name": "inputsDigest", "type": "bytes32"},
        {"name": "reportDigests", "type": "bytes32[]"},
    ],
}


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


@dataclass(frozen=True)
class Proposal:
    config_digest: bytes
    round: int
    attempt: int
    snapshot_block: int
    block_hash: bytes
    inputs_digest: bytes
    report_digests: tuple[bytes, ...]
    signature: bytes = b""
    signer: str = ""

    def typed(self, domain: Domain) -> dict[str, Any]:
        return {
            "types": PROPOSAL_TYPES,
            "primaryType": "Proposal",
            "domain": {
                "name": COMMITTEE_DOMAIN_NAME,
                "version": COMMITTEE_DOMAIN_VERSION,
                "chainId": domain.chain_id,
                "verifyingContract": domain.verifying_contract,
            },
            "message": {
                "configDigest": self.config_digest,
                "round": self.round,
                "attempt": self.attempt,
                "snapshotBlock": self.snapshot_block,
                "blockHash": self.block_hash,
                "inputsDigest": self.inputs_digest,
                "reportDigests": list(self.report_digests),
            },
        }

    def signed(self, domain: Domain, private_key: bytes) -> Proposal:
        message = encode_typed_data(full_message=self.typed(domain))
        sig = Account.sign_message(message, private_key)
        raw = int(sig.r).to_bytes(32, "big") + int(sig.s).to_bytes(32, "big") + bytes([sig.v])
        return Proposal(
            **{
                **self.__dict__,
                "signature": raw,
                "signer": str(Account.from_key(private_key).address),
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "proposal",
            "config_digest": _hex(self.config_digest),
            "round": self.round,
            "attempt": self.attempt,
            "snapshot_block": self.snapshot_block,
            "block_hash": _hex(self.block_hash),
            "inputs_digest": _hex(self.inputs_digest),
            "report_digests": [_hex(d) for d in self.report_digests],
            "signature": _hex(self.signature),
        }

    @property
    def key(self) -> tuple[Any, ...]:
        return ("proposal", self.round, self.attempt, self.signer.lower())


@dataclass(frozen=True)
class Signatures:
    config_digest: bytes
    round: int
    attempt: int
    report_digests: tuple[bytes, ...]
    signatures: tuple[bytes, ...]
    signer: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "signatures",
            "config_digest": _hex(self.config_digest),
            "round": self.round,
            "attempt": self.attempt,
            "report_digests": [_hex(d) for d in self.report_digests],
            "signatures": [_hex(s) for s in self.signatures],
        }

    @property
    def key(self) -> tuple[Any, ...]:
        return ("signatures", self.round, self.attempt, self.signer.lower(), self.report_digests)


@dataclass(frozen=True)
class Attested:
    """The reports of a round with a quorum of signatures each (sorted, `threshold` of them)."""

    round: int
    attempt: int
    reports: tuple[Report, ...]
    signatures: tuple[tuple[ReportSignature, ...], ...]

    @property
    def first_round(self) -> int:
        return self.reports[0].round

    @property
    def last_round(self) -> int:
        return self.reports[-1].round

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "attested",
            "round": self.round,
            "attempt": self.attempt,
            "reports": [report_to_json(r) for r in self.reports],
            "signatures": [[_hex(s.compact()) for s in sigs] for sigs in self.signatures],
        }

    @property
    def key(self) -> tuple[Any, ...]:
        return ("attested", self.round, tuple(r.inputs_digest for r in self.reports[:1]))


Message = Proposal | Signatures | Attested


def encode(message: Message) -> bytes:
    return json.dumps(message.to_json(), separators=(",", ":")).encode()


# ------------------------------------------------------------------ parsing (shape only)
def _digests(raw: object, where: str) -> tuple[bytes, ...]:
    items = expect(raw, list, where)
    if not 1 <= len(items) <= MAX_REPORTS:
        raise bad(f"{where} must list 1..{MAX_REPORTS} digests")
    return tuple(hex_bytes(d, f"{where}[{i}]", 32) for i, d in enumerate(items))


def _uint(raw: object, where: str, bits: int) -> int:
    value = expect(raw, int, where)
    if not 0 <= value < 2**bits:
        raise bad(f"{where} out of range")
    return int(value)


def parse_message(body: bytes, limit: int) -> Message | _UncheckedAttested:
    """The message in `body`: RejectedMessage("oversized", 413) above `limit` bytes,
    ("malformed", 400) for anything that is not exactly one of the three shapes."""
    if len(body) > limit:
        raise RejectedMessage("oversized", f"message of {len(body)} bytes > {limit}", 413)
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad("body is not JSON") from None
    kind = expect(raw, dict, "message").get("type")
    if kind == "proposal":
        obj = keys(
            raw,
            {"type", "config_digest", "round", "attempt", "snapshot_block", "block_hash",
             "inputs_digest", "report_digests", "signature"},
            "proposal",
        )  # fmt: skip
        return Proposal(
            config_digest=hex_bytes(obj["config_digest"], "config_digest", 32),
            round=_uint(obj["round"], "round", 64),
            attempt=_uint(obj["attempt"], "attempt", 32),
            snapshot_block=_uint(obj["snapshot_block"], "snapshot_block", 64),
            block_hash=hex_bytes(obj["block_hash"], "block_hash", 32),
            inputs_digest=hex_bytes(obj["inputs_digest"], "inputs_digest", 32),
            report_digests=_digests(obj["report_digests"], "report_digests"),
            signature=hex_bytes(obj["signature"], "signature", 65),
        )
    if kind == "signatures":
        obj = keys(
            raw,
            {"type", "config_digest", "round", "attempt", "report_digests", "signatures"},
            "signatures",
        )
        digests = _digests(obj["report_digests"], "report_digests")
        sigs = expect(obj["signatures"], list, "signatures")
        if len(sigs) != len(digests):
            raise bad("signatures: one signature per report digest")
        return Signatures(
            config_digest=hex_bytes(obj["config_digest"], "config_digest", 32),
            round=_uint(obj["round"], "round", 64),
            attempt=_uint(obj["attempt"], "attempt", 32),
            report_digests=digests,
            signatures=tuple(hex_bytes(s, f"signatures[{i}]", 64) for i, s in enumerate(sigs)),
        )
    if kind == "attested":
        obj = keys(raw, {"type", "round", "attempt", "reports", "signatures"}, "attested")
        reports = expect(obj["reports"], list, "reports")
        sigs = expect(obj["signatures"], list, "signatures")
        if not 1 <= len(reports) <= MAX_REPORTS or len(sigs) != len(reports):
            raise bad("attested: 1..256 reports, one signature list each")
        parsed = tuple(report_from_json(r, f"reports[{i}]") for i, r in enumerate(reports))
        raw_sigs = []
        for i, group in enumerate(sigs):
            items = expect(group, list, f"signatures[{i}]")
            if len(items) > 31:
                raise bad(f"signatures[{i}]: at most 31")
            raw_sigs.append(
                tuple(hex_bytes(s, f"signatures[{i}][{j}]", 64) for j, s in enumerate(items))
            )
        return _UncheckedAttested(
            round=_uint(obj["round"], "round", 64),
            attempt=_uint(obj["attempt"], "attempt", 32),
            reports=parsed,
            raw_signatures=tuple(raw_sigs),
        )
    raise bad(f"unknown message type {kind!r}")


@dataclass(frozen=True)
class _UncheckedAttested:
    round: int
    attempt: int
    reports: tuple[Report, ...]
    raw_signatures: tuple[tuple[bytes, ...], ...]

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - never sent
        raise NotImplementedError


# ------------------------------------------------------------------ authentication
def recover_digest_signer(digest: bytes, signature: bytes) -> str:
    """The address whose key signed `digest` (64-byte compact or 65-byte r‖s‖v signature)."""
    if len(signature) == 64:
        r = int.from_bytes(signature[:32], "big")
        vs = int.from_bytes(signature[32:], "big")
        s, parity = vs & (2**255 - 1), vs >> 255
    elif len(signature) == 65:
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        parity = signature[64] - 27 if signature[64] >= 27 else signature[64]
    else:
        raise RejectedMessage("bad_signature", f"signature of {len(signature)} bytes")
    try:
        sig = KeySignature(vrs=(parity, r, s))
        return str(sig.recover_public_key_from_msg_hash(digest).to_checksum_address())
    except Exception as exc:  # eth-keys raises BadSignature, ValidationError, ...
        raise RejectedMessage("bad_signature", f"signature does not recover: {exc}") from None


def proposal_digest(proposal: Proposal, domain: Domain) -> bytes:
    message = encode_typed_data(full_message=proposal.typed(domain))
    return bytes(keccak(b"\x19" + message.version + message.header + message.body))


@dataclass(frozen=True)
class Authenticator:
    """Checks messages against the committee config in force (members, threshold, digest)."""

    domain: Domain
    config_digest: bytes
    members: tuple[str, ...]
    threshold: int

    def _member(self, address: str) -> str:
        for m in self.members:
            if m.lower() == address.lower():
                return m
        raise RejectedMessage("non_member", f"signer {address} is not in the committee", 403)

    def _config(self, digest: bytes) -> None:
        if digest != self.config_digest:
            raise RejectedMessage(
                "wrong_config", f"config digest 0x{digest.hex()} is not the one in force", 409
            )

    def check(self, message: Message | _UncheckedAttested) -> Message:
        if isinstance(message, Proposal):
            self._config(message.config_digest)
            signer = recover_digest_signer(proposal_digest(message, self.domain), message.signature)
            return Proposal(**{**message.__dict__, "signer": self._member(signer)})
        if isinstance(message, Signatures):
            self._config(message.config_digest)
            signers = {
                recover_digest_signer(d, s)
                for d, s in zip(message.report_digests, message.signatures, strict=True)
            }
            if len(signers) != 1:
                raise RejectedMessage("bad_signature", "signatures of more than one signer")
            return Signatures(**{**message.__dict__, "signer": self._member(signers.pop())})
        if isinstance(message, _UncheckedAttested):
            for i, report in enumerate(message.reports):
                self._config(report.config_digest)
                if report.round != message.round + i:
                    raise bad(f"reports[{i}] has round {report.round}, not {message.round + i}")
            quorums = []
            for report, sigs in zip(message.reports, message.raw_signatures, strict=True):
                try:
                    quorums.append(
                        select_quorum(report, self.domain, self.members, self.threshold, sigs)
                    )
                except QuorumNotReached as exc:
                    raise RejectedMessage("no_quorum", str(exc), 403) from None
                except ReportError as exc:
                    raise RejectedMessage("bad_signature", str(exc)) from None
            return Attested(message.round, message.attempt, message.reports, tuple(quorums))
        raise bad("unknown message")


def sign_reports(
    reports: tuple[Report, ...], domain: Domain, private_key: bytes
) -> tuple[bytes, ...]:
    """The member's compact signatures of each report's EIP-712 digest."""
    return sign_digests(report_digests(reports, domain), private_key)


def digests_of(reports: tuple[Report, ...], domain: Domain) -> tuple[bytes, ...]:
    return report_digests(reports, domain)
