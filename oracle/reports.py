"""Committee reports: the EIP-712 typed data, signing, signature order and calldata packing of
``contracts/ReportVerifier.sol``.

A report carries the config digest it is signed under, its round (the chain accepts exactly the
latest accepted round + 1, so the reports of one service round are numbered consecutively), the
snapshot block, the digest of the published inputs + solution, and three lists of entries:

* allocations  ``Allocation(uint64 taskId,uint64 nodeId,uint32 units,uint96 price)``
* moves        ``Move(uint64 assignmentId,uint64 toNodeId)``
* reassignments ``Reassignment(uint64 assignmentId,uint64 nodeId,uint64[] candidates,
  uint32[] weights)`` plus an unsigned ECVRF proof and its helper values. The VRF input is
  ``vrf_alpha(chain id, market, task id, task seed, attempt)`` with attempt =
  ``reassignment_attempt(failed assignment id, draw)`` = ``draw << 32 | id``, where ``draw`` is
  ``TaskMarket.drawsOf(id)`` when the entry is applied (the chain counts every draw it verified,
  applied or skipped, so nobody can choose the attempt and no published draw is reused). Each
  candidate's weight must equal its free units on-chain when the entry is applied, else the entry
  is skipped (``CandidateWeightMismatch``).

Members sign the typed data with ``eth-account`` (``encode_typed_data(full_message=...)``); the
digest equals the contract's ``hashReport(report)``. On the wire every entry is one packed word
(``AllocationEntry.packed`` ...), signatures are EIP-2098 compact (64 bytes) concatenated in
ascending signer order (:func:`sort_signatures`, :func:`encode_signatures`).

Pure: no chain or I/O imports (eth-account, eth-abi and eth-utils only encode, hash and sign).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eth_abi.abi import encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak

from oracle import sortition, vrf
from oracle.allocation import Allocation
from oracle.cid import cid_to_onchain
from oracle.errors import OracleError

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "MAX_SIGNERS",
    "REPORT_TYPES",
    "SIGNATURE_LENGTH",
    "AllocationEntry",
    "Candidate",
    "Domain",
    "DuplicateSigner",
    "InvalidConfig",
    "InvalidReport",
    "InvalidSignature",
    "MoveEntry",
    "QuorumNotReached",
    "ReassignmentEntry",
    "Report",
    "ReportError",
    "ReportSignature",
    "build_report",
    "config_digest",
    "encode_signatures",
    "entry_at",
    "inputs_digest",
    "prove_reassignment",
    "recover_signer",
    "report_digest",
    "select_quorum",
    "sign_report",
    "signable_report",
    "sort_signatures",
    "transmit_calldata",
    "typed_data",
]

DOMAIN_NAME: Final = "VerAI ReportVerifier"
DOMAIN_VERSION: Final = "1"
MAX_SIGNERS: Final = 31
SIGNATURE_LENGTH: Final = 64
"""EIP-2098 compact signature: r (32 bytes) ‖ yParity·2^255 + s (32 bytes)."""

UINT32_MAX: Final = 2**32 - 1
UINT64_MAX: Final = 2**64 - 1
UINT96_MAX: Final = 2**96 - 1
_SECP256K1_HALF_N: Final = vrf.GROUP_ORDER // 2

REPORT_TYPES: Final[dict[str, list[dict[str, str]]]] = {
    "Report": [
        {"name": "configDigest", "type": "bytes32"},
        {"name": "round", "type": "uint64"},
        {"name": "snapshotBlock", "type": "uint64"},
        {"name": "inputsDigest", "type": "bytes32"},
        {"name": "allocations", "type": "Allocation[]"},
        {"name": "moves", "type": "Move[]"},
        {"name": "reassignments", "type": "Reassignment[]"},
    ],
    "Allocation": [
        {"name": "taskId", "type": "uint64"},
        {"name": "nodeId", "type": "uint64"},
        {"name": "units", "type": "uint32"},
        {"name": "price", "type": "uint96"},
    ],
    "Move": [
        {"name": "assignmentId", "type": "uint64"},
        {"name": "toNodeId", "type": "uint64"},
    ],
    "Reassignment": [
        {"name": "assignmentId", "type": "uint64"},
        {"name": "nodeId", "type": "uint64"},
        {"name": "candidates", "type": "uint64[]"},
        {"name": "weights", "type": "uint32[]"},
    ],
}
"""The typed data members sign, identical to the typehashes of ReportVerifier.sol."""

_DOMAIN_TYPE: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

# ABI of transmit(Report,bytes): Report = (bytes32,uint64,uint64,bytes32,uint256[],uint256[],
# (uint256,uint256[],bytes,(uint256[2],uint256[2],uint256[2],uint256,uint256[]))[])
_HELPERS_ABI: Final = "(uint256[2],uint256[2],uint256[2],uint256,uint256[])"
_REASSIGNMENT_ABI: Final = f"(uint256,uint256[],bytes,{_HELPERS_ABI})"
_REPORT_ABI: Final = f"(bytes32,uint64,uint64,bytes32,uint256[],uint256[],{_REASSIGNMENT_ABI}[])"
_TRANSMIT_SELECTOR: Final = keccak(text=f"transmit({_REPORT_ABI},bytes)")[:4]

HelpersAbi = tuple[tuple[int, int], tuple[int, int], tuple[int, int], int, list[int]]


# ---------------------------------------------------------------------------------------- errors
class ReportError(OracleError):
    """A report, signature or committee config the contract would not accept."""


class InvalidReport(ReportError):
    """A report field is out of range (an id beyond uint64, a digest not 32 bytes ...)."""


class InvalidSignature(ReportError):
    """A signature is malformed or does not recover to the signer it claims."""


class DuplicateSigner(ReportError):
    """Two signatures of one report come from the same signer."""


class QuorumNotReached(ReportError):
    """Fewer valid signatures of distinct committee members than the threshold."""


class InvalidConfig(ReportError):
    """A committee config outside the contract's rules (threshold, order, VRF key)."""


def _uint(field: str, value: object, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidReport(f"{field} must be an integer in [0, {maximum}], got {value!r}")
    return value


def _bytes32(field: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidReport(f"{field} must be 32 bytes, got {value!r}")
    return bytes(value)


# ----------------------------------------------------------------------------------- data types
@dataclass(frozen=True, slots=True)
class Domain:
    """The EIP-712 domain of one deployed ReportVerifier."""

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        _uint("domain.chain_id", self.chain_id, 2**256 - 1)
        if not isinstance(self.verifying_contract, str) or not is_address(self.verifying_contract):
            raise InvalidReport(
                f"domain.verifying_contract must be an address, got {self.verifying_contract!r}"
            )
        object.__setattr__(self, "verifying_contract", to_checksum_address(self.verifying_contract))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@dataclass(frozen=True, slots=True, order=True)
class AllocationEntry:
    """Open an assignment of ``units`` of ``task_id`` on ``node_id`` at ``price`` wei/unit-hour."""

    task_id: int
    node_id: int
    units: int
    price: int

    def __post_init__(self) -> None:
        _uint("allocation.task_id", self.task_id, UINT64_MAX)
        _uint("allocation.node_id", self.node_id, UINT64_MAX)
        _uint("allocation.units", self.units, UINT32_MAX)
        _uint("allocation.price", self.price, UINT96_MAX)

    def packed(self) -> int:
        """taskId (64) | nodeId (64) | units (32) | price (96): one calldata word."""
        return self.task_id << 192 | self.node_id << 128 | self.units << 96 | self.price

    @classmethod
    def unpack(cls, word: int) -> AllocationEntry:
        _uint("allocation word", word, 2**256 - 1)
        return cls(word >> 192, (word >> 128) & UINT64_MAX, (word >> 96) & UINT32_MAX,
                   word & UINT96_MAX)  # fmt: skip

    def typed(self) -> dict[str, int]:
        return {
            "taskId": self.task_id,
            "nodeId": self.node_id,
            "units": self.units,
            "price": self.price,
        }


@dataclass(frozen=True, slots=True, order=True)
class MoveEntry:
    """Move running assignment ``assignment_id`` to ``to_node_id`` (it resumes there)."""

    assignment_id: int
    to_node_id: int

    def __post_init__(self) -> None:
        _uint("move.assignment_id", self.assignment_id, UINT64_MAX)
        _uint("move.to_node_id", self.to_node_id, UINT64_MAX)

    def packed(self) -> int:
        """assignmentId (64) | toNodeId (64) in the low 128 bits."""
        return self.assignment_id << 64 | self.to_node_id

    @classmethod
    def unpack(cls, word: int) -> MoveEntry:
        _uint("move word", word, 2**256 - 1)
        return cls((word >> 64) & UINT64_MAX, word & UINT64_MAX)

    def typed(self) -> dict[str, int]:
        return {"assignmentId": self.assignment_id, "toNodeId": self.to_node_id}


@dataclass(frozen=True, slots=True, order=True)
class Candidate:
    """A node the VRF may pick, with its weight: its free units when the entry is applied (at the
    snapshot, as changed by the report's earlier entries); the chain skips the entry otherwise."""

    node_id: int
    weight: int

    def __post_init__(self) -> None:
        _uint("candidate.node_id", self.node_id, UINT64_MAX)
        _uint("candidate.weight", self.weight, UINT32_MAX)

    def packed(self) -> int:
        """nodeId (64) | weight (32) in the low 96 bits."""
        return self.node_id << 32 | self.weight


@dataclass(frozen=True, slots=True)
class ReassignmentEntry:
    """Give the units of Failed assignment ``assignment_id`` to ``node_id``, the node the VRF
    picked among ``candidates`` (sorted by node id; attempt = ``draw << 32 | assignment_id``).

    ``proof`` (81 bytes) and ``helpers`` (``vrf.VerifierInputs.as_abi()``) are not signed; a
    report is transmitted only with them (see :func:`prove_reassignment`)."""

    assignment_id: int
    node_id: int
    candidates: tuple[Candidate, ...]
    proof: bytes = b""
    helpers: HelpersAbi | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _uint("reassignment.assignment_id", self.assignment_id, UINT64_MAX)
        _uint("reassignment.node_id", self.node_id, UINT64_MAX)
        object.__setattr__(self, "candidates", tuple(self.candidates))
        for index, candidate in enumerate(self.candidates):
            if not isinstance(candidate, Candidate):
                raise InvalidReport(f"reassignment.candidates[{index}] must be a Candidate")

    def packed(self) -> int:
        """assignmentId (64) | nodeId (64) in the low 128 bits."""
        return self.assignment_id << 64 | self.node_id

    def typed(self) -> dict[str, Any]:
        return {
            "assignmentId": self.assignment_id,
            "nodeId": self.node_id,
            "candidates": [c.node_id for c in self.candidates],
            "weights": [c.weight for c in self.candidates],
        }

    def as_abi(self) -> tuple[int, list[int], bytes, HelpersAbi]:
        if self.helpers is None or not self.proof:
            raise InvalidReport(
                f"reassignment of assignment {self.assignment_id} has no VRF proof and helpers"
            )
        return (self.packed(), [c.packed() for c in self.candidates], self.proof, self.helpers)


@dataclass(frozen=True, slots=True)
class Report:
    """One committee report (see the module docstring)."""

    config_digest: bytes
    round: int
    snapshot_block: int
    inputs_digest: bytes
    allocations: tuple[AllocationEntry, ...] = ()
    moves: tuple[MoveEntry, ...] = ()
    reassignments: tuple[ReassignmentEntry, ...] = ()

    def __post_init__(self) -> None:
        _bytes32("report.config_digest", self.config_digest)
        _uint("report.round", self.round, UINT64_MAX)
        _uint("report.snapshot_block", self.snapshot_block, UINT64_MAX)
        _bytes32("report.inputs_digest", self.inputs_digest)
        for name, kind in (
            ("allocations", AllocationEntry),
            ("moves", MoveEntry),
            ("reassignments", ReassignmentEntry),
        ):
            items = tuple(getattr(self, name))
            for index, item in enumerate(items):
                if not isinstance(item, kind):
                    raise InvalidReport(f"report.{name}[{index}] must be a {kind.__name__}")
            object.__setattr__(self, name, items)

    @property
    def entry_count(self) -> int:
        return len(self.allocations) + len(self.moves) + len(self.reassignments)

    def typed(self) -> dict[str, Any]:
        """The EIP-712 message."""
        return {
            "configDigest": self.config_digest,
            "round": self.round,
            "snapshotBlock": self.snapshot_block,
            "inputsDigest": self.inputs_digest,
            "allocations": [a.typed() for a in self.allocations],
            "moves": [m.typed() for m in self.moves],
            "reassignments": [r.typed() for r in self.reassignments],
        }

    def as_abi(self) -> tuple[Any, ...]:
        """The ``Report`` struct of ``transmit`` as a tuple (ape or eth-abi)."""
        return (
            self.config_digest,
            self.round,
            self.snapshot_block,
            self.inputs_digest,
            [a.packed() for a in self.allocations],
            [m.packed() for m in self.moves],
            [r.as_abi() for r in self.reassignments],
        )


@dataclass(frozen=True, slots=True)
class ReportSignature:
    """A member's signature of a report digest, with the signer it recovers to."""

    signer: str
    r: int
    s: int
    y_parity: int

    def compact(self) -> bytes:
        """EIP-2098: r ‖ (yParity << 255 | s), 64 bytes."""
        return self.r.to_bytes(32, "big") + (self.y_parity << 255 | self.s).to_bytes(32, "big")


# ------------------------------------------------------------------------------ typed data, digest
def typed_data(report: Report, domain: Domain) -> dict[str, Any]:
    """The full EIP-712 message (``encode_typed_data(full_message=...)`` input)."""
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, **REPORT_TYPES},
        "primaryType": "Report",
        "domain": domain.as_dict(),
        "message": report.typed(),
    }


def signable_report(report: Report, domain: Domain) -> SignableMessage:
    """The EIP-191 v1 message eth-account signs for ``report``."""
    return encode_typed_data(full_message=typed_data(report, domain))


def _digest(message: SignableMessage) -> bytes:
    return bytes(keccak(b"\x19" + message.version + message.header + message.body))


def report_digest(report: Report, domain: Domain) -> bytes:
    """The 32-byte EIP-712 digest members sign; equals ReportVerifier.hashReport(report)."""
    return _digest(signable_report(report, domain))


# ----------------------------------------------------------------------------------- signatures
def sign_report(report: Report, domain: Domain, private_key: bytes | str) -> ReportSignature:
    """Sign ``report`` with a member's key (eth-account ``sign_message``)."""
    signed = Account.sign_message(signable_report(report, domain), private_key)
    signer = Account.from_key(private_key).address
    return ReportSignature(
        signer=signer, r=int(signed.r), s=int(signed.s), y_parity=int(signed.v) - 27
    )


def _parse_signature(signature: bytes) -> tuple[int, int, int]:
    """(r, s, yParity) of a 64-byte compact or 65-byte (r, s, v) signature."""
    if not isinstance(signature, bytes | bytearray):
        raise InvalidSignature(f"signature must be bytes, got {signature!r}")
    raw = bytes(signature)
    if len(raw) == SIGNATURE_LENGTH:
        vs = int.from_bytes(raw[32:], "big")
        r, s, parity = int.from_bytes(raw[:32], "big"), vs & (2**255 - 1), vs >> 255
    elif len(raw) == 65:
        r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
        if v not in (0, 1, 27, 28):
            raise InvalidSignature(f"signature v must be 27 or 28, got {v}")
        parity = v % 27 if v >= 27 else v
    else:
        raise InvalidSignature(f"signature must be 64 or 65 bytes, got {len(raw)}: 0x{raw.hex()}")
    if not 0 < s <= _SECP256K1_HALF_N or not 0 < r < vrf.GROUP_ORDER:
        raise InvalidSignature(f"signature (r, s) out of range: r={r:#x}, s={s:#x}")
    return r, s, parity


def _recover(message: SignableMessage, signature: bytes | ReportSignature) -> ReportSignature:
    if isinstance(signature, ReportSignature):
        r, s, parity = signature.r, signature.s, signature.y_parity
    else:
        r, s, parity = _parse_signature(signature)
    try:
        signer = Account.recover_message(message, vrs=(parity + 27, r, s))
    except Exception as exc:  # eth-keys raises its own BadSignature family
        raise InvalidSignature(f"signature r={r:#x} s={s:#x} does not recover: {exc}") from exc
    if isinstance(signature, ReportSignature) and signature.signer != signer:
        raise InvalidSignature(
            f"signature claims signer {signature.signer} but recovers to {signer}"
        )
    return ReportSignature(signer=str(signer), r=r, s=s, y_parity=parity)


def recover_signer(report: Report, domain: Domain, signature: bytes) -> str:
    """The address that signed ``report`` (64-byte compact or 65-byte signature)."""
    return _recover(signable_report(report, domain), signature).signer


def sort_signatures(
    report: Report, domain: Domain, signatures: Iterable[bytes | ReportSignature]
) -> tuple[ReportSignature, ...]:
    """The signatures ordered by recovered signer address, ascending, as ``transmit`` wants.

    Raises :class:`InvalidSignature` for one that does not recover (or recovers to another
    signer than it claims) and :class:`DuplicateSigner` when a signer appears twice."""
    message = signable_report(report, domain)
    recovered = sorted(
        (_recover(message, signature) for signature in signatures),
        key=lambda sig: int(sig.signer, 16),
    )
    for previous, current in itertools.pairwise(recovered):
        if previous.signer == current.signer:
            raise DuplicateSigner(f"signer {current.signer} signed twice")
    return tuple(recovered)


def select_quorum(
    report: Report,
    domain: Domain,
    committee: Iterable[str],
    threshold: int,
    signatures: Iterable[bytes | ReportSignature],
) -> tuple[ReportSignature, ...]:
    """The signatures a transmitter sends: ``threshold`` of them (each extra one costs gas), by
    distinct committee members, ascending by signer. Signatures collected from peers that do not
    recover, that recover to a non-member, or that repeat a signer are dropped; raises
    :class:`QuorumNotReached` when fewer than ``threshold`` remain."""
    members = {int(_checked_signer(i, m), 16) for i, m in enumerate(committee)}
    _uint("threshold", threshold, MAX_SIGNERS)
    message = signable_report(report, domain)
    valid: dict[int, ReportSignature] = {}
    offered = 0
    for signature in signatures:
        offered += 1
        try:
            recovered = _recover(message, signature)
        except InvalidSignature:
            continue
        key = int(recovered.signer, 16)
        if key in members:
            valid.setdefault(key, recovered)
    if threshold == 0 or len(valid) < threshold:
        raise QuorumNotReached(
            f"report round {report.round}: {len(valid)} valid member signatures of {offered} "
            f"offered, threshold={threshold}"
        )
    return tuple(valid[key] for key in sorted(valid)[:threshold])


def encode_signatures(signatures: Sequence[ReportSignature]) -> bytes:
    """The ``signatures`` argument of ``transmit``: compact signatures concatenated in order."""
    return b"".join(signature.compact() for signature in signatures)


# ------------------------------------------------------------------------------ committee config
def config_digest(
    chain_id: int,
    verifier: str,
    version: int,
    signers: Sequence[str],
    threshold: int,
    vrf_public_key: bytes,
) -> bytes:
    """keccak256(abi.encode(chainid, verifier, uint32 version, address[] signers, uint8
    threshold, bytes vrfPublicKey)), as ReportVerifier computes it; validates the config the way
    ``setConfig`` does."""
    _uint("chain_id", chain_id, 2**256 - 1)
    _uint("version", version, UINT32_MAX)
    if not isinstance(verifier, str) or not is_address(verifier):
        raise InvalidConfig(f"verifier must be an address, got {verifier!r}")
    members = [_checked_signer(index, signer) for index, signer in enumerate(signers)]
    if len(members) > MAX_SIGNERS:
        raise InvalidConfig(f"signers: {len(members)} given, at most {MAX_SIGNERS}")
    for index in range(len(members)):
        below = int(members[index - 1], 16) if index else 0
        if int(members[index], 16) <= below:
            raise InvalidConfig(
                f"signers[{index}]={members[index]} is not above the previous signer "
                "(strictly ascending, none zero)"
            )
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise InvalidConfig(f"threshold must be an integer, got {threshold!r}")
    if not len(members) // 2 < threshold <= len(members):
        raise InvalidConfig(
            f"threshold={threshold} must be a majority of the {len(members)} signers: in "
            f"[{len(members) // 2 + 1}, {len(members)}] (any two quorums must share a member)"
        )
    if (
        not isinstance(vrf_public_key, bytes | bytearray)
        or len(vrf_public_key) != 33
        or vrf_public_key[0] not in (2, 3)
    ):
        raise InvalidConfig(
            f"vrf_public_key must be 33-byte SEC1 compressed, got {vrf_public_key!r}"
        )
    return bytes(
        keccak(
            encode(
                ["uint256", "address", "uint32", "address[]", "uint8", "bytes"],
                [chain_id, verifier, version, members, threshold, bytes(vrf_public_key)],
            )
        )
    )


def _checked_signer(index: int, signer: object) -> str:
    if not isinstance(signer, str) or not is_address(signer):
        raise InvalidConfig(f"signers[{index}] must be an address, got {signer!r}")
    return str(to_checksum_address(signer))


# ------------------------------------------------------------------------------- building reports
def inputs_digest(cid: str) -> bytes:
    """The report's inputsDigest: the sha2-256 digest inside the CIDv1 of the published inputs +
    solution (raw codec up to 256 KiB, dag-pb above; an auditor tries both)."""
    _, digest = cid_to_onchain(cid)
    return bytes(digest)


def build_report(
    allocation: Allocation,
    *,
    config_digest: bytes,
    round: int,
    snapshot_block: int,
    inputs_digest: bytes,
    moves: Iterable[MoveEntry] = (),
    reassignments: Iterable[ReassignmentEntry] = (),
) -> Report:
    """A report whose allocations are the entries of ``allocation`` in its canonical order
    (task, node). Raises :class:`InvalidReport` when an entry does not fit the wire format."""
    entries = []
    for index, entry in enumerate(allocation.entries):
        try:
            entries.append(AllocationEntry(entry.task, entry.node, entry.units, entry.price))
        except InvalidReport as exc:
            raise InvalidReport(f"allocation.entries[{index}]: {exc}") from exc
    return Report(
        config_digest=config_digest,
        round=round,
        snapshot_block=snapshot_block,
        inputs_digest=inputs_digest,
        allocations=tuple(entries),
        moves=tuple(moves),
        reassignments=tuple(reassignments),
    )


def prove_reassignment(
    vrf_secret_key: bytes,
    *,
    chain_id: int,
    market: str,
    task_id: int,
    task_seed: bytes,
    assignment_id: int,
    draw: int,
    candidates: Iterable[Candidate],
) -> ReassignmentEntry:
    """Prove the VRF for draw ``draw`` of reassigning Failed assignment ``assignment_id`` of task
    ``task_id`` (attempt = ``draw << 32 | assignment_id``; ``draw`` = ``TaskMarket.drawsOf``
    of the assignment at the snapshot block, plus its entries in the earlier reports built from
    that snapshot), pick among ``candidates`` (sorted here by node id; weight-0 candidates are
    kept and never picked) and return the complete entry."""
    _uint("assignment_id", assignment_id, UINT32_MAX)
    _uint("draw", draw, UINT32_MAX)
    attempt = sortition.reassignment_attempt(assignment_id, draw)
    ordered = tuple(sorted(candidates))
    for previous, current in itertools.pairwise(ordered):
        if previous.node_id == current.node_id:
            raise InvalidReport(f"candidate node {current.node_id} listed twice")
    alpha = sortition.vrf_alpha(chain_id, market, task_id, task_seed, attempt)
    proof = vrf.prove(vrf_secret_key, alpha)
    inputs = vrf.verifier_inputs(vrf.public_key(vrf_secret_key), proof, alpha)
    index = sortition.pick(inputs.beta, attempt, [c.weight for c in ordered])
    return ReassignmentEntry(
        assignment_id=assignment_id,
        node_id=ordered[index].node_id,
        candidates=ordered,
        proof=proof,
        helpers=inputs.as_abi(),
    )


def entry_at(report: Report, index: int) -> tuple[str, int]:
    """Which entry the ``index`` of an ``EntrySkipped`` event names: ("allocation" | "move" |
    "reassignment", position in that list)."""
    _uint("index", index, report.entry_count - 1 if report.entry_count else -1)
    if index < len(report.allocations):
        return "allocation", index
    index -= len(report.allocations)
    if index < len(report.moves):
        return "move", index
    return "reassignment", index - len(report.moves)


def transmit_calldata(report: Report, signatures: Sequence[ReportSignature]) -> bytes:
    """The exact calldata of ``transmit(report, signatures)`` (what BASE's L1 fee is paid on)."""
    return _TRANSMIT_SELECTOR + bytes(
        encode([_REPORT_ABI, "bytes"], [report.as_abi(), encode_signatures(signatures)])
    )
