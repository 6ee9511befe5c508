"""Deploying and wiring the VerAI contracts, shared by `ape run deploy` and `ape run demo`.

A deployment is recorded in deployments/<chain-id>.json: addresses, the block it started at, the
git commit of the sources, the deployer, the governance parameters and, when a timelock is put in
front of the admin, the pending admin transfers it must accept. An existing record for the same
chain is never overwritten unless the caller forces it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
# Live networks record to deployments/<chain-id>.json (committed); a local Anvil posing as BASE
# Sepolia shares its chain id, so its records go to deployments/local/ (ignored by git) and can
# never be mistaken for the real BASE Sepolia deployment.
DEPLOYMENTS = Path(os.environ.get("VERAI_DEPLOYMENTS_DIR", ROOT / "deployments"))
VER = 10**18

# Default governance parameters (all changeable later by the admin role within the bounds the
# NodeRegistry checks, each change an event).
HEARTBEAT_TIMEOUT = 15 * 60
UNBONDING_PERIOD = 7 * 24 * 3600
SLASH_BPS = 2_000
REPORTER_BOUNTY_BPS = 1_000
FAILURE_GRACE = 5 * 60  # a suspected node has five minutes to send a heartbeat
BURN_BPS = 5_000  # half of every slash is burned: the self-dealing bound
# Seconds between the start and the acceptance of an admin transfer (OpenZeppelin
# AccessControlDefaultAdminRules).
LIVE_ADMIN_DELAY = 2 * 24 * 3600
LOCAL_ADMIN_DELAY = 0
ZERO_ADDRESS = "0x" + "00" * 20
# The contracts whose admin is transferred to a timelock (TaskMarket has none: the registry's
# roles and pause govern it).
ADMINISTERED = ("VerToken", "NodeRegistry", "ReportVerifier")


@dataclass(frozen=True)
class ResourceClass:
    """A resource class offered on the network and its governance settings."""

    name: str
    min_stake: int
    watt_limit: int

    @property
    def key(self) -> bytes:
        return keccak(text=self.name)


DEFAULT_CLASSES = (
    ResourceClass("GPU-A100-80G", 100 * VER, 400),
    ResourceClass("GPU-RTX4090-24G", 50 * VER, 450),
    ResourceClass("CPU-EPYC-64", 10 * VER, 0),
)


class DeploymentError(Exception):
    """A deployment cannot proceed; the message says why and what to do."""


class DeployBackend(Protocol):
    """What `deploy_all` needs from a chain and an account: ape (`ape run deploy`, with any ape
    account) or web3.py with compiled artifacts (tests and the demo, on a standalone Anvil).
    Contracts are named as in contracts/ and addressed by their checksum address."""

    @property
    def chain_id(self) -> int: ...

    @property
    def head_block(self) -> int: ...

    @property
    def deployer(self) -> str: ...

    def balance(self) -> int:
        """The deployer's ETH balance in wei."""
        ...

    def deploy(self, contract: str, *args: Any) -> str:
        """Deploys `contract` with constructor `args`; returns its address."""
        ...

    def transact(self, contract: str, address: str, function: str, *args: Any) -> None:
        """Sends `function(*args)` to `address` and waits until it is mined; raises on revert."""
        ...

    def call(self, contract: str, address: str, function: str, *args: Any) -> Any:
        """Reads `function(*args)` of `address`."""
        ...


def record_path(chain_id: int, local: bool) -> Path:
    return DEPLOYMENTS / ("local" if local else "") / f"{chain_id}.json"


def ensure_writable(chain_id: int, local: bool, force: bool) -> Path:
    """Fail before spending gas when a record exists and --force was not given."""
    path = record_path(chain_id, local)
    if path.exists() and not force:
        raise DeploymentError(
            f"{path} already records a deployment on chain {chain_id}; pass --force to replace it"
        )
    return path


@dataclass
class Deployment:
    chain_id: int
    local: bool
    deployer: str
    start_block: int
    git_commit: str
    contracts: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def write(self, force: bool) -> Path:
        path = ensure_writable(self.chain_id, self.local, force)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)
        return path


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "contracts"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def require_funds(backend: DeployBackend) -> None:
    if backend.balance() == 0:
        raise DeploymentError(
            f"account {backend.deployer} has no ETH on chain {backend.chain_id} to pay for gas; "
            "fund it (BASE Sepolia: a faucet) or choose another with --account"
        )


@dataclass(frozen=True)
class Committee:
    """The oracle committee ReportVerifier accepts reports from."""

    signers: list[str]
    threshold: int
    vrf_public_key: bytes

    def __post_init__(self) -> None:
        if not len(self.signers) // 2 < self.threshold <= len(self.signers) <= 31:
            raise DeploymentError(
                f"committee: need a majority threshold (signers / 2 < threshold <= signers <= "
                f"31, so that any two quorums share a member), got threshold {self.threshold} "
                f"with {len(self.signers)} signers"
            )
        if len(self.vrf_public_key) != 33 or self.vrf_public_key[0] not in (2, 3):
            raise DeploymentError(
                "committee: the VRF public key must be 33 bytes SEC1 compressed, got "
                f"0x{self.vrf_public_key.hex()} (`verai vrf keygen` prints one)"
            )


@dataclass(frozen=True)
class Timelock:
    """A TimelockController (contracts/VerAITimelock.sol) to put in front of the admin: every
    admin action is then proposed by a proposer, waits `min_delay` seconds and is executed in
    public. Executors default to anyone (the zero address)."""

    min_delay: int
    proposers: list[str]
    executors: list[str] = field(default_factory=lambda: [ZERO_ADDRESS])

    def __post_init__(self) -> None:
        if self.min_delay <= 0:
            raise DeploymentError(f"timelock: the delay must be positive, got {self.min_delay} s")
        if not self.proposers:
            raise DeploymentError("timelock: give at least one proposer (a multisig)")


def deploy_all(
    backend: DeployBackend,
    local: bool,
    committee: Committee,
    classes: tuple[ResourceClass, ...] = DEFAULT_CLASSES,
    heartbeat_timeout: int = HEARTBEAT_TIMEOUT,
    unbonding_period: int = UNBONDING_PERIOD,
    failure_grace: int = FAILURE_GRACE,
    burn_bps: int = BURN_BPS,
    admin_delay: int | None = None,
    timelock: Timelock | None = None,
    pauser: str | None = None,
) -> Deployment:
    """Deploy every contract from the backend's account, wire the roles, configure the classes.

    Wiring: the NodeRegistry is the governance root: the market holds its MARKET_ROLE (it
    reserves capacity and claims the compensation of failed nodes), the ReportVerifier its
    ALLOCATOR_ROLE (only committee reports create, move and reassign assignments; the market
    checks the role there), and `pauser` (default: the deployer) its PAUSER_ROLE; the market
    deploys its own CheckpointRegistry. The admins of VerToken, NodeRegistry and ReportVerifier
    are transferred in two steps after `admin_delay` seconds (default: 2 days on live networks,
    0 locally). With `timelock`, a TimelockController is deployed and the three admin transfers
    to it are begun; the timelock accepts them (a proposal each) once the delay has passed: the
    record lists them under `parameters.governance.pendingAdminTransfers`.
    Returns the record (not yet written); `record.contracts` has the addresses by contract
    name."""
    require_funds(backend)
    chain_id = backend.chain_id
    deployer = backend.deployer
    start_block = backend.head_block
    delay = (
        (LOCAL_ADMIN_DELAY if local else LIVE_ADMIN_DELAY) if admin_delay is None else admin_delay
    )
    params = (
        heartbeat_timeout,
        unbonding_period,
        SLASH_BPS,
        REPORTER_BOUNTY_BPS,
        failure_grace,
        burn_bps,
    )

    token = backend.deploy("VerToken", deployer)
    if delay:
        # the token starts with no delay; raising it takes effect after OpenZeppelin's wait
        backend.transact("VerToken", token, "changeDefaultAdminDelay", delay)
    registry = backend.deploy("NodeRegistry", token, deployer, delay, params)
    for cls in classes:
        backend.transact(
            "NodeRegistry", registry, "setClassConfig", cls.key, cls.min_stake, cls.watt_limit
        )

    market = backend.deploy("TaskMarket", token, registry)
    checkpoints = backend.call("TaskMarket", market, "checkpointRegistry")
    signers = sorted(committee.signers, key=lambda a: int(a, 16))
    verifier = backend.deploy(
        "ReportVerifier",
        market,
        deployer,
        delay,
        signers,
        committee.threshold,
        committee.vrf_public_key,
    )
    roles = {
        "MARKET_ROLE": market,
        "ALLOCATOR_ROLE": verifier,
        "PAUSER_ROLE": pauser or deployer,
    }
    for role, holder in roles.items():
        role_id = backend.call("NodeRegistry", registry, role)
        backend.transact("NodeRegistry", registry, "grantRole", role_id, holder)

    addresses = {
        "VerToken": token,
        "NodeRegistry": registry,
        "TaskMarket": market,
        "CheckpointRegistry": checkpoints,
        "ReportVerifier": verifier,
    }
    governance: dict[str, Any] = {
        "admin": deployer,
        "adminDelay": delay,
        "pauser": pauser or deployer,
        "roles": {role: str(holder) for role, holder in roles.items()},
    }
    if timelock is not None:
        lock = backend.deploy(
            "VerAITimelock", timelock.min_delay, timelock.proposers, timelock.executors
        )
        addresses["VerAITimelock"] = lock
        pending = {}
        for name in ADMINISTERED:
            backend.transact(name, addresses[name], "beginDefaultAdminTransfer", lock)
            _, accept_after = backend.call(name, addresses[name], "pendingDefaultAdmin")
            pending[name] = int(accept_after)
        governance["timelock"] = {
            "address": str(lock),
            "minDelay": timelock.min_delay,
            "proposers": list(timelock.proposers),
            "executors": list(timelock.executors),
        }
        # each is accepted by a timelock proposal calling acceptDefaultAdminTransfer() on it
        # after the timestamp given
        governance["pendingAdminTransfers"] = pending
    return Deployment(
        chain_id=chain_id,
        local=local,
        deployer=deployer,
        start_block=start_block,
        git_commit=git_commit(),
        contracts={name: str(address) for name, address in addresses.items()},
        parameters={
            "heartbeatTimeout": heartbeat_timeout,
            "unbondingPeriod": unbonding_period,
            "slashBps": SLASH_BPS,
            "reporterBountyBps": REPORTER_BOUNTY_BPS,
            "failureGrace": failure_grace,
            "burnBps": burn_bps,
            "completionWindow": int(backend.call("TaskMarket", market, "COMPLETION_WINDOW")),
            "maxSupply": str(backend.call("VerToken", token, "MAX_SUPPLY")),
            "governance": governance,
            "committee": {
                "signers": signers,
                "threshold": committee.threshold,
                "vrfPublicKey": "0x" + committee.vrf_public_key.hex(),
            },
            "classes": {
                c.name: {
                    "key": "0x" + c.key.hex(),
                    "minStake": str(c.min_stake),
                    "wattLimit": c.watt_limit,
                }
                for c in classes
            },
        },
    )
