"""The local chain poses as BASE Sepolia."""

from typing import Any

import ape

BASE_SEPOLIA_CHAIN_ID = 84532


def test_chain_id_is_base_sepolia(chain: Any) -> None:
    assert chain.chain_id == BASE_SEPOLIA_CHAIN_ID


def test_token_has_name_symbol_and_minter(token: Any, admin: Any, alice: Any) -> None:
    assert token.name() == "VerAI"
    assert token.symbol() == "VER"
    assert token.hasRole(token.MINTER_ROLE(), admin)
    token.mint(alice, 5, sender=admin)
    assert token.balanceOf(alice) == 5


def test_token_supply_is_capped_below_the_contracts_96_bit_amounts(
    token: Any, admin: Any, alice: Any
) -> None:
    cap = token.MAX_SUPPLY()
    assert cap == token.cap() == 10_000_000_000 * 10**18 < 2**96
    room = cap - token.totalSupply()
    with ape.reverts(token.ERC20ExceededCap):
        token.mint(alice, room + 1, sender=admin)
    token.mint(alice, room, sender=admin)
    assert token.totalSupply() == cap


def test_token_burn_destroys_supply(token: Any, admin: Any, alice: Any) -> None:
    token.mint(alice, 10, sender=admin)
    supply = token.totalSupply()
    token.burn(4, sender=alice)
    assert token.totalSupply() == supply - 4


def test_token_admin_is_transferred_in_two_steps(
    token: Any, admin: Any, alice: Any, chain: Any
) -> None:
    with ape.reverts(token.AccessControlEnforcedDefaultAdminRules):
        token.grantRole(token.DEFAULT_ADMIN_ROLE(), alice, sender=admin)
    receipt = token.beginDefaultAdminTransfer(alice, sender=admin)
    # the token's delay starts at 0 (the deploy script raises it): accepted from the next second
    chain.pending_timestamp = receipt.timestamp + 1
    token.acceptDefaultAdminTransfer(sender=alice)
    assert token.defaultAdmin() == alice.address
