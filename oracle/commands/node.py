"""`verai node ...`: the contributor's commands. `run` is the node agent (oracle/agent/cli.py);
the wallet commands (register, status, update-price, exit, withdraw ...) join this group."""

import click

from oracle.agent.cli import run_command
from oracle.commands._node_commands import WALLET_COMMANDS


@click.group("node")
def node_group() -> None:
    """Run and manage a compute node of the VerAI network."""


node_group.add_command(run_command, "run")
for _command in WALLET_COMMANDS:  # register, status, update-price, ... (the wallet side)
    node_group.add_command(_command)
