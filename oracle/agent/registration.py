"""A node's registration: checked before anything is sent, created once, found again after any
restart (`NodeRegistry.nodeOf(owner, class)`), its stake approved with an ERC-2612 permit when
the token supports it (one transaction instead of two).

Used by the agent at start-up and by `verai node register`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from oracle.chain.calls import read, send_call
from oracle.chain.contracts import Contracts
from oracle.chain.tx import TxSender
from oracle.errors import OracleError
from oracle.units import format_ver

PERMIT_LIFETIME = 3600
UINT32_MAX = 2**32 - 1
UINT96_MAX = 2**96 - 1


class RegistrationError(OracleError):
    """The node cannot be registered as asked; the message names the field and the value."""


def class_key(resource_class: str) -> bytes:
    """The on-chain key of a class: keccak256 of its name, or the 0x-hex bytes32 itself."""
    text = resource_class.strip()
    if text.startswith("0x") and len(text) == 66:
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            pass
    if not text:
        raise RegistrationError("resource class: must not be empty")
    return keccak(text=text)


@dataclass(frozen=True)
class NodeOffer:
    """What a contributor offers: one class, a capacity, a price per unit-hour, a stake."""

    resource_class: str
    capacity: int
    price: int  # VER wei per unit-hour
    stake: int  # VER wei
    metadata_uri: str = ""

    @property
    def key(self) -> bytes:
        return class_key(self.resource_class)


@dataclass(frozen=True)
class Registration:
    node_id: int
    created: bool  # False: the node existed already (a restart)


def check_offer(contracts: Contracts, owner: str, offer: NodeOffer) -> None:
    """Raises RegistrationError for anything the registry would refuse, and for a wallet that
    lacks the VER for the stake or the ETH for gas. Reads the latest state: display-only."""
    if not 1 <= offer.capacity <= UINT32_MAX:
        raise RegistrationError(f"capacity: must be 1 to {UINT32_MAX} units, got {offer.capacity}")
    if not 1 <= offer.price <= UINT96_MAX:
        raise RegistrationError(
            f"price: must be above 0 VER per unit-hour, got {format_ver(offer.price)}"
        )
    configured, min_stake, _ = read(contracts.registry.functions.classConfig(offer.key))
    if not configured:
        known = ", ".join(sorted(contracts.record.class_names().values())) or "none"
        raise RegistrationError(
            f"resource class: {offer.resource_class!r} is not configured on chain "
            f"{contracts.record.chain_id} (known: {known})"
        )
    if offer.stake < int(min_stake):
        raise RegistrationError(
            f"stake: {format_ver(offer.stake)} VER is below the minimum of "
            f"{format_ver(int(min_stake))} VER for {offer.resource_class}"
        )
    balance = int(read(contracts.token.functions.balanceOf(owner)))
    if balance < offer.stake:
        raise RegistrationError(
            f"stake: wallet {owner} holds {format_ver(balance)} VER, the stake needs "
            f"{format_ver(offer.stake)} VER"
        )
    if int(contracts.rpc.request("eth_getBalance", [owner, "latest"]), 16) == 0:
        raise RegistrationError(
            f"wallet {owner} has no ETH on chain {contracts.record.chain_id} to pay for gas"
        )


def find_node(contracts: Contracts, owner: str, offer: NodeOffer) -> int:
    """The live node of `owner` in the offer's class, 0 if none."""
    return int(read(contracts.registry.functions.nodeOf(owner, offer.key)))


def ensure_registered(contracts: Contracts, sender: TxSender, offer: NodeOffer) -> Registration:
    """The owner's live node of the class; registers it (with a permit, else approve) when
    there is none. Safe to call on every start: never registers twice."""
    owner = sender.address
    existing = find_node(contracts, owner, offer)
    if existing:
        return Registration(existing, created=False)
    check_offer(contracts, owner, offer)
    registry = contracts.registry.functions
    key = f"register:{owner.lower()}:0x{offer.key.hex()}"
    allowance = int(read(contracts.token.functions.allowance(owner, contracts.registry.address)))
    if allowance >= offer.stake:
        call = registry.register(
            offer.key, offer.capacity, offer.price, offer.stake, offer.metadata_uri
        )
    else:
        # the chain's clock, not ours: a dev chain moved forward (or a skewed host) must not make
        # the permit expired on arrival
        latest = contracts.rpc.request("eth_getBlockByNumber", ["latest", False])
        deadline = max(int(time.time()), int(latest["timestamp"], 16)) + PERMIT_LIFETIME
        v, r, s = permit_signature(
            contracts, sender, contracts.registry.address, offer.stake, deadline
        )
        call = registry.registerWithPermit(
            offer.key,
            offer.capacity,
            offer.price,
            offer.stake,
            offer.metadata_uri,
            deadline,
            v,
            r,
            s,
        )
    outcome = send_call(sender, call, purpose="register", key=key)
    if not outcome.mined:
        raise RegistrationError(
            f"the registration transaction {outcome.tx_hash} is {outcome.state}"
        )
    node_id = find_node(contracts, owner, offer)
    if not node_id:
        raise RegistrationError(f"registration {outcome.tx_hash} was mined but no node was created")
    return Registration(node_id, created=True)


def permit_signature(
    contracts: Contracts, sender: TxSender, spender: str, value: int, deadline: int
) -> tuple[int, bytes, bytes]:
    """An ERC-2612 permit of `value` VER for `spender`, signed by the sender's key."""
    token = contracts.token
    _, name, version, chain_id, verifying, _, _ = read(token.functions.eip712Domain())
    nonce = int(read(token.functions.nonces(sender.address)))
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": verifying,
        },
        "message": {
            "owner": sender.address,
            "spender": spender,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=message), sender.account.key)
    return int(signed.v), int(signed.r).to_bytes(32, "big"), int(signed.s).to_bytes(32, "big")
