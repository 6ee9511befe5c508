"""`verai`: the command line of the VerAI network (node agent, oracle, tools).

Each command group lives in ``oracle/commands/<group>.py`` and is registered here.
"""

import click

from oracle import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="verai")
def main() -> None:
    """VerAI network: share idle GPUs for AI work, paid in $VER on BASE.

    Run `verai COMMAND --help` for the options of each command.
    """


def _register() -> None:
    # Imported here so that `verai --help` stays fast and one broken group cannot hide the others.
    from oracle.commands import COMMAND_GROUPS

    for group in COMMAND_GROUPS:
        main.add_command(group)


_register()
