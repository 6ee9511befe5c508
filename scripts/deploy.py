"""Deploy and wire the VerAI contracts; record them in deployments/<chain-id>.json.

ape run deploy --network base:sepolia --account MY_ALIAS      # BASE Sepolia, a real wallet
ape run deploy --network base:local:foundry --account TEST::0 # local Anvil posing as 84532

On a live network the admin is transferred in two steps with a delay (--admin-delay, 2 days by
default); --timelock-delay puts a TimelockController in front of it (--timelock-proposers, by
default the deploying account).
"""

from __future__ import annotations

from typing import Any

import click
from ape import chain, project
from ape.cli import account_option

from scripts._ape_backend import ApeBackend
from scripts._ape_cli import OneLineConnectionCommand
from scripts._committee import local_committee
from scripts._deployment import (
    Committee,
    DeploymentError,
    Timelock,
    deploy_all,
    ensure_writable,
)


@click.command(cls=OneLineConnectionCommand, short_help="Deploy and wire the VerAI contracts")
@account_option()
@click.option("--force", is_flag=True, help="Replace an existing deployments/<chain-id>.json.")
@click.option(
    "--committee",
    "committee_csv",
    metavar="ADDR,ADDR,...",
    help="Oracle committee signer addresses (required on live networks).",
)
@click.option("--threshold", type=int, help="Signatures a report needs (m of n).")
@click.option(
    "--vrf-public-key",
    metavar="HEX",
    help="The committee's VRF public key, 33 bytes (`verai vrf keygen` prints it).",
)
@click.option(
    "--admin-delay",
    type=click.IntRange(min=0),
    help="Seconds an admin transfer waits before it can be accepted (default: 2 days on live "
    "networks, 0 locally).",
)
@click.option(
    "--timelock-delay",
    type=click.IntRange(min=1),
    help="Deploy a TimelockController with this delay (seconds) and begin transferring the admin "
    "to it.",
)
@click.option(
    "--timelock-proposers",
    metavar="ADDR,ADDR,...",
    help="Who proposes to the timelock (default: the deploying account).",
)
@click.option("--pauser", metavar="ADDR", help="Who may pause the network (default: the deployer).")
def cli(
    account: Any,
    force: bool,
    committee_csv: str | None,
    threshold: int | None,
    vrf_public_key: str | None,
    admin_delay: int | None,
    timelock_delay: int | None,
    timelock_proposers: str | None,
    pauser: str | None,
) -> None:
    """Deploy VerToken, NodeRegistry, TaskMarket (with its CheckpointRegistry) and
    ReportVerifier, grant the roles, configure the resource classes and write
    deployments/<chain-id>.json. Refuses to overwrite an existing record for the same chain
    unless --force. On a local chain the committee defaults to the demo's four local keys."""
    local = chain.provider.network.name == "local"
    try:
        committee = _committee(local, committee_csv, threshold, vrf_public_key)
        timelock = None
        if timelock_delay is not None:
            proposers = _addresses("--timelock-proposers", timelock_proposers) or [
                str(account.address)
            ]
            timelock = Timelock(timelock_delay, proposers)
        if pauser is not None:
            _addresses("--pauser", pauser)
        ensure_writable(chain.chain_id, local, force)
        record = deploy_all(
            ApeBackend(project, chain, account),
            local=local,
            committee=committee,
            admin_delay=admin_delay,
            timelock=timelock,
            pauser=pauser,
        )
        path = record.write(force=force)
    except DeploymentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deployed on chain {record.chain_id} from {record.deployer}:")
    for name, address in record.contracts.items():
        click.echo(f"  {name:<20} {address}")
    click.echo(f"recorded in {path}")
    pending = record.parameters["governance"].get("pendingAdminTransfers", {})
    for name, after in pending.items():
        click.echo(
            f"  the timelock accepts the admin of {name} after {after} (a proposal calling "
            "acceptDefaultAdminTransfer())"
        )


def _addresses(flag: str, csv: str | None) -> list[str]:
    addresses = [a.strip() for a in (csv or "").split(",") if a.strip()]
    for address in addresses:
        if not (address.startswith("0x") and len(address) == 42):
            raise DeploymentError(f"{flag}: {address!r} is not a 0x address of 20 bytes")
    return addresses


def _committee(
    local: bool, committee_csv: str | None, threshold: int | None, vrf_public_key: str | None
) -> Committee:
    if committee_csv is None and vrf_public_key is None and threshold is None:
        if not local:
            raise DeploymentError(
                "a live network needs the oracle committee: pass --committee ADDR,ADDR,... "
                "--threshold M --vrf-public-key HEX"
            )
        signers, m, key = local_committee()
        return Committee(signers, m, key)
    if committee_csv is None or vrf_public_key is None:
        raise DeploymentError("give --committee and --vrf-public-key together (and --threshold)")
    signers = _addresses("--committee", committee_csv)
    try:
        key = bytes.fromhex(vrf_public_key.removeprefix("0x"))
    except ValueError:
        raise DeploymentError(f"--vrf-public-key: {vrf_public_key!r} is not hex") from None
    return Committee(signers, threshold if threshold is not None else len(signers) // 2 + 1, key)
