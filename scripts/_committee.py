"""The committee a local deployment uses when none is given: four keys derived from fixed labels,
so `make demo` and local deploys are reproducible. Never use these keys on a live network: the
deploy script refuses to, and asks for --committee and --vrf-public-key there."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_utils import keccak

from oracle import vrf

LOCAL_THRESHOLD = 3


@dataclass(frozen=True)
class Member:
    name: str
    key: bytes

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address)


LOCAL_MEMBERS = tuple(
    Member(f"oracle-{i}", keccak(text=f"verai local committee member {i}")) for i in range(1, 5)
)
LOCAL_VRF_SECRET = keccak(text="verai local committee vrf key")


def sorted_addresses(addresses: list[str]) -> list[str]:
    """Signers strictly ascending by address, as ReportVerifier.setConfig wants them."""
    return sorted(addresses, key=lambda a: int(a, 16))


def local_committee() -> tuple[list[str], int, bytes]:
    """(signers, threshold, VRF public key) of the local committee."""
    return (
        sorted_addresses([m.address for m in LOCAL_MEMBERS]),
        LOCAL_THRESHOLD,
        vrf.public_key(LOCAL_VRF_SECRET),
    )
