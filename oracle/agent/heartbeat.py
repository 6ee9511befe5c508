"""Heartbeats: the registry's `heartbeat` call built from a telemetry reading, and the thread
that sends one every interval whatever the work loop is doing (a long training step must never
make the node look dead).

The call's arguments are matched by NAME to the committed ABI (`nodeId`, `loadBps`, `watts`, and
the energy fields of issue 13 when they are there: an energy counter, a measured/estimated flag),
so the agent sends exactly what the deployed registry takes.

The registry has two overloads (issue 13): `heartbeat(nodeId, loadBps, watts, energyJ)` carries
the node's own monotonic energy counter (measured: NVML total energy, RAPL energy_uj) and
`heartbeat(nodeId, loadBps, watts)` none (estimated: watts x time). `HeartbeatCalls` picks the
first for a reading with a counter, the second otherwise, by signature (web3 resolves overloads
by `get_function_by_signature`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from oracle.agent.errors import AgentError
from oracle.agent.telemetry import Reading, Telemetry
from oracle.chain.tx import TxOutcome
from oracle.errors import OracleError

log = logging.getLogger("oracle.agent.heartbeat")
RETRY_AFTER_FAILURE = 10.0


def heartbeat_inputs(registry: Any) -> list[dict[str, Any]]:
    """The inputs of `heartbeat` in the registry's ABI (the longest overload if several)."""
    entries = [e for e in registry.abi if e.get("type") == "function" and e["name"] == "heartbeat"]
    if not entries:
        raise AgentError("the NodeRegistry ABI has no heartbeat function")
    inputs: list[dict[str, Any]] = max(entries, key=lambda e: len(e["inputs"]))["inputs"]
    return inputs


def heartbeat_args(inputs: list[dict[str, Any]], node_id: int, reading: Reading) -> list[Any]:
    """The arguments for `inputs`, by name; AgentError for a field the agent cannot fill."""
    args: list[Any] = []
    for entry in inputs:
        name, kind = str(entry["name"]), str(entry["type"])
        lowered = name.lower()
        if lowered in ("nodeid", "node", "id"):
            value: Any = node_id
        elif "load" in lowered:
            value = reading.load_bps
        elif lowered in ("watts", "power", "powerwatts"):
            value = reading.watts
        elif "energy" in lowered or "counter" in lowered:
            # 0: no counter (the power is estimated); the unit follows the field's name
            value = int((reading.energy_j or 0) * _energy_scale(lowered))
        elif "estimated" in lowered:
            value = not reading.measured
        elif "measured" in lowered or "source" in lowered:
            value = reading.measured
        else:
            raise AgentError(
                f"NodeRegistry.heartbeat takes {name} ({kind}), which this agent cannot fill; "
                "update the agent"
            )
        if kind.startswith(("uint", "int")) and isinstance(value, bool):
            value = int(value)
        if kind.startswith("uint") and kind[4:].isdigit():
            value = min(int(value), 2 ** int(kind[4:]) - 1)  # a field too narrow saturates
        args.append(value)
    return args


def _signature(inputs: list[dict[str, Any]]) -> str:
    return "heartbeat(" + ",".join(str(i["type"]) for i in inputs) + ")"


def _takes_counter(inputs: list[dict[str, Any]]) -> bool:
    return any("energy" in str(i["name"]).lower() or "counter" in str(i["name"]).lower()
               for i in inputs)  # fmt: skip


class HeartbeatCalls:
    """The heartbeat call for a reading: the overload with the energy counter when the reading
    has one (and the registry takes one), else the one without; arguments by name."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        overloads = [
            e for e in registry.abi if e.get("type") == "function" and e["name"] == "heartbeat"
        ]
        if not overloads:
            raise AgentError("the NodeRegistry ABI has no heartbeat function")
        with_counter = [e["inputs"] for e in overloads if _takes_counter(e["inputs"])]
        without = [e["inputs"] for e in overloads if not _takes_counter(e["inputs"])]
        self.counter_inputs: list[dict[str, Any]] | None = with_counter[0] if with_counter else None
        # a registry with only the counter overload takes 0 as "no counter"
        self.plain_inputs: list[dict[str, Any]] = without[0] if without else with_counter[0]

    @property
    def counter_signature(self) -> str | None:
        return None if self.counter_inputs is None else _signature(self.counter_inputs)

    @property
    def plain_signature(self) -> str:
        return _signature(self.plain_inputs)

    def call(self, node_id: int, reading: Reading, *, counter: bool) -> tuple[Any, bool]:
        """(the web3 call, whether it carries the counter). `counter` asks for the counter
        overload; it is used only when the reading has a counter above 0 (0 means none)."""
        if counter and self.counter_inputs is not None and (reading.energy_j or 0) > 0:
            inputs, sent = self.counter_inputs, True
        else:
            inputs, sent = self.plain_inputs, False
            reading = replace(reading, energy_j=None)
        function = self.registry.get_function_by_signature(_signature(inputs))
        return function(*heartbeat_args(inputs, node_id, reading)), sent


def _energy_scale(name: str) -> float:
    """Units per joule for an energy field named e.g. energyJ, energyMilliJoules, energyWh."""
    for suffix, scale in (
        ("kwh", 1 / 3.6e6),
        ("mwh", 1 / 3.6),  # milliwatt-hours
        ("wh", 1 / 3600),
        ("kj", 1e-3),
        ("millijoules", 1e3),
        ("mj", 1e3),
        ("microjoules", 1e6),
        ("uj", 1e6),
    ):
        if name.endswith(suffix):
            return scale
    return 1.0


@dataclass(frozen=True)
class Beat:
    """One heartbeat attempt."""

    reading: Reading
    outcome: TxOutcome | None
    error: str | None
    seconds: float


class HeartbeatLoop:
    """Sends `send(reading)` every `interval` seconds on a daemon thread until stopped; a failed
    heartbeat is retried after RETRY_AFTER_FAILURE seconds (or the interval, if shorter)."""

    def __init__(
        self,
        *,
        telemetry: Telemetry,
        send: Callable[[Reading], TxOutcome],
        interval: float,
        on_beat: Callable[[Beat], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.telemetry = telemetry
        self._send = send
        self.interval = interval
        self._on_beat = on_beat
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeats", daemon=True)
        self.beats = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def beat(self) -> Beat:
        """One heartbeat now (also used by the loop)."""
        started = self._clock()
        reading = self.telemetry.read()
        try:
            outcome = self._send(reading)
        except OracleError as exc:
            self.failures += 1
            beat = Beat(reading, None, str(exc), self._clock() - started)
        else:
            if outcome.mined:
                self.beats += 1
                beat = Beat(reading, outcome, None, self._clock() - started)
            else:
                self.failures += 1
                beat = Beat(reading, outcome, f"heartbeat {outcome.state}", self._clock() - started)
        self._on_beat(beat)
        return beat

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                beat = self.beat()
                period = self.interval if beat.error is None else RETRY_AFTER_FAILURE
                wait = min(self.interval, period) - beat.seconds
            except Exception:  # never let the heartbeat thread die: log and go on
                log.exception("heartbeat loop error")
                wait = min(self.interval, RETRY_AFTER_FAILURE)
            self._stop.wait(max(0.0, wait))
