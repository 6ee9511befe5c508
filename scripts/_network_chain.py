"""The chain of `make demo` and of the network fault suite: a real Anvil posing as BASE Sepolia,
the contracts deployed through web3.py from the compiled artifacts, the deployment record, the
wallets the deployer funds, and the chain-side moves of a story: clock jumps that never fail a
live node, reorgs, pauses, event reads and the two escrow identities.

Blocks: Anvil starts with its interval (`--block-time`), but the deployer's forty-odd
transactions are mined on demand (automine) so the deployment takes a second instead of forty
blocks; the interval resumes before any service starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from oracle.chain.abi import event_by_name
from oracle.chain.calls import calldata
from oracle.chain.contracts import Contracts, open_contracts
from oracle.chain.deployment import DeploymentRecord, load_record
from oracle.chain.events import ChainEvent, decode_logs
from oracle.chain.rpc import Rpc, connect
from oracle.chain.tx import TxSender
from scripts._committee import local_committee
from scripts._deployment import DEFAULT_CLASSES, VER, Committee, ResourceClass, deploy_all
from scripts._localnet import Anvil, start_anvil, test_account
from scripts._processes import ProcessError, wait_until
from scripts._web3_backend import Web3Backend, load_artifacts

# The registry's lower bounds: a suspicion 60 s after the last heartbeat, the failure 60 s later.
MIN_HEARTBEAT_TIMEOUT = 60
MIN_FAILURE_GRACE = 60
UNBONDING_PERIOD = 3600  # the registry's minimum
HEARTBEAT_SELECTOR_NAME = "heartbeat"


class ChainStepError(Exception):
    """A chain-side move of the story did not happen; the message says which."""


@dataclass(frozen=True)
class Identities:
    """The two escrow identities, read at one block."""

    block: int
    registry_balance: int
    stakes: int
    registry_compensation: int
    market_balance: int
    escrow: int
    earnings: int
    market_compensation: int

    @property
    def registry_ok(self) -> bool:
        return self.registry_balance == self.stakes + self.registry_compensation

    @property
    def market_ok(self) -> bool:
        return self.market_balance == self.escrow + self.earnings + self.market_compensation


@dataclass
class LocalChain:
    anvil: Anvil
    record: DeploymentRecord
    rpc: Rpc
    contracts: Contracts
    chain_id: int
    block_time: float
    deployer: LocalAccount

    @property
    def url(self) -> str:
        return self.anvil.url

    @property
    def record_path(self) -> Path:
        return self.record.path

    def stop(self) -> None:
        self.anvil.stop()

    # ------------------------------------------------------------------ reads
    def request(self, method: str, *params: Any) -> Any:
        return self.rpc.request(method, list(params))

    def head(self) -> int:
        return self.rpc.block_number()

    def timestamp(self, block: int | str = "latest") -> int:
        tag = block if isinstance(block, str) else hex(block)
        return int(self.request("eth_getBlockByNumber", tag, False)["timestamp"], 16)

    def parameters(self) -> dict[str, int]:
        """NodeRegistry.parameters() by name."""
        return {k: int(v) for k, v in view(self.contracts.registry.functions.parameters()).items()}

    def node(self, node_id: int, block: int | str = "latest") -> dict[str, Any]:
        """NodeRegistry.getNode by field name."""
        return view(self.contracts.registry.functions.getNode(node_id), block)

    def assignment(self, assignment_id: int, block: int | str = "latest") -> dict[str, Any]:
        """TaskMarket.getAssignment by field name."""
        return view(self.contracts.market.functions.getAssignment(assignment_id), block)

    def logs(self, first: int, last: int) -> list[ChainEvent]:
        """Every event of the deployment's contracts in blocks first..last, in chain order."""
        if last < first:
            return []
        raw = self.request(
            "eth_getLogs",
            {"fromBlock": hex(first), "toBlock": hex(last), "address": self.contracts.addresses()},
        )
        return decode_logs(raw, self.contracts.names_by_address())

    def events(self, contract: str, name: str, first: int = 0) -> list[ChainEvent]:
        topic = "0x" + event_by_name(contract, name).topic0.hex()
        raw = self.request(
            "eth_getLogs",
            {"fromBlock": hex(first), "toBlock": "latest",
             "address": self.record.contracts[contract], "topics": [topic]},
        )  # fmt: skip
        return decode_logs(raw, self.contracts.names_by_address())

    def sender_of(self, tx_hash: str) -> str:
        return str(self.request("eth_getTransactionByHash", tx_hash)["from"])

    def identities(self, block: int | None = None) -> Identities:
        """Registry: VER held = stakes + compensation; market: VER held = escrow + earnings +
        compensation (TaskMarket.totals), every read at one block."""
        at = self.head() if block is None else block
        c = self.contracts
        stakes, held = c.registry.functions.totalHeld().call(block_identifier=at)
        escrow, earnings, compensation = c.market.functions.totals().call(block_identifier=at)
        balance = c.token.functions.balanceOf
        return Identities(
            block=at,
            registry_balance=int(balance(c.registry.address).call(block_identifier=at)),
            stakes=int(stakes),
            registry_compensation=int(held),
            market_balance=int(balance(c.market.address).call(block_identifier=at)),
            escrow=int(escrow),
            earnings=int(earnings),
            market_compensation=int(compensation),
        )

    # ------------------------------------------------------------------ blocks and time
    def pause_mining(self) -> None:
        self.request("evm_setIntervalMining", 0)

    def resume_mining(self) -> None:
        self.request("evm_setIntervalMining", int(self.block_time))

    def pending_heartbeats(self) -> set[str]:
        """Lower-case senders of the heartbeat transactions waiting in Anvil's pool."""
        registry = self.record.contracts["NodeRegistry"].lower()
        selectors = {
            "0x" + calldata(f(*[0] * len(f.abi["inputs"])))[:4].hex()
            for f in self.contracts.registry.find_functions_by_name(HEARTBEAT_SELECTOR_NAME)
        }
        pool = self.request("txpool_content")
        found = set()
        for sender, by_nonce in (pool.get("pending") or {}).items():  # queued ones cannot mine
            for tx in by_nonce.values():
                heartbeat = str(tx.get("input", ""))[:10] in selectors
                if heartbeat and (tx.get("to") or "").lower() == registry:
                    found.add(sender.lower())
        return found

    def jump(self, to_timestamp: int, *, alive: Iterable[str], timeout: float = 30) -> int:
        """Moves the chain's clock to `to_timestamp` in one block that carries a heartbeat of
        every address in `alive` (the live nodes' own agents sent them: blocks stop, the jump
        waits until each has one in the pool), so no live node is ever past its heartbeat
        timeout while only the silent ones are. Returns the jump block's number."""
        wanted = {a.lower() for a in alive}
        self.pause_mining()
        try:
            wait_until(
                lambda: wanted <= self.pending_heartbeats(),
                timeout=timeout,
                what=f"a pending heartbeat of each live node ({len(wanted)}) before the jump",
            )
            now = self.timestamp()
            self.request("evm_setNextBlockTimestamp", max(to_timestamp, now + 1))
            self.request("evm_mine")
            block = self.head()
        finally:
            self.resume_mining()
        missing = wanted - self._heartbeat_senders(block)
        if missing:
            raise ChainStepError(f"the jump block {block} lacks heartbeats of {sorted(missing)}")
        return block

    def _heartbeat_senders(self, block: int) -> set[str]:
        raw = self.request("eth_getBlockByNumber", hex(block), True)
        registry = self.record.contracts["NodeRegistry"].lower()
        return {
            str(tx["from"]).lower()
            for tx in raw["transactions"]
            if (tx.get("to") or "").lower() == registry
        }

    def wait_block(self, number: int, timeout: float = 60) -> None:
        wait_until(lambda: self.head() >= number, timeout=timeout, what=f"block {number}")

    # ------------------------------------------------------------------ money
    def fund(self, wallets: Sequence[str], *, eth: int, ver: int) -> None:
        """The deployer sends `eth` wei and mints `ver` VER wei to each wallet, all mined."""
        sender = TxSender(self.rpc, self.deployer, self.chain_id, replace_after=3600)
        token = self.contracts.token
        keys = []
        for wallet in wallets:
            if eth:
                keys.append(sender.send(wallet, b"", purpose="fund-eth", value=eth, wait=False))
            if ver:
                call = token.functions.mint(wallet, ver)
                keys.append(
                    sender.send(str(call.address), calldata(call), purpose="fund-ver", wait=False)
                )
        for outcome in keys:
            mined = sender.wait(outcome.key, timeout=60)
            if not mined.mined:
                raise ChainStepError(f"funding transaction {mined.tx_hash} is {mined.state}")


def start_chain(
    folder: Path,
    *,
    block_time: float = 2,
    heartbeat_timeout: int = MIN_HEARTBEAT_TIMEOUT,
    failure_grace: int = MIN_FAILURE_GRACE,
    classes: tuple[ResourceClass, ...] = DEFAULT_CLASSES,
    fund: Sequence[str] = (),
    fund_eth: int = 10 * VER,
    fund_ver: int = 1_000 * VER,
    log: Path | None = None,
) -> LocalChain:
    """Anvil with a block every `block_time` seconds, the contracts deployed by Anvil's account 0
    with the given governance times, the record in `folder`/deployments/local/84532.json, and
    `fund` given ETH and VER by the deployer; Anvil's output goes to `log`."""
    folder.mkdir(parents=True, exist_ok=True)
    anvil = start_anvil(log or folder / "anvil.log", block_time=block_time)
    try:
        _request(anvil, "evm_setAutomine", True)  # deploy at once, not one block every interval
        deployer = test_account(0)
        backend = Web3Backend(anvil.w3, deployer, load_artifacts())
        deployment = deploy_all(
            backend,
            local=True,
            committee=Committee(*local_committee()),
            classes=classes,
            heartbeat_timeout=heartbeat_timeout,
            unbonding_period=UNBONDING_PERIOD,
            failure_grace=failure_grace,
        )
        path = folder / "deployments" / "local" / f"{deployment.chain_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(deployment), indent=2) + "\n")
        record = load_record(path)
        rpc, chain_id = connect(anvil.url, timeout=30)
        chain = LocalChain(
            anvil, record, rpc, open_contracts(rpc, record), chain_id, block_time, deployer
        )
        if fund:
            chain.fund(fund, eth=fund_eth, ver=fund_ver)
        _request(anvil, "evm_setAutomine", False)
        chain.resume_mining()
        return chain
    except BaseException:
        anvil.stop()
        raise


def view(function: Any, block: int | str = "latest") -> dict[str, Any]:
    """A view returning one struct, by the ABI's field names (whatever their order)."""
    names = [c["name"] for c in function.abi["outputs"][0]["components"]]
    return dict(zip(names, function.call(block_identifier=block), strict=True))


def _request(anvil: Anvil, method: str, *params: Any) -> Any:
    reply = anvil.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in reply:
        raise ProcessError(f"anvil refused {method}: {reply['error']}")
    return reply.get("result")


def wait_for_event(
    chain: LocalChain,
    contract: str,
    name: str,
    *,
    first: int,
    where: Any = None,
    timeout: float,
    what: str,
) -> ChainEvent:
    """The first `name` event of `contract` from block `first` on for which `where(event)` holds
    (any, without `where`), waiting up to `timeout` seconds."""

    def found() -> ChainEvent | None:
        for event in chain.events(contract, name, first):
            if where is None or where(event):
                return event
        return None

    event = wait_until(found, timeout=timeout, what=what, interval=0.25)
    assert isinstance(event, ChainEvent)
    return event
