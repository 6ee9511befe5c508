"""Deploy and wire the VerAI contracts; record them in deployments/<chain-id>.json.

ape run deploy --network base:sepolia --account MY_ALIAS      # BASE Sepolia, a real wallet
ape run deploy --network base:local:foundry --account TEST::0 # local Anvil posing as 84532
"""

from __future__ import annotations

from typing import Any

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand, account_option

from scripts._deployment import DeploymentError, deploy_all, ensure_writable


@click.command(cls=ConnectedProviderCommand, short_help="Deploy and wire the VerAI contracts")
@account_option()
@click.option("--force", is_flag=True, help="Replace an existing deployments/<chain-id>.json.")
def cli(account: Any, force: bool) -> None:
    """Deploy VerToken and NodeRegistry (and the market contracts), grant the roles, configure the
    resource classes and write deployments/<chain-id>.json. Refuses to overwrite an existing
    record for the same chain unless --force."""
    local = chain.provider.network.name == "local"
    try:
        ensure_writable(chain.chain_id, local, force)
        record, _ = deploy_all(project, chain, account, local=local)
        path = record.write(force=force)
    except DeploymentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deployed on chain {record.chain_id} from {record.deployer}:")
    for name, address in record.contracts.items():
        click.echo(f"  {name:<20} {address}")
    click.echo(f"recorded in {path}")
