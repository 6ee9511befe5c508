"""A `ConnectedProviderCommand` whose connection failure is one line, not a traceback.

ape connects the provider in `ConnectedProviderCommand.invoke`, before the script's callback
runs, and a `ProviderError` raised there (no node at the configured URI) reaches ape's own error
handler, which prints about 40 lines of traceback. A new user running
`ape run deploy --network base:sepolia:node` without a reachable RPC needs one line saying which
network and URI did not answer and where to set another.
"""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand
from ape.cli.commands import parse_network
from ape.exceptions import ApeException


class OneLineConnectionCommand(ConnectedProviderCommand):
    """Connects like `ConnectedProviderCommand`; a failure to connect is a one-line
    `click.ClickException` (exit code 1) naming the network choice, the URI and the fix."""

    def invoke(self, ctx: click.Context) -> Any:
        if self.callback is None:
            return None
        network_ctx = parse_network(ctx)
        if network_ctx is None:
            return self._invoke(ctx)
        try:
            provider = network_ctx.__enter__()
        except (ApeException, OSError) as exc:  # ProviderError, requests' ConnectionError
            raise click.ClickException(_connection_failure(network_ctx, exc)) from None
        try:
            result = self._invoke(ctx, provider=provider)
        except BaseException as exc:
            network_ctx.__exit__(exc)
            raise
        network_ctx.__exit__(None)
        return result


def _connection_failure(network_ctx: Any, exc: BaseException) -> str:
    provider = getattr(network_ctx, "_provider", None)
    network = getattr(provider, "network", None)
    ecosystem = getattr(getattr(network, "ecosystem", None), "name", "?")
    name = getattr(network, "name", "?")
    provider_name = getattr(provider, "name", "?")
    choice = f"{ecosystem}:{name}:{provider_name}"
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return (
        f"cannot connect to {choice}: {reason} Check that the RPC runs and is reachable, or "
        f"point `{provider_name}.{ecosystem}.{name}.uri` in ape-config.yaml at another one "
        '(once: --provider-settings \'{"uri": "https://..."}\')'
    )
