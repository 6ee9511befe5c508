"""One wallet command's connection: the chain chosen by --network, the wallet, reads pinned to
one block, the event cache, and transactions that are simulated, priced and confirmed before
anything is signed. Every failure a user can fix is one line, exit code 2 (see _output.CliError).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from oracle.chain.connection import Chain, open_chain
from oracle.chain.contracts import Contracts
from oracle.chain.errors import ChainError, TransactionFailed, TransactionReverted
from oracle.chain.events import ChainEvent, decode_logs
from oracle.chain.revert import DecodedRevert, decode_revert, revert_bytes
from oracle.chain.rpc import JsonRpcError, RetryPolicy
from oracle.chain.tx import TxOutcome, TxSender
from oracle.commands import _accounts
from oracle.commands._cache import CachedState, EventCache
from oracle.commands._options import WalletOptions
from oracle.commands._output import CliError, confirm, fail, fields, note, show_eth
from oracle.commands._views import ViewReverted, view, views
from oracle.config import (
    BASE_SEPOLIA_RPC,
    LOCAL_RPC,
    SettingsError,
    SignerSettings,
    is_local_url,
    load_settings,
)
from oracle.explain import Context, explain
from oracle.store import StoreError

NETWORKS = {"local": LOCAL_RPC, "base-sepolia": BASE_SEPOLIA_RPC}
BASE_SEPOLIA_CHAIN_ID = 84532
LOCAL_CHAIN_IDS = (31337, 1337)
# A CLI answers quickly or says so: 3 tries over about a second, not the services' 5 over 3 s.
CLI_RETRY = RetryPolicy(attempts=3, base_delay=0.2, max_delay=1.0)


def rpc_url_for(network: str | None) -> str | None:
    """The RPC URL of --network (None: the settings' default, $VERAI_RPC_URL or local)."""
    if network is None:
        return None
    if network in NETWORKS:
        return NETWORKS[network]
    if network.startswith(("http://", "https://")):
        return network
    fail(f"--network: {network!r} is not local, base-sepolia or an http(s):// RPC URL")


def refusal_line(exc: JsonRpcError, context: Context, *, sender: str, method: str) -> str:
    """One line for a node's "no" to a simulation (`eth_call`) or a gas estimate
    (`eth_estimateGas`): the contract's decoded error in human units when the answer carries
    revert data, else the node's message."""
    payload = revert_bytes(exc.data)
    if payload is not None:
        return f"refused, nothing sent: {explain(decode_revert(payload), context)}"
    if "insufficient funds" in exc.message.lower():
        return f"insufficient gas: {sender} has too little ETH ({exc.message})"
    return f"refused, nothing sent ({method}): {exc.message}"


@dataclass(frozen=True)
class Pin:
    """The block every read of the command is made at."""

    number: int
    timestamp: int


@dataclass(frozen=True)
class Sent:
    outcome: TxOutcome
    receipt: dict[str, Any]
    events: list[ChainEvent]

    def event(self, name: str) -> ChainEvent | None:
        return next((e for e in self.events if e.name == name), None)


class Session:
    """Lazily connects; every property fails with one line when it cannot be had."""

    def __init__(self, opts: WalletOptions) -> None:
        self.opts = opts
        try:
            self.settings = load_settings(
                SignerSettings,
                rpc_url=rpc_url_for(opts.network),
                deployment=opts.deployment,
                rpc_timeout=opts.rpc_timeout,
                keystore=opts.keystore,
                password_file=opts.password_file,
                fee_ceiling_gwei=opts.max_fee_gwei,
            )
        except SettingsError as exc:
            fail(str(exc))
        self._pin: Pin | None = None
        self._cache: EventCache | None = None

    # ------------------------------------------------------------------ chain
    @functools.cached_property
    def chain(self) -> Chain:
        try:
            chain = open_chain(self.settings, retry=CLI_RETRY)
        except ChainError as exc:
            # the chain layer names the services' flag; this command's is --network
            fail(str(exc).replace("(--rpc-url / VERAI_RPC_URL)", "(--network / VERAI_NETWORK)"))
        if self.opts.network == "base-sepolia" and chain.chain_id != BASE_SEPOLIA_CHAIN_ID:
            fail(
                f"--network base-sepolia: the RPC at {self.settings.rpc_url} serves chain "
                f"{chain.chain_id}, not BASE Sepolia ({BASE_SEPOLIA_CHAIN_ID})"
            )
        return chain

    @property
    def contracts(self) -> Contracts:
        return self.chain.contracts

    @property
    def rpc_url(self) -> str:
        return self.settings.rpc_url

    @property
    def is_local(self) -> bool:
        """A development chain: Anvil/Hardhat ids, or BASE Sepolia's id served from this
        machine (the local Anvil posing as BASE Sepolia)."""
        chain_id = self.chain.chain_id
        return chain_id in LOCAL_CHAIN_IDS or (
            chain_id == BASE_SEPOLIA_CHAIN_ID and is_local_url(self.rpc_url)
        )

    def class_names(self) -> dict[bytes, str]:
        return self.chain.record.class_names()

    def class_label(self, key: bytes) -> str:
        name = self.class_names().get(bytes(key))
        return name or "0x" + bytes(key).hex()[:12] + "…"

    def context(self) -> Context:
        names = {a.lower(): n for a, n in self.chain.record.contracts.items()}
        wallet = self.__dict__["signer"].address if "signer" in self.__dict__ else None
        if wallet is None:
            with contextlib.suppress(CliError):
                wallet = self.wallet_address()
        if wallet:
            names[str(wallet).lower()] = "you"
        return Context(
            class_names=self.class_names(),
            address_names=names,
            now=self.pin.timestamp,
        )

    def explain(self, revert: DecodedRevert) -> str:
        return explain(revert, self.context())

    # ------------------------------------------------------------------ reads
    @property
    def pin(self) -> Pin:
        if self._pin is None:
            header = self.chain.rpc.request("eth_getBlockByNumber", ["latest", False])
            self._pin = Pin(int(header["number"], 16), int(header["timestamp"], 16))
        return self._pin

    def repin(self, number: int, timestamp: int) -> None:
        self._pin = Pin(number, timestamp)

    def refresh(self) -> None:
        """Reads move to the new head (`task watch`)."""
        self._pin = None

    def view(self, call: Any) -> Any:
        try:
            return view(self.chain.rpc, call, self.pin.number)
        except ViewReverted as exc:
            fail(self.explain(exc.revert))
        except ChainError as exc:
            fail(str(exc))

    def views(self, calls: Sequence[Any]) -> list[Any]:
        if not calls:
            return []
        try:
            return views(self.chain.rpc, calls, self.pin.number)
        except ViewReverted as exc:
            fail(self.explain(exc.revert))
        except ChainError as exc:
            fail(str(exc))

    def eth_balance(self, address: str) -> int:
        return int(self.chain.rpc.request("eth_getBalance", [address, hex(self.pin.number)]), 16)

    def cache(self, *, quiet: bool = False) -> CachedState:
        """The event cache caught up to the head; reads are pinned to its block from now on."""
        try:
            if self._cache is None:
                folder = self.opts.cache_dir or _accounts.default_cache_dir()
                self._cache = EventCache(folder, self.chain)
            state = self._cache.catch_up(quiet=quiet)
        except (ChainError, StoreError) as exc:
            fail(str(exc))
        self.repin(state.block, state.timestamp)
        return state

    # ------------------------------------------------------------------ wallet
    def wallet_address(self) -> str | None:
        if self.opts.address:
            return _accounts.parse_address(self.opts.address, "--address")
        keystore = self.opts.keystore or self.settings.keystore
        return _accounts.address_of(self.opts.account, keystore)

    def require_address(self) -> str:
        address = self.wallet_address()
        if address is None:
            fail("whose wallet? pass --address ADDRESS, --account ALIAS or --keystore FILE")
        return address

    @functools.cached_property
    def signer(self) -> LocalAccount:
        keystore = self.opts.keystore or self.settings.keystore
        password_file = self.opts.password_file or self.settings.password_file
        return _accounts.unlock_wallet(
            self.opts.account, keystore, password_file, local=self.is_local
        )

    @functools.cached_property
    def sender(self) -> TxSender:
        return TxSender(
            self.chain.rpc,
            self.signer,
            self.chain.chain_id,
            fee_ceiling=self.settings.fee_ceiling_wei,
            replace_after=60.0,
        )

    # ------------------------------------------------------------------ transactions
    def check_call(self, call: Any, *, value: int = 0) -> int:
        """Simulates `call` from the wallet and estimates its gas (nothing is sent); a revert in
        either is the contract's error in one line."""
        data = "0x" + bytes.fromhex(call._encode_transaction_data().removeprefix("0x")).hex()
        request = {
            "from": self.signer.address,
            "to": call.address,
            "data": data,
            "value": hex(value),
        }
        for method, params in (
            ("eth_call", [request, "latest"]),
            ("eth_estimateGas", [request]),
        ):
            try:
                result = self.chain.rpc.request(method, params)
            except JsonRpcError as exc:
                fail(self._refusal(method, exc))
            except ChainError as exc:
                fail(str(exc))
        return int(result, 16)

    def _refusal(self, method: str, exc: JsonRpcError) -> str:
        return refusal_line(exc, self.context(), sender=self.signer.address, method=method)

    def fee_estimate(self, gas: int) -> int:
        """The most the transactions of `gas` units may cost at today's fees (wei)."""
        fees = self.sender.market_fees()
        return gas * min(fees.max_fee_per_gas, self.settings.fee_ceiling_wei)

    def require_gas(self, gas: int) -> int:
        """Fails (insufficient gas) unless the wallet's ETH pays for `gas` at today's fees."""
        cost = self.fee_estimate(math.ceil(gas * self.sender.gas_margin) + 40_000)
        balance = self.eth_balance(self.signer.address)
        if balance < cost:
            hint = " (local chain: verai faucet ADDRESS --eth 1)" if self.is_local else ""
            fail(
                f"insufficient gas: {self.signer.address} holds {show_eth(balance)}, the "
                f"transaction may cost up to {show_eth(cost)}{hint}"
            )
        return cost

    def propose(self, title: str, lines: Sequence[tuple[str, object]], fee: int, yes: bool) -> None:
        """Shows what will be signed and what it costs, then asks (unless --yes)."""
        note(title)
        note(fields([*lines, ("network fee", f"at most {show_eth(fee)}")]))
        confirm("Sign and send?", yes)

    def send(self, call: Any, *, purpose: str, value: int = 0) -> Sent:
        """Sends `call` (simulated again first by the TxSender) and waits for its receipt."""
        try:
            data = bytes.fromhex(call._encode_transaction_data().removeprefix("0x"))
            outcome = self.sender.send(call.address, data, purpose=purpose, value=value)
        except TransactionReverted as exc:
            if isinstance(exc.revert, DecodedRevert):
                fail(f"refused, nothing sent: {self.explain(exc.revert)}")
            fail(f"refused, nothing sent: {exc}")
        except (TransactionFailed, ChainError) as exc:
            fail(str(exc))
        if not outcome.mined:
            fail(
                f"{purpose}: transaction {outcome.tx_hash} is {outcome.state}"
                + (f" ({outcome.detail})" if outcome.detail else "")
            )
        receipt = self.chain.rpc.request("eth_getTransactionReceipt", [outcome.tx_hash])
        events = decode_logs(receipt.get("logs", []), self.contracts.names_by_address())
        return Sent(outcome, receipt, events)

    def keystore_dir(self) -> Path:
        return _accounts.default_keystore_dir()
