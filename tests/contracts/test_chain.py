"""The local chain poses as BASE Sepolia."""

from typing import Any

BASE_SEPOLIA_CHAIN_ID = 84532


def test_chain_id_is_base_sepolia(chain: Any) -> None:
    assert chain.chain_id == BASE_SEPOLIA_CHAIN_ID


def test_token_has_name_symbol_and_minter(token: Any, admin: Any, alice: Any) -> None:
    assert token.name() == "VerAI"
    assert token.symbol() == "VER"
    assert token.hasRole(token.MINTER_ROLE(), admin)
    token.mint(alice, 5, sender=admin)
    assert token.balanceOf(alice) == 5
