"""A committee world for the ReportVerifier tests: keys, the deployed market + verifier, chain
snapshots for oracle/allocation.py, and report signing / transmission helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ape
from eth_account import Account
from eth_utils.crypto import keccak

from oracle import vrf
from oracle.allocation import Snapshot
from oracle.chain.snapshot import read_snapshot
from oracle.reports import (
    Domain,
    Report,
    ReportSignature,
    encode_signatures,
    sign_report,
    sort_signatures,
)
from tests.conftest import VER
from tests.contracts.conftest import ADMIN_DELAY

# Four committee members (3 of 4 sign), fixed keys so failures reproduce.
COMMITTEE_KEYS = tuple(keccak(text=f"verai committee member {i}") for i in range(4))
OUTSIDER_KEY = keccak(text="verai not a member")
THRESHOLD = 3
VRF_SECRET = keccak(text="verai committee vrf key")
VRF_PUBLIC = vrf.public_key(VRF_SECRET)
INPUTS_DIGEST = keccak(text="inputs + solution")


def address_of(key: bytes) -> str:
    return str(Account.from_key(key).address)


def sorted_members(keys: Sequence[bytes]) -> list[str]:
    """Member addresses strictly ascending, as setConfig wants them."""
    return sorted((address_of(k) for k in keys), key=lambda a: int(a, 16))


@dataclass
class World:
    """Everything a report test touches."""

    token: Any
    registry: Any
    market: Any
    verifier: Any
    domain: Domain

    def config_digest(self) -> bytes:
        return bytes(self.verifier.config()[0])

    def next_round(self) -> int:
        return int(self.verifier.latestRound()[0]) + 1

    def report(self, **fields: Any) -> Report:
        """A report under the current config for the next round, snapshot = the latest block."""
        base: dict[str, Any] = {
            "config_digest": self.config_digest(),
            "round": self.next_round(),
            "snapshot_block": ape.chain.blocks.head.number,
            "inputs_digest": INPUTS_DIGEST,
        }
        base.update(fields)
        return Report(**base)

    def signatures(
        self, report: Report, keys: Sequence[bytes] = COMMITTEE_KEYS[:THRESHOLD]
    ) -> bytes:
        return encode_signatures(self.signed(report, keys))

    def signed(self, report: Report, keys: Sequence[bytes]) -> tuple[ReportSignature, ...]:
        return sort_signatures(
            report, self.domain, [sign_report(report, self.domain, k) for k in keys]
        )

    def transmit(self, report: Report, sender: Any, signatures: bytes | None = None) -> Any:
        sigs = self.signatures(report) if signatures is None else signatures
        return self.verifier.transmit(report.as_abi(), sigs, sender=sender)

    def snapshot(self, task_ids: Sequence[int] | None = None) -> Snapshot:
        """The allocation input at the latest block, read from the contracts the way the
        committee reads it (restricted to `task_ids` when given)."""
        return read_snapshot(self.registry, self.market, ape.chain.blocks.head.number, task_ids)


def deploy_world(project: Any, admin: Any, token: Any, registry: Any) -> World:
    """TaskMarket on the registry, a ReportVerifier with the 3-of-4 committee holding the
    registry's ALLOCATOR_ROLE (the deployment wiring scripts/_deployment.py does)."""
    market = admin.deploy(project.TaskMarket, token, registry)
    registry.grantRole(registry.MARKET_ROLE(), market, sender=admin)
    verifier = admin.deploy(
        project.ReportVerifier,
        market,
        admin,
        ADMIN_DELAY,
        sorted_members(COMMITTEE_KEYS),
        THRESHOLD,
        VRF_PUBLIC,
    )
    registry.grantRole(registry.ALLOCATOR_ROLE(), verifier, sender=admin)
    domain = Domain(chain_id=ape.chain.chain_id, verifying_contract=str(verifier.address))
    return World(token=token, registry=registry, market=market, verifier=verifier, domain=domain)


def fund(token: Any, admin: Any, account: Any, spenders: Sequence[Any], amount: int) -> None:
    token.mint(account, amount, sender=admin)
    for spender in spenders:
        token.approve(spender, 2**256 - 1, sender=account)


def submit(market: Any, developer: Any, cls: bytes, units: int, cap: int = 10 * VER) -> int:
    receipt = market.submitTask(cls, units, cap, 7 * 24 * 3600, "ipfs://task", sender=developer)
    return int(receipt.decode_logs(market.TaskSubmitted)[0].taskId)


def skipped(receipt: Any, verifier: Any) -> list[tuple[int, bytes]]:
    """(index, reason selector) of every EntrySkipped in the receipt."""
    return [
        (int(log.event_arguments["index"]), bytes(log.event_arguments["reason"]))
        for log in receipt.decode_logs(verifier.EntrySkipped)
    ]


def market_call_gas(receipt: Any, market: Any) -> int:
    """Gas used inside the transaction's calls to the market (debug_traceTransaction,
    callTracer): what the market itself costs, as opposed to the verifier's own work."""
    web3 = ape.chain.provider.web3
    trace = web3.provider.make_request(
        "debug_traceTransaction", [receipt.txn_hash, {"tracer": "callTracer"}]
    )["result"]
    address = str(market.address).lower()
    return sum(
        int(call["gasUsed"], 16)
        for call in trace.get("calls", [])
        if str(call.get("to", "")).lower() == address
    )


def revert_data_below_threshold(tx: dict[str, Any], low: int, high: int) -> list[bytes | None]:
    """eth_call `tx` with decreasing gas: binary-search the least gas that succeeds, then return
    the revert data (None = success) of calls with 1..40,000 gas less, every 250."""
    web3 = ape.chain.provider.web3

    def call(gas: int) -> bytes | None:
        response = web3.provider.make_request("eth_call", [{**tx, "gas": gas}, "latest"])
        if "error" not in response:
            return None
        return bytes.fromhex((response["error"].get("data") or "0x")[2:])

    assert call(high) is None, call(high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if call(mid) is None else (mid, high)
    return [call(high - step) for step in range(1, 40_000, 250)]


def selector(error: Any) -> bytes:
    """The 4-byte selector of an ape contract error class."""
    abi = error.abi
    return bytes(keccak(text=f"{abi.name}({','.join(i.canonical_type for i in abi.inputs)})")[:4])
