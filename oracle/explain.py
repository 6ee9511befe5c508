"""Contract reverts as one readable line with their values in human units.

`explain(revert)` turns a decoded custom error (`oracle.chain.revert.DecodedRevert`: a name and
its arguments) into e.g. ``NodeRegistryInsufficientStake: class GPU-A100-80G, given 10 VER,
minimum 50 VER``. The wallet CLI, the node agent and the oracle service print these lines.

`TEMPLATES` is the explicit table: for every custom error any deployed contract can revert with,
a sentence whose fields name each parameter and the way it is shown, ``{given:ver}``. A test
checks that every error in the committed ABIs (oracle/abi/*.json) and every error declared in
contracts/interfaces/ has an entry naming exactly its parameters, each with a kind that fits its
ABI type; an error without an entry still prints (name and raw values), but the test fails.

Pure: no chain, network or file access; the caller passes what it knows (class names from the
deployment record, contract names by address, the current block time).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from eth_utils.crypto import keccak

VER: Final = 10**18
# enum orders of INodeRegistry.Status, ITaskMarket.TaskStatus and ITaskMarket.AssignmentStatus
NODE_STATUS: Final = ("None", "Active", "Throttled", "Failed", "Exiting", "Exited")
TASK_STATUS: Final = ("None", "Open", "Completed", "Ended")
ASSIGNMENT_STATUS: Final = (
    "None",
    "Running",
    "Completed",
    "Moved",
    "Failed",
    "Reassigned",
    "Ended",
)
# OpenZeppelin TimelockController.OperationState, one bit per state in `expectedStates`
TIMELOCK_STATES: Final = ("Unset", "Waiting", "Ready", "Done")
ROLE_NAMES: Final = (
    "MARKET_ROLE",
    "ALLOCATOR_ROLE",
    "PAUSER_ROLE",
    "PROPOSER_ROLE",
    "EXECUTOR_ROLE",
    "CANCELLER_ROLE",
    "MINTER_ROLE",
)
KNOWN_ROLES: Final = {keccak(text=name): name for name in ROLE_NAMES} | {
    bytes(32): "DEFAULT_ADMIN_ROLE"
}
CODECS: Final = {0x55: "raw", 0x70: "dag-pb", 0x71: "dag-cbor", 0x12: "sha2-256"}


class Revert(Protocol):
    """What `explain` needs of a decoded revert (`oracle.chain.revert.DecodedRevert`)."""

    @property
    def name(self) -> str: ...

    @property
    def args(self) -> tuple[tuple[str, Any], ...]: ...


@dataclass(frozen=True)
class Context:
    """What the caller knows that makes values readable."""

    class_names: Mapping[bytes, str] = field(default_factory=dict)  # class key -> name
    address_names: Mapping[str, str] = field(default_factory=dict)  # lower-case address -> label
    now: int | None = None  # block time, for timestamps in the past or future


# ----------------------------------------------------------------------------- value formats
def ver(wei: int) -> str:
    """Exact VER with its decimals: "2.5 VER", "0.000000000000000123 VER" (never rounded)."""
    whole, frac = divmod(int(wei), VER)
    text = f"{whole:,}" if not frac else f"{whole:,}.{f'{frac:018d}'.rstrip('0')}"
    return f"{text} VER"


def duration(seconds: int) -> str:
    """ "6d 23h 59m", "5m 3s", "42s": the two largest non-zero units."""
    seconds = int(seconds)
    if seconds < 0:
        return "-" + duration(-seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2]) or "0s"


def timestamp(value: int, now: int | None = None) -> str:
    """UTC time, with how far it is from `now` when known."""
    text = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(value)))
    if now is None:
        return text
    delta = int(value) - now
    if delta > 0:
        return f"{text} (in {duration(delta)})"
    if delta < 0:
        return f"{text} ({duration(-delta)} ago)"
    return f"{text} (now)"


def joules(value: int) -> str:
    """ "1,234 J", with kWh beside it from 1 kWh (3.6 MJ) on."""
    text = f"{int(value):,} J"
    return text if value < 3_600_000 else f"{text} ({int(value) / 3_600_000:,.3f} kWh)"


def short_hex(raw: bytes, keep: int = 8) -> str:
    text = raw.hex()
    if len(raw) <= keep * 2:
        return "0x" + text
    return f"0x{text[: keep * 2]}…{text[-4:]} ({len(raw)} bytes)"


def class_name(key: bytes, names: Mapping[bytes, str]) -> str:
    return names.get(bytes(key)) or short_hex(bytes(key))


def text32(raw: bytes) -> str:
    """A bytes32 that holds a short ASCII name (e.g. a parameter), else its hex."""
    stripped = bytes(raw).rstrip(b"\0")
    if stripped and all(32 <= b < 127 for b in stripped):
        return stripped.decode()
    return short_hex(bytes(raw))


def _status(names: tuple[str, ...]) -> Callable[[Any, Context, Mapping[str, Any]], str]:
    def show(value: Any, ctx: Context, args: Mapping[str, Any]) -> str:
        index = int(value)
        return names[index] if 0 <= index < len(names) else f"status {index}"

    return show


def _address(value: Any, ctx: Context, args: Mapping[str, Any]) -> str:
    label = ctx.address_names.get(str(value).lower())
    return f"{value} ({label})" if label else str(value)


def _param_value(value: Any, ctx: Context, args: Mapping[str, Any]) -> str:
    """A governance parameter's value in the unit its name implies."""
    name = text32(args.get("name", b""))
    if name.endswith("Bps"):
        return f"{int(value) / 100:g} % ({int(value)} bps)"
    if re.search(r"(Timeout|Period|Grace|Delay|Window)$", name):
        return duration(int(value))
    if re.search(r"(Stake|Amount|Price)$", name, re.IGNORECASE):
        return ver(int(value))
    if name == "energyWeight":  # ReportVerifier.setEnergyWeight: VER wei per kWh
        return f"{ver(int(value))}/kWh"
    return str(int(value))


def _timelock_states(value: Any, ctx: Context, args: Mapping[str, Any]) -> str:
    bits = int.from_bytes(bytes(value), "big")
    states = [name for i, name in enumerate(TIMELOCK_STATES) if bits >> i & 1]
    return " or ".join(states) or "none"


def _codec(value: Any, ctx: Context, args: Mapping[str, Any]) -> str:
    code = int(value)
    return f"0x{code:x} ({CODECS[code]})" if code in CODECS else f"0x{code:x}"


Formatter = Callable[[Any, Context, Mapping[str, Any]], str]


@dataclass(frozen=True)
class Kind:
    """How one parameter is shown, and which ABI types it fits."""

    show: Formatter
    types: tuple[str, ...]  # ABI type prefixes ("uint" fits uint8 ... uint256)

    def fits(self, abi_type: str) -> bool:
        return any(
            abi_type == t or (t in ("uint", "int") and _is_int(abi_type, t)) for t in self.types
        )


def _is_int(abi_type: str, base: str) -> bool:
    return abi_type.startswith(base) and abi_type[len(base) :].isdigit()


KINDS: Final[dict[str, Kind]] = {
    "int": Kind(lambda v, c, a: str(int(v)), ("uint", "int")),
    "id": Kind(lambda v, c, a: str(int(v)), ("uint",)),
    "ver": Kind(lambda v, c, a: ver(int(v)), ("uint",)),
    "price": Kind(lambda v, c, a: f"{ver(int(v))}/unit-hour", ("uint",)),
    "duration": Kind(lambda v, c, a: duration(int(v)), ("uint",)),
    "time": Kind(lambda v, c, a: timestamp(int(v), c.now), ("uint",)),
    "block": Kind(lambda v, c, a: f"block {int(v)}", ("uint",)),
    "bps": Kind(lambda v, c, a: f"{int(v) / 100:g} %", ("uint",)),
    "joules": Kind(lambda v, c, a: joules(int(v)), ("uint",)),
    "class": Kind(lambda v, c, a: class_name(bytes(v), c.class_names), ("bytes32",)),
    "node_status": Kind(_status(NODE_STATUS), ("uint8",)),
    "task_status": Kind(_status(TASK_STATUS), ("uint8",)),
    "assignment_status": Kind(_status(ASSIGNMENT_STATUS), ("uint8",)),
    "address": Kind(_address, ("address",)),
    "role": Kind(lambda v, c, a: KNOWN_ROLES.get(bytes(v)) or short_hex(bytes(v)), ("bytes32",)),
    "name32": Kind(lambda v, c, a: text32(bytes(v)), ("bytes32",)),
    "param_value": Kind(_param_value, ("uint",)),
    "hex": Kind(lambda v, c, a: short_hex(bytes(v)), ("bytes", "bytes4", "bytes16", "bytes32")),
    "codec": Kind(_codec, ("uint",)),
    "timelock_states": Kind(_timelock_states, ("bytes32",)),
    "text": Kind(lambda v, c, a: repr(str(v)), ("string",)),
}

# ------------------------------------------------------------------------------------- table
# One entry per custom error: a sentence with {parameter:kind} for each parameter, in any
# order, each exactly once. Errors of our contracts first (by contract), then the library and
# OpenZeppelin errors they can bubble up.
TEMPLATES: Final[dict[str, str]] = {
    # ---------------------------------------------------------------- NodeRegistry
    "NodeRegistryUnknownClass": "class {resourceClass:class} is not configured on this network",
    "NodeRegistryInsufficientStake": (
        "class {resourceClass:class}, given {given:ver}, minimum {minimum:ver}"
    ),
    "NodeRegistryInvalidCapacity": "capacity {capacity:int} units (must be 1 to 4294967295)",
    "NodeRegistryInvalidPrice": "price {price:price} (must be above 0 and fit 96 bits)",
    "NodeRegistryAlreadyRegistered": (
        "{owner:address} already runs node {nodeId:id} of class {resourceClass:class}"
    ),
    "NodeRegistryUnknownNode": "node {nodeId:id} does not exist",
    "NodeRegistryNotOwner": "node {nodeId:id} belongs to {owner:address}, not {caller:address}",
    "NodeRegistryInvalidStatus": "node {nodeId:id} is {status:node_status}: not allowed now",
    "NodeRegistryLoadOutOfRange": "load {loadBps:int} bps, maximum {maximum:int} bps",
    "NodeRegistryWattsOutOfRange": "power {watts:int} W, maximum {maximum:int} W",
    "NodeRegistryHeartbeatNotExpired": (
        "node {nodeId:id} sent a heartbeat recently; it may be reported in "
        "{secondsRemaining:duration}"
    ),
    "NodeRegistryFailureGracePeriod": (
        "node {nodeId:id} is suspected; it may be failed in {secondsRemaining:duration} unless it "
        "sends a heartbeat"
    ),
    "NodeRegistryNothingAtRisk": (
        "node {nodeId:id} is exiting with nothing reserved: it runs no work to protect"
    ),
    "NodeRegistryStillUnbonding": (
        "node {nodeId:id} is still unbonding, {secondsRemaining:duration} left"
    ),
    "NodeRegistryCapacityStillReserved": (
        "node {nodeId:id} still has {reserved:int} units reserved by running work"
    ),
    "NodeRegistryNothingToWithdraw": "node {nodeId:id} has no stake left to withdraw",
    "NodeRegistryInsufficientFreeCapacity": (
        "node {nodeId:id}, requested {requested:int} units, free {free:int}"
    ),
    "NodeRegistryReleaseExceedsReserved": (
        "node {nodeId:id}, released {released:int} units, reserved {reserved:int}"
    ),
    "NodeRegistryCapacityBelowReserved": (
        "node {nodeId:id}, capacity {capacity:int} units is below the {reserved:int} reserved"
    ),
    "NodeRegistryInvalidParameter": "{name:name32} = {value:param_value} is not allowed",
    "NodeRegistryParameterOutOfRange": (
        "{name:name32} = {value:param_value}, allowed {minimum:param_value} to "
        "{maximum:param_value}"
    ),
    "NodeRegistryTooManyClasses": "the class table is full ({maximum:int} classes)",
    "ReportVerifierParameterOutOfRange": (
        "{name:name32} = {value:param_value}, allowed {minimum:param_value} to "
        "{maximum:param_value}"
    ),
    "NodeRegistryEnergyCounterBackwards": (
        "node {nodeId:id}, energy counter {counterJ:joules} is below the previous "
        "{previousJ:joules} (send 0 once to start a new baseline)"
    ),
    "NodeRegistryEnergyCounterOutOfRange": "energy {value:joules}, maximum {maximum:joules}",
    "NodeRegistryRenewableShareOutOfRange": (
        "renewable share {shareBps:bps}, maximum {maximum:bps}"
    ),
    # ---------------------------------------------------------------- TaskMarket
    "TaskMarketInvalidUnits": "{units:int} units (must be 1 to 16777215)",
    "TaskMarketInvalidPrice": "max price {maxPricePerUnitHour:price} (must be above 0)",
    "TaskMarketInvalidDuration": "duration {durationLimit:duration} (must be above 0)",
    "TaskMarketInvalidClass": "class {resourceClass:class} is not configured on this network",
    "TaskMarketEscrowTooLarge": "escrow {escrow:ver}, maximum {maximum:ver}",
    "TaskMarketUnknownTask": "task {taskId:id} does not exist",
    "TaskMarketNotDeveloper": (
        "task {taskId:id} belongs to {developer:address}, not {caller:address}"
    ),
    "TaskMarketTaskNotOpen": "task {taskId:id} is {status:task_status}, not Open",
    "TaskMarketTaskStillOpen": "task {taskId:id} is open until {expiresAt:time}",
    "TaskMarketCompletionWindowOpen": (
        "task {taskId:id} was cancelled; its nodes may still complete until {closesAt:time}"
    ),
    "TaskMarketCheckpointsClosed": (
        "task {taskId:id} takes no more checkpoints since {closedAt:time}"
    ),
    "TaskMarketUnitsStillRunning": (
        "task {taskId:id} still has {runningUnits:int} units running (settle them first)"
    ),
    "TaskMarketNothingToRefund": "task {taskId:id} has no escrow left to refund",
    "TaskMarketTopUpTooSmall": (
        "task {taskId:id}, top-up {amount:ver} buys less than a second, minimum {minimum:ver}"
    ),
    "TaskMarketUnknownAssignment": "assignment {assignmentId:id} does not exist",
    "TaskMarketAssignmentNotRunning": (
        "assignment {assignmentId:id} is {status:assignment_status}, not Running"
    ),
    "TaskMarketAssignmentNotFailed": (
        "assignment {assignmentId:id} is {status:assignment_status}, not Failed"
    ),
    "TaskMarketNotAssignee": (
        "assignment {assignmentId:id} runs on a node of {nodeOwner:address}, not of "
        "{caller:address}"
    ),
    "TaskMarketInsufficientPendingUnits": (
        "task {taskId:id}, requested {requested:int} units, pending {pending:int}"
    ),
    "TaskMarketUnknownNode": "node {nodeId:id} does not exist",
    "TaskMarketNodeNotActive": "node {nodeId:id} is {status:node_status}, not Active",
    "TaskMarketNodeFailed": "node {nodeId:id} has failed; its work is settled by the keeper",
    "TaskMarketClassMismatch": (
        "node {nodeId:id} is of class {nodeClass:class}, the task of {taskClass:class}"
    ),
    "TaskMarketInsufficientCapacity": (
        "node {nodeId:id}, requested {requested:int} units, free {free:int}"
    ),
    "TaskMarketPriceAboveCap": (
        "task {taskId:id}, price {price:price} is above the cap {maxPricePerUnitHour:price}"
    ),
    "TaskMarketPriceBelowNodePrice": (
        "node {nodeId:id}, price {price:price} is below its ask {nodePrice:price}"
    ),
    "TaskMarketPriceNotNodePrice": (
        "node {nodeId:id}, price {price:price} is not its ask {nodePrice:price}"
    ),
    "TaskMarketSameNode": "assignment {assignmentId:id} already runs on node {nodeId:id}",
    "TaskMarketNodeNotFailed": "node {nodeId:id} is {status:node_status}, not Failed",
    "TaskMarketNoRunningAssignments": "node {nodeId:id} runs none of the given assignments",
    "TaskMarketAssignmentNotOnNode": (
        "assignment {assignmentId:id} runs on node {assignmentNodeId:id}, not node {nodeId:id}"
    ),
    "TaskMarketFailureSettlementIncomplete": (
        "node {nodeId:id}, {units:int} units settled of {reserved:int} reserved"
    ),
    "TaskMarketNothingToWithdraw": "{account:address} has no earnings to withdraw",
    "TaskMarketNothingToClaim": "{account:address} has no compensation to claim",
    "TaskMarketNotCheckpointRegistry": (
        "{caller:address} is not the CheckpointRegistry: only it records checkpoints"
    ),
    "TaskMarketUnauthorized": "{caller:address} lacks {role:role}",
    "TaskMarketPaused": "the network is paused: no new tasks, top-ups or allocations for now",
    # ---------------------------------------------------------------- CheckpointRegistry
    "CheckpointRegistryNotAssignee": (
        "assignment {assignmentId:id} runs on a node of {nodeOwner:address}, not of "
        "{caller:address}"
    ),
    "CheckpointRegistryAssignmentNotRunning": (
        "assignment {assignmentId:id} is {status:assignment_status}, not Running"
    ),
    "CheckpointRegistryStepNotIncreasing": (
        "assignment {assignmentId:id}, step {step:int} is not above the last step {lastStep:int}"
    ),
    "CheckpointRegistryStepTooLarge": "step {step:int}, maximum {maximum:int}",
    "CheckpointRegistryNotMarket": "{caller:address} is not the TaskMarket",
    "CheckpointRegistryCheckpointsClosed": (
        "assignment {assignmentId:id} takes no more checkpoints since {closedAt:time}"
    ),
    "CheckpointRegistryNodeFailed": (
        "assignment {assignmentId:id} ran on node {nodeId:id}, which has failed"
    ),
    "CidVersionUnsupported": "CID version {version:int}, only CIDv1 is accepted",
    "CidCodecUnsupported": "CID codec {codec:codec}, only raw (0x55) or dag-pb (0x70)",
    "CidHashUnsupported": "CID hash {code:codec}, only sha2-256 (0x12)",
    "CidDigestLengthInvalid": "CID digest of {length:int} bytes, sha2-256 has 32",
    "CidLengthInvalid": "CID of {length:int} bytes, expected 36",
    "CidVarintInvalid": "CID varint malformed at byte {offset:int}",
    # ---------------------------------------------------------------- ReportVerifier
    "ConfigDigestMismatch": "report for config {have:hex}, the committee's is {want:hex}",
    "StaleRound": "report round {have:int}, the next accepted is above {want:int}",
    "RoundNotNext": "report round {have:int}, the next round is {want:int}",
    "InvalidSnapshotBlock": (
        "snapshot {snapshotBlock:block}, allowed from {lowest:block} to below {currentBlock:block}"
    ),
    "SignaturesMalformed": "signatures of {length:int} bytes (64 per signer)",
    "NotEnoughSignatures": "{have:int} signatures, the committee needs {want:int}",
    "SignerNotInCommittee": "{signer:address} is not a committee member",
    "SignaturesNotSorted": "signature {index:int} is out of signer order (or a duplicate)",
    "EntryRevertedWithoutReason": (
        "entry {index:int} ran out of gas: send the report with more gas"
    ),
    "TooManySigners": "{have:int} signers, maximum {maximum:int}",
    "InvalidThreshold": "threshold {threshold:int} with {signers:int} signers",
    "SignersNotSorted": "signer {index:int} is out of order (or a duplicate)",
    "InvalidVrfPublicKey": "VRF public key {publicKey:hex} is not 33 bytes SEC1 compressed",
    "ConfigStoreNotCreated": "the committee store ({length:int} bytes) ran out of gas",
    "CandidatesNotSorted": "candidate {index:int} is out of node order (or a duplicate)",
    "PickMismatch": "the VRF picks candidate {picked:int}, the report names {given:int}",
    "CandidateWeightMismatch": (
        "node {nodeId:id} has weight {weight:int} in the report but {free:int} free units"
    ),
    "VRFInvalidPublicKeyLength": "VRF public key of {length:int} bytes, expected 33",
    "VRFInvalidPublicKeyPrefix": "VRF public key prefix {prefix:int}, expected 2 or 3",
    "VRFInvalidProofLength": "VRF proof of {length:int} bytes, expected 81",
    "VRFInvalidGammaPrefix": "VRF gamma prefix {prefix:int}, expected 2 or 3",
    "VRFScalarOutOfRange": "VRF scalar s = {s:int} is not below the group order",
    "VRFUnsupportedCoordinate": "VRF point x = {x:int} is not a valid coordinate",
    "VRFTooManyTries": "VRF hash-to-curve took {tries:int} tries",
    "VRFInvalidNonResidueWitness": "VRF witness {witness:int} for try {ctr:int} is wrong",
    "VRFHashPointNotOnCurve": "VRF hash point x = {x:int} of try {ctr:int} is not on the curve",
    "VRFUndefinedU": "VRF U is undefined for public key x = {publicKeyX:int}",
    "VRFGammaNotOnCurve": "VRF gamma x = {gammaX:int} is not on the curve",
    "VRFInvalidUHelper": "VRF helper U recovers {recovered:address}, given {supplied:address}",
    "VRFInvalidSHHelper": ("VRF helper sH recovers {recovered:address}, given {supplied:address}"),
    "VRFInvalidCGammaHelper": (
        "VRF helper cGamma recovers {recovered:address}, given {supplied:address}"
    ),
    "VRFDegenerateV": "VRF V is degenerate (x = {x:int})",
    "VRFInvalidLambda": "VRF helper lambda {lambda:int} is wrong",
    "VRFChallengeMismatch": "VRF challenge {given:hex}, computed {computed:hex}: invalid proof",
    "SortitionNoCandidates": "the reassignment lists no candidates",
    "SortitionZeroTotalWeight": "the {candidates:int} candidates have no free units in all",
    # ---------------------------------------------------------------- OpenZeppelin
    "ERC20InsufficientBalance": "{sender:address} holds {balance:ver}, needs {needed:ver}",
    "ERC20InsufficientAllowance": (
        "{spender:address} may spend {allowance:ver}, needs {needed:ver} (approve more)"
    ),
    "ERC20InvalidApprover": "approver {approver:address} is not allowed",
    "ERC20InvalidReceiver": "receiver {receiver:address} is not allowed",
    "ERC20InvalidSender": "sender {sender:address} is not allowed",
    "ERC20InvalidSpender": "spender {spender:address} is not allowed",
    "ERC20ExceededCap": "supply would reach {increasedSupply:ver}, the cap is {cap:ver}",
    "ERC20InvalidCap": "cap {cap:ver} is not allowed",
    "ERC2612ExpiredSignature": "the permit expired at {deadline:time}: sign a new one",
    "ERC2612InvalidSigner": "the permit was signed by {signer:address}, not {owner:address}",
    "InvalidAccountNonce": "{account:address} has nonce {currentNonce:int}: sign again",
    "AccessControlUnauthorizedAccount": "{account:address} lacks {neededRole:role}",
    "AccessControlBadConfirmation": "renounceRole must name the caller's own account",
    "AccessControlEnforcedDefaultAdminRules": (
        "the admin role changes only by the two-step delayed transfer"
    ),
    "AccessControlInvalidDefaultAdmin": "{defaultAdmin:address} cannot be the admin",
    "AccessControlEnforcedDefaultAdminDelay": (
        "the admin transfer is possible from {schedule:time}"
    ),
    "EnforcedPause": "the network is paused",
    "ExpectedPause": "the network is not paused",
    "SafeERC20FailedOperation": "a transfer of token {token:address} failed",
    "SafeCastOverflowedUintDowncast": "{value:int} does not fit {bits:int} bits",
    "ECDSAInvalidSignature": "a signature is invalid",
    "ECDSAInvalidSignatureLength": "a signature of {length:int} bytes (expected 64 or 65)",
    "ECDSAInvalidSignatureS": "a signature has a high s value {s:hex}",
    "InvalidShortString": "a short string is malformed",
    "StringTooLong": "string {str:text} is too long",
    "FailedCall": "a call made by the contract failed",
    "TimelockInvalidOperationLength": (
        "{targets:int} targets, {payloads:int} payloads and {values:int} values differ"
    ),
    "TimelockInsufficientDelay": "delay {delay:duration}, minimum {minDelay:duration}",
    "TimelockUnexpectedOperationState": (
        "operation {operationId:hex} is not {expectedStates:timelock_states}"
    ),
    "TimelockUnexecutedPredecessor": "operation {predecessorId:hex} must run first",
    "TimelockUnauthorizedCaller": "{caller:address} may not call this",
}

# Reverts that are not custom errors (`oracle.chain.revert.decode_revert` names them).
_BUILTIN: Final[dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "Error": lambda a: f"reverted with the message {str(a.get('message', ''))!r}",
    "Panic": lambda a: f"code 0x{int(a.get('code', 0)):02x}: {a.get('reason', '?')}",
    "EmptyRevert": lambda a: "reverted without a reason (out of gas, or a failed require)",
    "MalformedRevert": lambda a: f"revert data {short_hex(bytes(a.get('data', b'')))}",
    "UnknownError": lambda a: (
        f"unknown error selector {short_hex(bytes(a.get('selector', b'')))} (a contract "
        "newer than this program's ABIs?)"
    ),
}

FIELD = re.compile(r"\{(\w+):(\w+)\}")


def template_fields(template: str) -> list[tuple[str, str]]:
    """The (parameter, kind) pairs of a template, in order."""
    return FIELD.findall(template)


def explain(revert: Revert, context: Context | None = None) -> str:
    """One line: the error's name, then its values in human units."""
    ctx = context or Context()
    args = dict(revert.args)
    builtin = _BUILTIN.get(revert.name)
    if builtin is not None:
        return f"{revert.name}: {builtin(args)}"
    template = TEMPLATES.get(revert.name)
    if template is None or "undecodable" in args:
        return f"{revert.name}: {_raw(args)}"

    def field_value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name not in args:
            return f"{name}=?"
        try:
            return KINDS[kind].show(args[name], ctx, args)
        except (KeyError, TypeError, ValueError):
            return _raw({name: args[name]})

    return f"{revert.name}: {FIELD.sub(field_value, template)}"


def _raw(args: Mapping[str, Any]) -> str:
    shown = []
    for key, value in args.items():
        text = short_hex(bytes(value)) if isinstance(value, bytes | bytearray) else str(value)
        shown.append(f"{key}={text}")
    return ", ".join(shown) or "(no values)"
