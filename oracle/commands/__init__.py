"""The `verai` command groups; each module exposes one click group."""

import click

from oracle.commands.vrf import vrf_group

COMMAND_GROUPS: list[click.Command] = [vrf_group]
