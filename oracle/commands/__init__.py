"""The `verai` command groups; each module exposes one click group."""

import click

COMMAND_GROUPS: list[click.Command] = []
