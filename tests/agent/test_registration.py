"""Registration: checked before sending, once per owner and class, with a permit."""

from __future__ import annotations

import pytest

from oracle.agent.registration import NodeOffer, RegistrationError, ensure_registered
from oracle.chain.tx import TxSender
from tests._localnet import VER, Localnet


def _sender(net: Localnet, index: int) -> TxSender:
    return TxSender(net.rpc, net.account(index), net.chain_id)


def test_registers_with_a_permit_once_and_finds_the_node_after_a_restart(
    localnet: Localnet,
) -> None:
    owner = localnet.account(3)
    c = localnet.contracts
    localnet.send(c.token.functions.mint(owner.address, 500 * VER), localnet.deployer)
    offer = NodeOffer(
        "GPU-A100-80G", capacity=4, price=2 * VER, stake=120 * VER, metadata_uri="ipfs://n"
    )
    first = ensure_registered(c, _sender(localnet, 3), offer)
    assert first.created and first.node_id == 1
    # no approve was sent: the permit carried the allowance
    assert c.token.functions.balanceOf(owner.address).call() == 380 * VER
    again = ensure_registered(c, _sender(localnet, 3), offer)  # a restart
    assert again.node_id == first.node_id and not again.created
    assert c.registry.functions.nodeCount().call() == 1


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        (NodeOffer("GPU-A100-80G", 0, VER, 120 * VER), "capacity: must be 1 to"),
        (NodeOffer("GPU-A100-80G", 1, 0, 120 * VER), "price: must be above 0"),
        (NodeOffer("GPU-NOPE", 1, VER, 120 * VER), "resource class: 'GPU-NOPE' is not configured"),
        (
            NodeOffer("GPU-A100-80G", 1, VER, 10 * VER),
            "stake: 10 VER is below the minimum of 100 VER",
        ),
        (NodeOffer("CPU-EPYC-64", 1, VER, 900 * VER), "holds 500 VER, the stake needs 900 VER"),
    ],
)
def test_bad_offers_are_refused_before_anything_is_sent(
    localnet: Localnet, offer: NodeOffer, message: str
) -> None:
    owner = localnet.account(4)
    localnet.send(
        localnet.contracts.token.functions.mint(owner.address, 500 * VER), localnet.deployer
    )
    nonce = localnet.rpc.request("eth_getTransactionCount", [owner.address, "latest"])
    with pytest.raises(RegistrationError, match=message.replace("(", r"\(")):
        ensure_registered(localnet.contracts, _sender(localnet, 4), offer)
    assert localnet.rpc.request("eth_getTransactionCount", [owner.address, "latest"]) == nonce
