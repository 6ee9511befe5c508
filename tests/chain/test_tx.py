"""Transactions: simulated first, persisted before they are sent, resumed after a crash,
replaced when stuck, idempotent by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.chain.calls import calldata
from oracle.chain.errors import TransactionReverted
from oracle.chain.fees import FeeCeilingReached
from oracle.chain.tx import TxSender
from oracle.store import Database
from tests._localnet import GPU, VER, Localnet


def _heartbeat_data(net: Localnet, watts: int) -> tuple[str, bytes]:
    call = net.contracts.registry.functions.heartbeat(1, 5_000, watts)
    return net.contracts.registry.address, calldata(call)


@pytest.fixture
def node_owner(localnet: Localnet):  # type: ignore[no-untyped-def]
    owner = localnet.account(1)
    localnet.fund(owner)
    localnet.send(localnet.contracts.registry.functions.register(GPU, 4, VER, 100 * VER, ""), owner)
    return owner


def test_a_revert_is_decoded_and_nothing_is_sent(localnet: Localnet, node_owner) -> None:  # type: ignore[no-untyped-def]
    sender = TxSender(localnet.rpc, node_owner, localnet.chain_id)
    call = localnet.contracts.registry.functions.updateCapacity(1, 0)
    before = localnet.rpc_call("eth_getTransactionCount", node_owner.address, "latest")
    with pytest.raises(TransactionReverted) as info:
        sender.send(call.address, calldata(call), purpose="test")
    assert info.value.revert is not None
    assert info.value.revert.name == "NodeRegistryInvalidCapacity"  # type: ignore[attr-defined]
    assert info.value.revert.arg("capacity") == 0  # type: ignore[attr-defined]
    assert localnet.rpc_call("eth_getTransactionCount", node_owner.address, "latest") == before


def test_the_same_key_sends_once(localnet: Localnet, node_owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sender = TxSender(
        localnet.rpc, node_owner, localnet.chain_id, db=Database(tmp_path / "tx.sqlite")
    )
    to, data = _heartbeat_data(localnet, 100)
    first = sender.send(to, data, purpose="heartbeat", key="hb:1")
    second = sender.send(to, data, purpose="heartbeat", key="hb:1")
    assert first.mined and second == first


class CrashBeforeBroadcast(TxSender):
    """Dies right after persisting, as a kill -9 between the write and the send would."""

    def _broadcast(self, tx):  # type: ignore[no-untyped-def]
        raise SystemExit("killed")


def test_a_transaction_persisted_before_a_crash_is_sent_after_the_restart(
    localnet: Localnet,
    node_owner,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "tx.sqlite"
    to, data = _heartbeat_data(localnet, 123)
    with pytest.raises(SystemExit):
        CrashBeforeBroadcast(localnet.rpc, node_owner, localnet.chain_id, db=Database(path)).send(
            to, data, purpose="heartbeat", key="hb:7"
        )
    restarted = TxSender(localnet.rpc, node_owner, localnet.chain_id, db=Database(path))
    [pending] = restarted.pending()
    assert pending.key == "hb:7" and pending.state == "pending"
    [outcome] = restarted.resume()
    assert outcome.mined and outcome.tx_hash == pending.tx_hash  # the very bytes signed before
    assert localnet.contracts.registry.functions.getNode(1).call()[9] == 123


def test_a_stuck_transaction_is_replaced_with_both_fees_raised(
    localnet: Localnet,
    node_owner,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    sender = TxSender(
        localnet.rpc,
        node_owner,
        localnet.chain_id,
        db=Database(tmp_path / "tx.sqlite"),
        replace_after=0.0,
        poll_interval=0.05,
    )
    localnet.rpc_call("evm_setAutomine", False)
    to, data = _heartbeat_data(localnet, 321)
    sent = sender.send(to, data, purpose="heartbeat", key="hb:stuck", wait=False)
    first = sender._load("hb:stuck")
    assert first is not None
    # the base fee jumps above what the transaction offers: it cannot be included any more
    localnet.rpc_call("anvil_setNextBlockBaseFeePerGas", hex(first.fees.max_fee_per_gas * 8))
    localnet.rpc_call("evm_mine")
    assert localnet.rpc_call("eth_getTransactionReceipt", sent.tx_hash) is None
    localnet.rpc_call("evm_setIntervalMining", 1)
    outcome = sender.wait("hb:stuck", timeout=30)
    assert outcome.mined and outcome.replacements >= 1 and outcome.tx_hash != sent.tx_hash
    replaced = sender._load("hb:stuck")
    assert replaced is not None
    assert replaced.fees.max_fee_per_gas * 1000 >= first.fees.max_fee_per_gas * 1125
    assert (
        replaced.fees.max_priority_fee_per_gas * 1000 >= first.fees.max_priority_fee_per_gas * 1125
    )
    assert localnet.contracts.registry.functions.getNode(1).call()[9] == 321


def test_a_nonce_taken_by_another_transaction_marks_ours_dropped(
    localnet: Localnet,
    node_owner,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    localnet.rpc_call("evm_setAutomine", False)
    ours = TxSender(
        localnet.rpc,
        node_owner,
        localnet.chain_id,
        db=Database(tmp_path / "a.sqlite"),
        replace_after=3600,
        poll_interval=0.05,
    )
    to, data = _heartbeat_data(localnet, 10)
    ours.send(to, data, purpose="heartbeat", key="hb:a", wait=False)
    # the same wallet used elsewhere (another machine) replaces nonce n with another call
    other = TxSender(localnet.rpc, node_owner, localnet.chain_id, replace_after=3600)
    mine = ours._load("hb:a")
    assert mine is not None
    _, other_data = _heartbeat_data(localnet, 20)
    raw, _ = other._sign(
        mine.nonce,
        to,
        other_data,
        0,
        mine.gas,
        type(mine.fees)(mine.fees.max_fee_per_gas * 2, mine.fees.max_priority_fee_per_gas * 2),
    )
    localnet.rpc_call("eth_sendRawTransaction", raw)
    localnet.rpc_call("evm_mine")
    localnet.rpc_call("evm_setIntervalMining", 1)  # blocks go on: the drop is confirmed
    outcome = ours.wait("hb:a", timeout=20)
    assert outcome.state == "dropped" and "was used by another transaction" in outcome.detail
    assert localnet.contracts.registry.functions.getNode(1).call()[9] == 20


def test_fees_above_the_ceiling_are_refused_before_sending(localnet: Localnet, node_owner) -> None:  # type: ignore[no-untyped-def]
    sender = TxSender(localnet.rpc, node_owner, localnet.chain_id, fee_ceiling=1)
    to, data = _heartbeat_data(localnet, 5)
    with pytest.raises(FeeCeilingReached, match="above the ceiling of 1 wei/gas"):
        sender.send(to, data, purpose="heartbeat")
