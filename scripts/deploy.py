"""Deploy and wire the VerAI contracts; record them in deployments/<chain-id>.json.

ape run deploy --network base:sepolia --account MY_ALIAS      # BASE Sepolia, a real wallet
ape run deploy --network base:local:foundry --account TEST::0 # local Anvil posing as 84532
"""

from __future__ import annotations

from typing import Any

import click
from ape import chain, project
from ape.cli import account_option

from scripts._ape_backend import ApeBackend
from scripts._ape_cli import OneLineConnectionCommand
from scripts._committee import local_committee
from scripts._deployment import Committee, DeploymentError, deploy_all, ensure_writable


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
def cli(
    account: Any,
    force: bool,
    committee_csv: str | None,
    threshold: int | None,
    vrf_public_key: str | None,
) -> None:
    """Deploy VerToken, NodeRegistry, TaskMarket (with its CheckpointRegistry) and
    ReportVerifier, grant the roles, configure the resource classes and write
    deployments/<chain-id>.json. Refuses to overwrite an existing record for the same chain
    unless --force. On a local chain the committee defaults to the demo's four local keys."""
    local = chain.provider.network.name == "local"
    try:
        committee = _committee(local, committee_csv, threshold, vrf_public_key)
        ensure_writable(chain.chain_id, local, force)
        record = deploy_all(ApeBackend(project, chain, account), local=local, committee=committee)
        path = record.write(force=force)
    except DeploymentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deployed on chain {record.chain_id} from {record.deployer}:")
    for name, address in record.contracts.items():
        click.echo(f"  {name:<20} {address}")
    click.echo(f"recorded in {path}")


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
    signers = [a.strip() for a in committee_csv.split(",") if a.strip()]
    for address in signers:
        if not (address.startswith("0x") and len(address) == 42):
            raise DeploymentError(f"--committee: {address!r} is not a 0x address of 20 bytes")
    try:
        key = bytes.fromhex(vrf_public_key.removeprefix("0x"))
    except ValueError:
        raise DeploymentError(f"--vrf-public-key: {vrf_public_key!r} is not hex") from None
    return Committee(signers, threshold if threshold is not None else len(signers) // 2 + 1, key)
