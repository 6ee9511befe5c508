"""Settings of every process, in one place: pydantic-settings classes read from command-line
flags, then `VERAI_*` environment variables, then an optional TOML file (`--config FILE`), then
the defaults, in that order of precedence.

Keys are never settings: a process gets the PATH of an Ethereum V3 keystore and of a file
holding its password. Validation happens at start-up, and each bad setting is reported on one
line naming the setting, its environment variable and the value given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from oracle.errors import OracleError

ENV_PREFIX = "VERAI_"
LOCAL_RPC = "http://127.0.0.1:8545"
BASE_SEPOLIA_RPC = "https://sepolia.base.org"


class SettingsError(OracleError):
    """One or more settings are invalid; the message has one line per problem."""


def _http_url(value: str, name: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value


def is_local_url(url: str) -> bool:
    """True for an RPC on this machine (its deployment record lives in deployments/local/)."""
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


class ChainSettings(BaseSettings):
    """What every process needs to reach the chain and find the contracts."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    rpc_url: str = Field(LOCAL_RPC, description="JSON-RPC endpoint of a BASE (or local) node")
    rpc_timeout: float = Field(10.0, gt=0, le=300, description="seconds per RPC request")
    deployment: Path | None = Field(
        None,
        description="deployment record; default deployments/local/<chain-id>.json for a local "
        "RPC, deployments/<chain-id>.json otherwise",
    )
    log_format: Literal["json", "text"] = Field("json", description="log line format")
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("rpc_url")
    @classmethod
    def _check_rpc_url(cls, value: str) -> str:
        return _http_url(value, "rpc_url")


class SignerSettings(ChainSettings):
    """A process that signs transactions (or reports) with a keystore."""

    keystore: Path | None = Field(None, description="Ethereum V3 keystore JSON of the account")
    password_file: Path | None = Field(None, description="file holding the keystore's password")
    fee_ceiling_gwei: float = Field(
        500.0, gt=0, description="never offer more than this max fee per gas (gwei)"
    )

    @property
    def fee_ceiling_wei(self) -> int:
        return int(self.fee_ceiling_gwei * 10**9)


S = TypeVar("S", bound=BaseSettings)


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def format_errors(exc: ValidationError) -> str:
    """One line per problem: `setting NAME (VERAI_NAME) = VALUE: what is wrong`."""
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        name = loc[0] if loc else "?"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            lines.append(f"unknown setting {name!r} (no such option; see --help)")
            continue
        value = error.get("input")
        if isinstance(value, Path):
            value = str(value)
        shown = "(missing)" if error.get("type") == "missing" else repr(value)
        lines.append(f"setting {name} ({env_name(name)}) = {shown}: {message}")
    return "\n".join(lines)


def load_settings(cls: type[S], *, config_file: Path | None = None, **overrides: Any) -> S:
    """An instance of `cls` from `overrides` (flags; None means not given), the environment,
    then `config_file` (TOML, same names as the settings), then defaults. SettingsError lists
    every bad setting."""
    if config_file is not None and not Path(config_file).is_file():
        raise SettingsError(f"--config {config_file}: no such file")
    toml_path = config_file

    class _Loaded(cls):  # type: ignore[valid-type, misc]
        @classmethod
        def settings_customise_sources(
            cls_,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
            return tuple(sources)

    _Loaded.__name__ = cls.__name__
    _Loaded.__qualname__ = cls.__qualname__
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return _Loaded(**given)
    except ValidationError as exc:
        raise SettingsError(format_errors(exc)) from None
    except (OSError, ValueError) as exc:  # an unreadable or malformed TOML file
        raise SettingsError(f"--config {config_file}: {exc}") from None
