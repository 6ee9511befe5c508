"""Settings of `verai node run`: one pydantic-settings class, read from flags, `VERAI_*`
environment variables and an optional TOML file (see oracle/config.py for the precedence).

Amounts are VER as people write them ("2.5", "2.5 VER", "10wei"), validated here so a bad value
is one line naming the setting before anything touches the chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from oracle.config import SignerSettings
from oracle.units import AmountError, format_ver, parse_ver

UINT32_MAX = 2**32 - 1
UINT96_MAX = 2**96 - 1
DEFAULT_RAPL_ROOT = Path("/sys/class/powercap")


def _amount(value: str, field: str, *, positive: bool) -> str:
    try:
        wei = parse_ver(value, field=field)
    except AmountError as exc:
        raise ValueError(str(exc).removeprefix(f"{field}: ")) from None
    if positive and wei == 0:
        raise ValueError(f"must be above 0 VER, got {format_ver(wei)}")
    if wei > UINT96_MAX:
        raise ValueError(f"must be at most {format_ver(UINT96_MAX)} VER")
    return value


class AgentSettings(SignerSettings):
    """Everything `verai node run` needs; see `verai node run --help`."""

    # ------------------------------------------------------------------ the offer
    resource_class: str = Field(description="resource class offered, e.g. GPU-A100-80G")
    capacity: int = Field(ge=1, le=UINT32_MAX, description="whole units of the class offered")
    price: str = Field(description="asking price in VER per unit-hour, e.g. 2.5")
    stake: str = Field(description="VER staked at registration (at least the class minimum)")
    metadata_uri: str = Field("", description="where the node describes itself (emitted once)")

    # ------------------------------------------------------------------ loops
    heartbeat_interval: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="seconds between heartbeats (keep well under the registry's heartbeat timeout)",
    )
    poll_interval: float = Field(2.0, gt=0, le=600, description="seconds between event polls")
    confirmations: int = Field(0, ge=0, le=100, description="blocks an event waits before use")
    checkpoint_steps: int | None = Field(
        10, ge=1, description="checkpoint every N steps (with checkpoint_seconds: whichever first)"
    )
    checkpoint_seconds: float | None = Field(
        None,
        gt=0,
        validate_default=True,
        description="checkpoint at least every N seconds of work",
    )
    slice_seconds: float = Field(
        1.0,
        gt=0,
        le=600,
        description="about how long one turn of work runs before the agent "
        "looks at events and signals again",
    )
    progress_interval: float = Field(
        10.0, ge=0, description="seconds between step lines on the console (0: every turn)"
    )
    tx_timeout: float = Field(180.0, gt=0, description="seconds to wait for a transaction")
    replace_after: float = Field(
        60.0, gt=0, description="seconds before a stuck transaction is re-sent with higher fees"
    )

    # ------------------------------------------------------------------ storage
    work_dir: Path = Field(
        Path("verai-node"), description="folder of the agent's SQLite state and scratch files"
    )
    store: Path | None = Field(
        None, description="checkpoint folder (LocalStore); default WORK_DIR/checkpoints"
    )
    ipfs_url: str | None = Field(
        None,
        description="IPFS RPC API (Kubo HTTP RPC, e.g. http://127.0.0.1:5001); when "
        "given, checkpoints go to IPFS instead of the folder",
    )

    # ------------------------------------------------------------------ telemetry
    telemetry: Literal["auto", "nvml", "rapl", "estimate"] = Field(
        "auto", description="power source: auto tries NVML, then RAPL, then the estimate"
    )
    tdp_watts: int = Field(
        0, ge=0, le=2**24 - 1, description="declared power at full load, for the estimate"
    )
    rapl_root: Path = Field(DEFAULT_RAPL_ROOT, description="powercap sysfs folder (RAPL)")
    renewable_bps: int | None = Field(
        None,
        ge=0,
        le=10_000,
        description="declared renewable share of the node's electricity, basis points "
        "(0-10000, 8000 = 80 %); declared on chain at start when it differs (unset: leave it)",
    )
    renewable_evidence_uri: str = Field(
        "", description="where the renewable share's evidence is (certificate, utility statement)"
    )

    # ------------------------------------------------------------------ money
    withdraw_threshold: str = Field(
        "1", description="withdraw earnings once they reach this many VER (0 = never)"
    )

    # ------------------------------------------------------------------ observation
    metrics_host: str = Field("127.0.0.1", description="address of /metrics and /healthz")
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="port of /metrics and /healthz (0: any free port; unset: no server)",
    )

    # ------------------------------------------------------------------ command workloads
    commands: dict[str, str] = Field(
        default_factory=dict,
        description="command workloads this machine allows, name -> command line (a task "
        "spec names one; a task can never run a command the contributor did not list)",
    )

    @field_validator("price")
    @classmethod
    def _check_price(cls, value: str) -> str:
        return _amount(value, "price", positive=True)

    @field_validator("stake")
    @classmethod
    def _check_stake(cls, value: str) -> str:
        return _amount(value, "stake", positive=True)

    @field_validator("withdraw_threshold")
    @classmethod
    def _check_threshold(cls, value: str) -> str:
        return _amount(value, "withdraw_threshold", positive=False)

    @field_validator("resource_class")
    @classmethod
    def _check_class(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a resource class, e.g. GPU-A100-80G")
        return value.strip()

    @field_validator("ipfs_url")
    @classmethod
    def _check_ipfs(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("checkpoint_seconds")
    @classmethod
    def _check_interval(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None and info.data.get("checkpoint_steps", 0) is None:
            raise ValueError("is unset and so is checkpoint_steps: set at least one of them")
        return value

    # ------------------------------------------------------------------ derived
    @property
    def price_wei(self) -> int:
        return parse_ver(self.price, field="price")

    @property
    def stake_wei(self) -> int:
        return parse_ver(self.stake, field="stake")

    @property
    def withdraw_threshold_wei(self) -> int:
        return parse_ver(self.withdraw_threshold, field="withdraw_threshold")

    @property
    def db_path(self) -> Path:
        return self.work_dir / "agent.sqlite"

    @property
    def store_path(self) -> Path:
        return self.store if self.store is not None else self.work_dir / "checkpoints"
