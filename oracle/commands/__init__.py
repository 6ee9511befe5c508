"""The `verai` command groups; each module exposes one click group."""

import click

from oracle.commands.account import account_group
from oracle.commands.alloc import alloc_group
from oracle.commands.audit import audit_command
from oracle.commands.compensation import compensation_group
from oracle.commands.dashboard import dashboard_command
from oracle.commands.earnings import earnings_group
from oracle.commands.energy import energy_group
from oracle.commands.faucet import faucet_command
from oracle.commands.network import network_group
from oracle.commands.node import node_group
from oracle.commands.oracle import oracle_group
from oracle.commands.task import task_group
from oracle.commands.vrf import vrf_group

COMMAND_GROUPS: list[click.Command] = [
    vrf_group,
    alloc_group,
    oracle_group,
    audit_command,
    dashboard_command,
    node_group,
    # the wallet CLI (issue 17)
    account_group,
    task_group,
    earnings_group,
    compensation_group,
    network_group,
    energy_group,  # issue 13
    faucet_command,
]
