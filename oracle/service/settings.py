"""Settings of one committee member (`verai oracle run`), validated at start-up.

Everything the process needs, from flags, `VERAI_*` variables or a TOML file (see
`oracle.config.load_settings`); keys are files (a V3 keystore and its password file, and the
committee's VRF secret key file), never values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from oracle.config import SignerSettings


def _peer_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        raise ValueError(f"peer {value!r} must be an http://host:port URL without a path")
    return value.rstrip("/")


class OracleSettings(SignerSettings):
    """One committee member."""

    vrf_key_file: Path | None = Field(
        None, description="file holding the committee's VRF secret key (64 hex characters)"
    )
    listen_host: str = Field("127.0.0.1", description="address the peer server binds")
    listen_port: int = Field(7400, ge=0, le=65535, description="peer port (0: any free port)")
    peers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="URLs of the other members' peer servers"
    )
    db: Path = Field(Path("oracle.sqlite"), description="SQLite file of this member")
    confirmations: int = Field(2, ge=0, le=1000, description="blocks behind head to ingest")
    start_block: int = Field(0, ge=0, description="first block to ingest (the deployment's)")
    poll_interval: float = Field(1.0, gt=0, le=60, description="seconds between chain polls")
    gas_cap: int = Field(
        10_000_000, ge=500_000, le=60_000_000, description="gas budget of one report transaction"
    )
    stage_delay: float = Field(
        5.0, gt=0, le=600, description="seconds between transmitters in the schedule"
    )
    transmit_delay: float = Field(
        0.0, ge=0, le=600, description="seconds the first transmitter waits (canary/test knob)"
    )
    leader_timeout: float = Field(
        8.0, gt=0, le=600, description="seconds without a quorum before the next leader takes over"
    )
    keeper_delay: float = Field(
        10.0, gt=0, le=3600, description="seconds between members in the keeper schedule"
    )
    theta_bps: int = Field(
        2_000, ge=0, le=10_000, description="balancing band around the class mean (bps of load)"
    )
    overload_margin_bps: int = Field(
        5_000,
        ge=0,
        le=10_000,
        description="reported load above the reserved share by more than this: no new work",
    )
    store_folder: Path = Field(
        Path("round-documents"), description="LocalStore folder of the published round documents"
    )
    ipfs_url: str | None = Field(
        None, description="Kubo RPC API URL; publishes to IPFS instead of the local folder"
    )
    metrics_host: str = Field("127.0.0.1", description="address of /metrics and /healthz")
    metrics_port: int = Field(9400, ge=0, le=65535, description="port of /metrics (0: any)")
    health_timeout: float = Field(
        60.0, gt=0, le=3600, description="/healthz fails when no cycle completed for this long"
    )
    max_message_kib: int = Field(
        2048, ge=16, le=65536, description="largest peer message accepted (KiB)"
    )
    dry_run: bool = Field(False, description="compute and log every round; sign and send nothing")

    @field_validator("peers", mode="before")
    @classmethod
    def _split_peers(cls, value: object) -> object:
        if isinstance(value, str):  # VERAI_PEERS="http://a:1,http://b:2"
            text = value.strip()
            if text.startswith("["):
                return value
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("peers")
    @classmethod
    def _check_peers(cls, value: list[str]) -> list[str]:
        urls = [_peer_url(v) for v in value]
        if len(set(urls)) != len(urls):
            raise ValueError(f"peers lists a URL twice: {value!r}")
        return urls

    @field_validator("ipfs_url")
    @classmethod
    def _check_ipfs(cls, value: str | None) -> str | None:
        if value is not None:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("vrf_key_file", "keystore", "password_file")
    @classmethod
    def _check_file(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _check_signer(self) -> OracleSettings:
        if self.keystore is not None and self.password_file is None:
            raise ValueError(
                "password_file is missing: a keystore needs VERAI_PASSWORD_FILE (or "
                "--password-file)"
            )
        return self

    @property
    def signs(self) -> bool:
        """False in dry mode (asked for, or no keystore)."""
        return not self.dry_run and self.keystore is not None

    @property
    def max_message_bytes(self) -> int:
        return self.max_message_kib * 1024


def read_vrf_key(path: Path) -> bytes:
    """The 32-byte VRF secret key in `path` (hex, optional 0x, surrounding blanks ignored)."""
    from oracle.service.errors import ServiceError

    text = Path(path).read_text().strip().removeprefix("0x")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ServiceError(
            f"setting vrf_key_file (VERAI_VRF_KEY_FILE) = {str(path)!r}: not hex"
        ) from None
    if len(key) != 32:
        raise ServiceError(
            f"setting vrf_key_file (VERAI_VRF_KEY_FILE) = {str(path)!r}: holds {len(key)} "
            "bytes, a VRF secret key has 32"
        )
    return key
