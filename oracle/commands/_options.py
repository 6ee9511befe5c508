"""Options every wallet command shares (network, account, --json, --yes) and the parameter types
for amounts and durations, so that a bad value is one line naming the option (exit code 2)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click

from oracle.units import AmountError, parse_ver

F = TypeVar("F", bound=Callable[..., Any])


class VerAmount(click.ParamType):
    """ "2.5", "2.5 VER" or "123wei" -> wei."""

    name = "AMOUNT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_ver(str(value), field=_label(param))
        except AmountError as exc:
            self.fail(str(exc), param, ctx)


class Duration(click.ParamType):
    """ "3600", "90m", "2h", "1h30m", "7d" -> seconds (> 0)."""

    name = "DURATION"
    _UNITS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    _PART = re.compile(r"(\d+)\s*([smhdw])")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().replace(" ", "")
        seconds: int | None = None
        if text.isdigit():
            seconds = int(text)
        elif text and self._PART.sub("", text) == "":
            seconds = sum(int(n) * self._UNITS[u] for n, u in self._PART.findall(text))
        if seconds is None or seconds <= 0:
            self.fail(
                f"{_label(param)}: {value!r} is not a duration above 0 (examples: 3600, 90m, "
                "2h, 1h30m, 7d)",
                param,
                ctx,
            )
        return seconds


class RenewableShare(click.ParamType):
    """A share of the electricity supply -> basis points (0..10000): a percent ("80", "80%",
    "72.5 %", at most two decimals: one basis point) or basis points ("7250bps")."""

    name = "SHARE"
    _PERCENT = re.compile(r"(\d+(?:\.\d{1,2})?)%?")
    _BPS = re.compile(r"(\d+)bps")
    EXAMPLES = "a percent 0 to 100 (80, 80%, 72.5%) or basis points 0 to 10000 (7250bps)"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip().lower().replace(" ", "")
        bps: int | None = None
        if match := self._BPS.fullmatch(text):
            bps = int(match.group(1))
        elif match := self._PERCENT.fullmatch(text):
            whole, _, cents = match.group(1).partition(".")
            bps = int(whole) * 100 + int(cents.ljust(2, "0") or 0)
        label = _label(param)
        if text.startswith("-"):
            self.fail(f"{label}: {value!r} is negative ({self.EXAMPLES})", param, ctx)
        if bps is None:
            self.fail(f"{label}: {value!r} is not a share ({self.EXAMPLES})", param, ctx)
        if bps > 10_000:
            self.fail(f"{label}: {value!r} is above 100 % ({self.EXAMPLES})", param, ctx)
        return bps


def _label(param: click.Parameter | None) -> str:
    if param is None:
        return "amount"
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return (param.name or "amount").upper()


AMOUNT = VerAmount()
DURATION = Duration()
SHARE = RenewableShare()


@dataclass(frozen=True)
class WalletOptions:
    """The shared options of one invocation."""

    network: str | None
    deployment: Path | None
    rpc_timeout: float | None
    account: str | None
    keystore: Path | None
    password_file: Path | None
    address: str | None
    max_fee_gwei: float | None
    cache_dir: Path | None


_SHARED = (
    "network",
    "deployment",
    "rpc_timeout",
    "account",
    "keystore",
    "password_file",
    "address",
    "max_fee_gwei",
    "cache_dir",
)


def wallet_command(*, signs: bool) -> Callable[[F], F]:
    """Adds the network and account options to a command and passes them as `opts`. `signs`:
    the command sends transactions (adds --max-fee-gwei; --address is for read commands)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            shared = {name: kwargs.pop(name, None) for name in _SHARED}
            return function(*args, opts=WalletOptions(**shared), **kwargs)

        options = [
            click.option(
                "--network",
                envvar="VERAI_NETWORK",
                metavar="local|base-sepolia|URL",
                help="Chain to use: local (http://127.0.0.1:8545), base-sepolia "
                "(https://sepolia.base.org) or an RPC URL. Default: $VERAI_RPC_URL, else local.",
            ),
            click.option(
                "--deployment",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Deployment record to use instead of deployments/[local/]<chain-id>.json.",
            ),
            click.option(
                "--rpc-timeout", type=float, default=None, help="Seconds per RPC request."
            ),
            click.option(
                "--account",
                metavar="ALIAS",
                envvar="VERAI_ACCOUNT",
                help="ape account (~/.ape/accounts/ALIAS.json, made by `ape accounts import`); "
                "on a local chain also TEST::N, Anvil's funded dev account N.",
            ),
            click.option(
                "--keystore",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Ethereum V3 keystore file (`verai account new` makes one). "
                "Default: $VERAI_KEYSTORE.",
            ),
            click.option(
                "--password-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="File holding the keystore's password (else it is asked for, hidden). "
                "Default: $VERAI_PASSWORD_FILE.",
            ),
            click.option(
                "--cache-dir",
                type=click.Path(file_okay=False, path_type=Path),
                envvar="VERAI_CACHE_DIR",
                help="Folder of the event caches (default ~/.verai/cache).",
            ),
        ]
        if signs:
            options.append(
                click.option(
                    "--max-fee-gwei",
                    type=click.FloatRange(min=0, min_open=True),
                    help="Never offer more than this max fee per gas (default 500 gwei).",
                )
            )
        else:
            options.append(
                click.option(
                    "--address",
                    metavar="ADDRESS",
                    help="Whose wallet to show (default: the --account / --keystore address).",
                )
            )
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON document instead (fields documented in README.md).",
)
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
