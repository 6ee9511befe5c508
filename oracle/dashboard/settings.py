"""Settings of `verai dashboard`: where the chain is (inherited), where to listen, where the
mirror lives and how often to look at the chain. Flags > VERAI_* variables > TOML > defaults."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from oracle.config import BASE_SEPOLIA_RPC, LOCAL_RPC, ChainSettings

NETWORKS = {"local": LOCAL_RPC, "base-sepolia": BASE_SEPOLIA_RPC}


class DashboardSettings(ChainSettings):
    """The read-only dashboard: no key, its own SQLite mirror."""

    listen_host: str = Field("127.0.0.1", description="address the web server binds")
    listen_port: int = Field(8080, ge=0, le=65535, description="web port (0: any free port)")
    db: Path = Field(Path("dashboard.sqlite"), description="SQLite file of the dashboard's mirror")
    poll_interval: float = Field(1.0, gt=0, le=60, description="seconds between chain polls")
    confirmations: int = Field(0, ge=0, le=1000, description="blocks behind head to ingest")
    batch_blocks: int = Field(2_000, ge=1, le=100_000, description="blocks per eth_getLogs")
    health_timeout: float = Field(
        60.0, gt=0, le=3600, description="/healthz fails when no poll succeeded for this long"
    )
    store_folder: Path | None = Field(
        None, description="LocalStore folder of the committee's round documents (audits)"
    )
    ipfs_url: str | None = Field(
        None, description="Kubo RPC API URL to fetch round documents from (audits)"
    )
    # NoDecode: VERAI_AUDIT_PATHS=structured,mcf is split below, not parsed as JSON
    audit_paths: Annotated[tuple[str, ...], NoDecode] = Field(
        ("structured", "mcf", "lp"), description="solvers `verai audit` re-solves rounds with"
    )
    max_live_clients: int = Field(
        64, ge=1, le=10_000, description="most browsers following /events at once"
    )

    @field_validator("ipfs_url")
    @classmethod
    def _check_ipfs(cls, value: str | None) -> str | None:
        if value is not None:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("audit_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):  # the JSON form works too
                try:
                    return tuple(json.loads(text))
                except (ValueError, TypeError):
                    return value
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return value

    @field_validator("audit_paths")
    @classmethod
    def _check_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [p for p in value if p not in ("structured", "mcf", "lp")]
        if bad or "structured" not in value:
            raise ValueError("choose among structured, mcf, lp (structured is required)")
        return value

    @property
    def audits(self) -> bool:
        """True when a round-document store is configured."""
        return self.store_folder is not None or self.ipfs_url is not None

    @property
    def public(self) -> bool:
        """True when the server listens beyond this machine."""
        return not _is_loopback(self.listen_host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def network_url(network: str) -> str:
    """The RPC URL of `--network`: a known name or an http(s) URL (checked by the settings)."""
    return NETWORKS.get(network, network)


def parse_listen(value: str) -> tuple[str, int]:
    """(host, port) of HOST:PORT ("[::1]:8080" for IPv6); ValueError says what is wrong."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not HOST:PORT (example: 127.0.0.1:8080)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r}: port {port_text!r} is not a number in 0..65535")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(
                f"{value!r}: host {host!r} is not an IP address (or localhost)"
            ) from None
    return host, int(port_text)
