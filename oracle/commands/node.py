"""`verai node ...`: the contributor's commands. `run` is the node agent (oracle/agent/cli.py);
the wallet commands (register, status, update-price, exit, withdraw ...) join this group."""

import click

from oracle.agent.cli import run_command


@click.group("node")
def node_group() -> None:
    """Run and manage a compute node of the VerAI network."""


node_group.add_command(run_command, "run")
