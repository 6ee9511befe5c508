"""`verai node run`: the contributor's node agent as a command (the console output layer)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click

from oracle.agent.main import StartupError, assemble
from oracle.agent.registration import RegistrationError
from oracle.agent.settings import AgentSettings
from oracle.config import SettingsError, load_settings
from oracle.errors import OracleError
from oracle.observe.logs import setup_logging

EXIT_BAD_INPUT = 2


class ConsoleProgress:
    """One line per event on stdout: `HH:MM:SS kind  text`."""

    def show(self, kind: str, text: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {kind:<10} {text}")


def _fail(message: str) -> None:
    # one line naming the setting and the value (the messages are built that way)
    for line in str(message).splitlines() or ["error"]:
        click.echo(f"verai node run: {line}", err=True)
    sys.exit(EXIT_BAD_INPUT)


_FLAGS: list[tuple[str, Any, str]] = [
    ("--rpc-url", str, "JSON-RPC of BASE (or a local chain)"),
    ("--deployment", click.Path(path_type=Path), "deployment record (deployments/<chain-id>.json)"),
    ("--keystore", click.Path(path_type=Path), "V3 keystore of the node's wallet"),
    ("--password-file", click.Path(path_type=Path), "file holding the keystore's password"),
    ("--resource-class", str, "resource class offered, e.g. GPU-A100-80G"),
    ("--capacity", int, "units of the class offered"),
    ("--price", str, "asking price, VER per unit-hour (e.g. 2.5)"),
    ("--stake", str, "VER staked at registration"),
    ("--metadata-uri", str, "where the node describes itself"),
    ("--heartbeat-interval", float, "seconds between heartbeats (default 60)"),
    ("--checkpoint-steps", int, "checkpoint every N steps (default 10)"),
    ("--checkpoint-seconds", float, "checkpoint at least every N seconds of work"),
    ("--work-dir", click.Path(path_type=Path), "folder of the agent's state (default verai-node)"),
    ("--store", click.Path(path_type=Path), "checkpoint folder (default WORK_DIR/checkpoints)"),
    ("--ipfs-url", str, "IPFS RPC API; checkpoints go to IPFS instead of the folder"),
    ("--telemetry", click.Choice(["auto", "nvml", "rapl", "estimate"]), "power source"),
    ("--tdp-watts", int, "declared full-load power, for the estimate"),
    ("--renewable-bps", int, "declared renewable share, basis points (8000 = 80 %)"),
    ("--renewable-evidence-uri", str, "evidence of the renewable share (certificate URI)"),
    ("--withdraw-threshold", str, "withdraw earnings from this many VER on (0 = never)"),
    ("--metrics-port", int, "serve /metrics and /healthz on this port (0: any free port)"),
    ("--metrics-host", str, "address of the metrics server (default 127.0.0.1)"),
    ("--poll-interval", float, "seconds between event polls (default 2)"),
    ("--progress-interval", float, "seconds between step lines (default 10; 0: every turn)"),
    ("--log-format", click.Choice(["json", "text"]), "log line format (stderr)"),
    ("--log-level", click.Choice(["debug", "info", "warning", "error"]), "log level"),
]


def _with_flags(function: Any) -> Any:
    for flag, kind, text in reversed(_FLAGS):
        function = click.option(flag, type=kind, default=None, help=text)(function)
    return function


@click.command(
    "run",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML file of settings (same names as the flags, with underscores)",
)
@_with_flags
def run_command(config_file: Path | None, **flags: Any) -> None:
    """Run this machine as a VerAI node: register (once), send heartbeats with measured power,
    run the work the committee assigns, checkpoint it to the store or IPFS and commit each CID
    on-chain, complete, and withdraw earnings.

    Every setting also reads from VERAI_<NAME> (e.g. VERAI_PRICE) and from --config; flags win.
    Restarting is always safe: the agent finds its registration, resumes pending transactions
    and continues each running assignment from its last checkpoint on chain. SIGTERM (Ctrl-C)
    checkpoints the current work and stops; a second one stops at once.

    Bad settings, a wrong keystore password, an RPC that does not answer or a deployment record
    of another chain stop it before anything is sent, with exit code 2.
    """
    try:
        settings = load_settings(AgentSettings, config_file=config_file, **flags)
    except SettingsError as exc:
        _fail(str(exc))
    setup_logging(settings.log_format, settings.log_level)
    progress = ConsoleProgress()
    try:
        assembled = assemble(settings, progress)
    except StartupError as exc:
        _fail(str(exc))
    agent = assembled.agent

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if agent.stopping:
            raise KeyboardInterrupt  # a second signal: stop now
        progress.show("stop", f"{signal.Signals(signum).name}: finishing the current step")
        agent.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if assembled.server is not None:
        progress.show(
            "node",
            f"metrics on http://{settings.metrics_host}:{assembled.server.port}/metrics "
            "and /healthz",
        )
    code = 0
    try:
        try:
            agent.start()
        except RegistrationError as exc:
            _fail(str(exc))
        except OracleError as exc:
            if agent.node_id == 0:
                _fail(str(exc))  # nothing was sent
            raise
        code = agent.run()
        agent.shutdown()
    except KeyboardInterrupt:
        progress.show("stop", "stopped at once (second signal); the next start resumes the work")
        code = 130
    except OracleError as exc:
        click.echo(f"verai node run: {exc}", err=True)
        code = 1
    finally:
        if assembled.server is not None:
            assembled.server.stop()
        assembled.db.close()
    sys.exit(code)
