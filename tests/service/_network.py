"""A populated local chain and the service's round path run in one process on it, for the
report-gas tests and bench/oracle.py.

`Population` puts thousands of nodes and tasks on an automining Anvil fast: every transaction
is signed here and sent raw in JSON-RPC batches without waiting for its receipt, then all the
receipts are awaited at once (and each must have succeeded). One live node per owner and
class: every node gets its own owner key (derived from its index), funded with anvil_setBalance
and VER minted by the deployer.

`LocalRounds` is a committee member's compute path without the network: a real Ingestor and
Mirror in a SQLite file, `RoundReader.inputs` at the cursor, `solve` with the local committee's
VRF key, the round document and its reports, each transmitted with the local committee's
signatures (`Localnet.transmit`); the receipts give the gas each report really used.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from oracle import vrf
from oracle.chain.events import decode_logs
from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.chain.rpc import JsonRpcError, Rpc
from oracle.reports import Report
from oracle.service.document import RoundDocument, build_document
from oracle.service.inputs import GasTable, Parameters, RoundInputs
from oracle.service.reader import RoundReader
from oracle.service.solve import Solution, solve
from oracle.service.transmitter import reason_name
from oracle.store import Database
from scripts._committee import LOCAL_THRESHOLD, LOCAL_VRF_SECRET
from tests._localnet import GPU, VER, Localnet

BATCH = 500
MAX_FEE = 50 * 10**9
GAS = {"mint": 120_000, "approve": 80_000, "register": 500_000, "submit": 500_000,
       "heartbeat": 150_000, "report": 300_000, "settle": 6_000_000}  # fmt: skip


def heartbeat_call(registry: Any, node: int, load: int = 0, watts: int = 100) -> Any:
    """`NodeRegistry.heartbeat` with the node, load and power given and any other telemetry
    field of the ABI (an energy counter, a source flag) zero: the registry's signature grows
    with its telemetry, the tests' heartbeats follow it."""
    entries = [e for e in registry.abi if e.get("type") == "function" and e["name"] == "heartbeat"]
    inputs = max(entries, key=lambda e: len(e["inputs"]))["inputs"]
    args: list[Any] = []
    for entry in inputs:
        name, kind = str(entry["name"]).lower(), str(entry["type"])
        if name in ("nodeid", "node", "id"):
            args.append(node)
        elif "load" in name:
            args.append(load)
        elif name in ("watts", "power", "powerwatts"):
            args.append(watts)
        else:
            args.append(False if kind == "bool" else 0)
    return registry.get_function_by_signature(
        "heartbeat(" + ",".join(str(e["type"]) for e in inputs) + ")"
    )(*args)


def owner_key(index: int) -> bytes:
    return keccak(b"verai population owner" + index.to_bytes(8, "big"))


@dataclass
class RawSender:
    """Signs transactions locally (nonces tracked here) and sends them in batches (over its
    own connection with a long timeout: a batch of transactions is mined as it is sent)."""

    net: Localnet
    nonces: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rpc = Rpc(self.net.url, timeout=300)

    def raw(self, account: LocalAccount, call: Any, gas: int) -> bytes:
        address = str(account.address)
        if address not in self.nonces:
            self.nonces[address] = int(
                self.net.rpc.request("eth_getTransactionCount", [address, "pending"]), 16
            )
        tx = {
            "type": 2,
            "chainId": self.net.chain_id,
            "nonce": self.nonces[address],
            "to": call.address,
            "data": call._encode_transaction_data(),
            "gas": gas,
            "maxFeePerGas": MAX_FEE,
            "maxPriorityFeePerGas": 10**9,
            "value": 0,
        }
        self.nonces[address] += 1
        return bytes(account.sign_transaction(tx).raw_transaction)

    def _send_chunk(self, chunk: Sequence[bytes]) -> None:
        calls = [("eth_sendRawTransaction", ["0x" + r.hex()]) for r in chunk]
        try:
            self.rpc.batch(calls)
        except JsonRpcError as exc:
            if "already" not in exc.message.lower():
                raise
            # a batch retried after a timeout: send the rest one by one, skipping the known ones
            for call in calls:
                try:
                    self.rpc.request(*call)
                except JsonRpcError as again:
                    if "already" not in again.message.lower():
                        raise

    def send_all(
        self, raws: Sequence[bytes], what: str, timeout: float = 120
    ) -> list[dict[str, Any]]:
        """Sends `raws` and returns their receipts in order, `BATCH` at a time, each batch
        mined as one block (automining Anvil slows down badly with thousands of transactions
        in flight, and sometimes leaves some unmined); AssertionError naming `what` when one
        reverted or a batch's receipts do not arrive within `timeout`."""
        receipts: list[dict[str, Any]] = []
        try:
            with self._bulk_mining():
                for start in range(0, len(raws), BATCH):
                    chunk = raws[start : start + BATCH]
                    self._send_chunk(chunk)
                    hashes = ["0x" + keccak(r).hex() for r in chunk]
                    receipts += self._receipts(hashes, what, timeout)
        finally:
            self.nonces.clear()  # other senders (Localnet.send) may use these accounts next
        return receipts

    @contextlib.contextmanager
    def _bulk_mining(self) -> Iterator[None]:
        """Automine off and a roomy block gas limit while batches are sent; both restored."""
        assert self.rpc.request("anvil_getAutomine"), "Population needs an automining Anvil"
        limit = int(self.rpc.request("eth_getBlockByNumber", ["latest", False])["gasLimit"], 16)
        self.rpc.request("evm_setAutomine", [False])
        self.rpc.request("evm_setBlockGasLimit", [hex(2_000_000_000)])
        try:
            yield
        finally:
            self.rpc.request("evm_setBlockGasLimit", [hex(limit)])
            self.rpc.request("evm_mine", [])  # the next block has the usual limit again
            self.rpc.request("evm_setAutomine", [True])

    def _receipts(self, hashes: list[str], what: str, timeout: float) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            missing = [h for h in hashes if h not in found]
            answers = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in missing])
            for h, receipt in zip(missing, answers, strict=True):
                if receipt is not None:
                    found[h] = receipt
            if len(found) == len(hashes):
                break
            self.rpc.request("evm_mine", [])
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: {len(hashes) - len(found)} of {len(hashes)} receipts missing "
                    f"after {timeout:g} s"
                )
            time.sleep(pause)
            pause = min(1.0, pause * 2)
        failed = [h for h in hashes if found[h]["status"] != "0x1"]
        assert not failed, f"{what}: {len(failed)} transactions reverted, first {failed[0]}"
        return [found[h] for h in hashes]


@dataclass(frozen=True)
class NodeSpec:
    capacity: int
    price: int
    resource_class: bytes = GPU
    stake: int = 200 * VER


@dataclass(frozen=True)
class TaskSpec:
    units: int
    max_price: int
    resource_class: bytes = GPU
    duration: int = 3600


class Population:
    def __init__(self, net: Localnet) -> None:
        self.net = net
        self.sender = RawSender(net)
        self.owners: dict[int, LocalAccount] = {}  # node id -> owner
        self._next_owner = 0

    def _events(self, receipts: Iterable[dict[str, Any]], name: str, arg: str) -> list[int]:
        names = self.net.contracts.names_by_address()
        found = []
        for receipt in receipts:
            for event in decode_logs(receipt["logs"], names):
                if event.name == name:
                    found.append(int(event.args[arg]))
        return found

    def register_nodes(self, specs: Sequence[NodeSpec]) -> list[int]:
        """Registers one node per spec (each with its own new owner); returns the node ids."""
        c = self.net.contracts
        accounts = []
        for _ in specs:
            accounts.append(Account.from_key(owner_key(self._next_owner)))
            self._next_owner += 1
        self.net.rpc.batch([("anvil_setBalance", [a.address, hex(10**18)]) for a in accounts])
        deployer = self.net.deployer
        funding = []
        for account, spec in zip(accounts, specs, strict=True):
            funding.append(
                self.sender.raw(
                    deployer, c.token.functions.mint(account.address, spec.stake), GAS["mint"]
                )
            )
            funding.append(
                self.sender.raw(
                    account,
                    c.token.functions.approve(c.registry.address, 2**256 - 1),
                    GAS["approve"],
                )
            )
        self.sender.send_all(funding, "funding the node owners")
        registrations = [
            self.sender.raw(
                account,
                c.registry.functions.register(
                    spec.resource_class, spec.capacity, spec.price, spec.stake, "ipfs://node"
                ),
                GAS["register"],
            )
            for account, spec in zip(accounts, specs, strict=True)
        ]
        receipts = self.sender.send_all(registrations, f"registering {len(specs)} nodes")
        ids = self._events(receipts, "NodeRegistered", "nodeId")
        assert len(ids) == len(specs), (len(ids), len(specs))
        for node, account in zip(ids, accounts, strict=True):
            self.owners[node] = account
        return ids

    def heartbeat(self, nodes: Sequence[int], *, load: int = 0, watts: int = 100) -> None:
        c = self.net.contracts
        raws = [
            self.sender.raw(
                self.owners[n], heartbeat_call(c.registry, n, load, watts), GAS["heartbeat"]
            )
            for n in nodes
        ]
        self.sender.send_all(raws, f"heartbeats of {len(nodes)} nodes")

    def submit_tasks(self, specs: Sequence[TaskSpec], developer: int = 5) -> list[int]:
        """Submits the tasks from Anvil account `developer` (funded here); returns their ids."""
        c = self.net.contracts
        account = self.net.account(developer)
        escrow = sum(s.units * s.max_price * s.duration // 3600 for s in specs)
        self.net.send(c.token.functions.mint(account.address, escrow + VER), self.net.deployer)
        self.net.send(c.token.functions.approve(c.market.address, 2**256 - 1), account)
        raws = [
            self.sender.raw(
                account,
                c.market.functions.submitTask(
                    s.resource_class, s.units, s.max_price, s.duration, "ipfs://task"
                ),
                GAS["submit"],
            )
            for s in specs
        ]
        receipts = self.sender.send_all(raws, f"submitting {len(specs)} tasks")
        ids = self._events(receipts, "TaskSubmitted", "taskId")
        assert len(ids) == len(specs)
        return ids


@dataclass
class RoundRun:
    inputs: RoundInputs
    solution: Solution
    document: RoundDocument
    reports: tuple[Report, ...]
    receipts: list[dict[str, Any]]

    skipped: list[tuple[int, int, str]]
    """(round, entry index, reason) of every entry the chain skipped."""

    @property
    def gas(self) -> list[int]:
        return [int(r["gasUsed"], 16) for r in self.receipts]


class LocalRounds:
    """The compute path of a committee member, run in-process (see the module docstring)."""

    def __init__(
        self, net: Localnet, folder: Path, *, gas_cap: int = 10_000_000, theta_bps: int = 10_000,
        gas: GasTable | None = None,
    ) -> None:  # fmt: skip
        self.net = net
        self.gas_cap = gas_cap
        self.theta_bps = theta_bps
        self.gas = gas or GasTable()
        folder.mkdir(parents=True, exist_ok=True)
        self.db = Database(folder / "mirror.sqlite")
        self.mirror = Mirror(self.db)
        contracts = net.contracts
        self.ingestor = Ingestor(
            net.rpc, self.db, addresses=contracts.ingest_addresses(),
            contract_of=contracts.names_by_address(), sinks=[self.mirror],
            start_block=net.record.start_block,
        )  # fmt: skip
        self.reader = RoundReader(
            self.mirror, self.ingestor, net.rpc, chain_id=net.chain_id,
            market=str(contracts.market.address), verifier=str(contracts.verifier.address),
        )  # fmt: skip

    def compute(self) -> tuple[RoundInputs, Solution, RoundDocument]:
        self.ingestor.catch_up()
        view = self.reader.view()
        params = Parameters(
            theta_bps=self.theta_bps, overload_margin_bps=5_000, gas_cap=self.gas_cap,
            threshold=LOCAL_THRESHOLD, gas=self.gas,
        )  # fmt: skip
        inputs = self.reader.inputs(view.latest_round + 1, view.cursor, params)
        solution = solve(inputs, lambda alpha: vrf.prove(LOCAL_VRF_SECRET, alpha))
        return inputs, solution, build_document(inputs, solution)

    def run(self) -> RoundRun:
        """Computes the next round at the head and transmits its reports."""
        inputs, solution, document = self.compute()
        reports = document.reports()
        if self.net.head() <= inputs.snapshot_block:
            self.net.mine()  # a report's snapshot block must be below the block it lands in
        receipts = [self.net.transmit(report) for report in reports]
        names = self.net.contracts.names_by_address()
        skipped = [
            (int(e.args["round"]), int(e.args["index"]),
             reason_name("0x" + bytes(e.args["reason"]).hex()))
            for receipt in receipts
            for e in decode_logs(receipt["logs"], names)
            if e.name == "EntrySkipped"
        ]  # fmt: skip
        return RoundRun(inputs, solution, document, reports, receipts, skipped)
