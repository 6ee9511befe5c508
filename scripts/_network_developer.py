"""The developer of the local network and the other wallet-CLI users: every action is a real
`verai ...` subprocess (`task submit`, `task cancel`, `task refund`, `compensation claim`,
`audit`), with its own keystore and event cache, its output kept in one log."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak

from scripts._network_chain import LocalChain
from scripts._network_processes import VERAI, clean_env, write_keystores

PASSWORD = "verai local developer"


class CliFailed(Exception):
    """A `verai` command exited non-zero; the message has its command line and its output."""


@dataclass
class Cli:
    """Runs `verai` commands, appending each command line and its output to `log`."""

    log: Path
    timeout: float = 180

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(VERAI), *args]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
        )
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as out:
            out.write(f"$ verai {' '.join(args)}\n{result.stdout}{result.stderr}")
            out.write(f"(exit code {result.returncode})\n\n")
        if check and result.returncode != 0:
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            raise CliFailed(
                f"`verai {' '.join(args[:3])} …` exited {result.returncode}: "
                + (last[0] if last else "no output")
            )
        return result


def wallet_key(name: str) -> bytes:
    """The local network's key of wallet `name` (derived from the name: reproducible)."""
    return keccak(text=f"verai local network wallet {name}")


def wallet_address(name: str) -> str:
    return str(Account.from_key(wallet_key(name)).address)


@dataclass
class Wallet:
    """A wallet-CLI user on the local chain: keystore, password file, event cache."""

    name: str
    home: Path
    chain: LocalChain
    cli: Cli

    @property
    def key(self) -> bytes:
        return wallet_key(self.name)

    @property
    def address(self) -> str:
        return wallet_address(self.name)

    def prepare(self) -> Wallet:
        self.home.mkdir(parents=True, exist_ok=True)
        write_keystores([(self.home / "wallet.json", self.key)], PASSWORD)
        (self.home / "password").write_text(PASSWORD + "\n")
        return self

    def _wallet_flags(self) -> list[str]:
        return [
            "--network", self.chain.url,
            "--deployment", str(self.chain.record_path),
            "--keystore", str(self.home / "wallet.json"),
            "--password-file", str(self.home / "password"),
            "--cache-dir", str(self.home / "cache"),
        ]  # fmt: skip

    def verai(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`verai ARGS` as this wallet (the wallet options appended)."""
        return self.cli.run(*args, *self._wallet_flags(), check=check)

    def verai_json(self, *args: str) -> dict[str, Any]:
        result = self.verai(*args, "--json")
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    # ------------------------------------------------------------------ a developer's day
    def submit(
        self, resource_class: str, units: int, *, max_price: str, duration: str, spec: Path,
        ipfs_api: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """`verai task submit` (signed with a permit, confirmed with --yes); the JSON document."""
        args = ["task", "submit", resource_class, str(units), "--max-price", max_price,
                "--duration", duration, "--spec", str(spec), "--yes"]  # fmt: skip
        if ipfs_api:
            args += ["--ipfs-api", ipfs_api]
        return self.verai_json(*args)

    def status(self, task_id: int) -> dict[str, Any]:
        return self.verai_json("task", "status", str(task_id))

    def cancel(self, task_id: int) -> str:
        return self.verai("task", "cancel", str(task_id), "--yes").stdout

    def refund(self, task_id: int) -> str:
        return self.verai("task", "refund", str(task_id), "--yes").stdout

    def settle(self, task_id: int) -> str:
        return self.verai("task", "settle", str(task_id), "--yes").stdout

    def claim_compensation(self) -> str:
        return self.verai("compensation", "claim", "--yes").stdout


def audit_all(
    cli: Cli, chain: LocalChain, store_flags: list[str], from_block: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`verai audit --all` of every round since `from_block` (default: the deployment); exit
    code 1 on any failed check. "no rounds on chain" (exit 0) when there are none."""
    first = chain.record.start_block if from_block is None else from_block
    return cli.run(
        "audit", "--all", "--from-block", str(first),
        "--rpc-url", chain.url, "--deployment", str(chain.record_path), *store_flags,
        check=False,
    )  # fmt: skip
