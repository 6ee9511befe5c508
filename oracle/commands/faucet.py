"""`verai faucet`: test VER (and gas) for a wallet on a local chain; refused anywhere else."""

from __future__ import annotations

import click
from eth_utils.address import to_checksum_address

from oracle.commands._accounts import parse_address, test_account
from oracle.commands._options import AMOUNT, WalletOptions, wallet_command
from oracle.commands._output import fail, note, show_eth, show_ver
from oracle.commands._session import LOCAL_CHAIN_IDS, Session


def _minter(session: Session, opts: WalletOptions) -> None:
    """Without --account/--keystore, the deployer's key, when it is one of Anvil's dev accounts
    (it is for every local deployment: `ape run deploy --account TEST::0`)."""
    if opts.account or opts.keystore or session.settings.keystore:
        return
    deployer = session.chain.record.deployer.lower()
    for index in range(20):
        if str(test_account(index).address).lower() == deployer:
            session.signer = test_account(index)
            return
    fail(
        f"the deployer {to_checksum_address(deployer)} of {session.chain.record.path} is no "
        "Anvil dev account: pass --account/--keystore of a wallet holding the minter role"
    )


@click.command("faucet")
@click.argument("recipient", metavar="ADDRESS")
@click.option(
    "--ver", "ver_amount", type=AMOUNT, default="1000", show_default=True, help="VER to mint."
)
@click.option(
    "--eth",
    "eth_amount",
    type=AMOUNT,
    default="0",
    show_default=True,
    help="ETH to send for gas too (from the minter's wallet).",
)
@wallet_command(signs=True)
def faucet_command(recipient: str, ver_amount: int, eth_amount: int, opts: WalletOptions) -> None:
    """Mint test VER to ADDRESS (a 0x address, an ape alias or a keystore file) on a local
    chain; the deployer holds the minter role there. Refused on any other chain."""
    session = Session(opts)
    to = parse_address(recipient, "ADDRESS")
    if not session.is_local:
        fail(
            f"verai faucet mints only on a local chain (chain id "
            f"{'/'.join(map(str, LOCAL_CHAIN_IDS))}, or 84532 on a local RPC); "
            f"chain {session.chain.chain_id} at {session.rpc_url} "
            "is not one: nothing sent"
        )
    if ver_amount == 0 and eth_amount == 0:
        fail("--ver and --eth are both 0: nothing to send")
    _minter(session, opts)
    token = session.contracts.token.functions
    if ver_amount:
        session.check_call(token.mint(to, ver_amount))
        session.send(token.mint(to, ver_amount), purpose="faucet")
    if eth_amount:
        outcome = session.sender.send(to, b"", purpose="faucet-eth", value=eth_amount)
        if not outcome.mined:
            fail(f"the ETH transfer {outcome.tx_hash} is {outcome.state}")
    session.refresh()
    balance = int(session.view(token.balanceOf(to)))
    eth = session.eth_balance(to)
    sent = [show_ver(ver_amount)] if ver_amount else []
    sent += [show_eth(eth_amount)] if eth_amount else []
    click.echo(
        f"sent {' and '.join(sent)} to {to} on chain {session.chain.chain_id}: it holds "
        f"{show_ver(balance)} and {show_eth(eth)}"
    )
    if eth == 0:
        note(f"{to} has no ETH for gas: add --eth 1")
