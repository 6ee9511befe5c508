"""The `verai` command groups; each module exposes one click group."""

import click

from oracle.commands.alloc import alloc_group
from oracle.commands.audit import audit_command
from oracle.commands.node import node_group
from oracle.commands.oracle import oracle_group
from oracle.commands.vrf import vrf_group

COMMAND_GROUPS: list[click.Command] = [
    vrf_group,
    alloc_group,
    oracle_group,
    audit_command,
    node_group,
]
