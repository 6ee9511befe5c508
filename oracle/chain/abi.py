"""The ABIs of the deployed contracts, as committed in ``oracle/abi/`` (exported from the compiled
contracts by ``make abi``, checked against the compiler in ``make test``), and the tables derived
from them: event decoders by topic and custom errors by selector.

The service, the agent, the CLI and the dashboard read these files, never a compiler's output, so
they run where no Solidity toolchain is installed.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from eth_utils.crypto import keccak

CONTRACTS: Final = (
    "VerToken",
    "NodeRegistry",
    "TaskMarket",
    "CheckpointRegistry",
    "ReportVerifier",
)

Abi = list[dict[str, Any]]


@functools.cache
def load_abi(contract: str) -> Abi:
    """The committed ABI of `contract` (one of CONTRACTS)."""
    if contract not in CONTRACTS:
        raise KeyError(f"no ABI for {contract!r}; known: {', '.join(CONTRACTS)}")
    text = resources.files("oracle.abi").joinpath(f"{contract}.json").read_text()
    abi: Abi = json.loads(text)
    return abi


def canonical_type(param: dict[str, Any]) -> str:
    """The ABI type of a parameter as it appears in a signature (tuples expanded)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(entry: dict[str, Any]) -> str:
    """`Name(type1,type2,...)` of an event, error or function ABI entry."""
    return f"{entry['name']}({','.join(canonical_type(p) for p in entry.get('inputs', []))})"


@dataclass(frozen=True, slots=True)
class EventAbi:
    """One event of one contract: its name, topic 0 and how its fields are laid out."""

    contract: str
    name: str
    topic0: bytes
    indexed: tuple[tuple[str, str], ...]  # (name, type) of topics 1..3, in order
    data: tuple[tuple[str, str], ...]  # (name, type) of the data fields, in order
    order: tuple[str, ...]  # every field name in declaration order


@dataclass(frozen=True, slots=True)
class ErrorAbi:
    """One custom error: where it is declared, its selector and its parameters."""

    contract: str
    name: str
    selector: bytes
    inputs: tuple[tuple[str, str], ...]  # (name, type)

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(t for _, t in self.inputs)})"


@functools.cache
def events() -> dict[tuple[str, bytes], EventAbi]:
    """Every event of every contract, by (contract, topic 0)."""
    table: dict[tuple[str, bytes], EventAbi] = {}
    for contract in CONTRACTS:
        for entry in load_abi(contract):
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            inputs = entry.get("inputs", [])
            event = EventAbi(
                contract=contract,
                name=str(entry["name"]),
                topic0=keccak(text=signature(entry)),
                indexed=tuple((p["name"], canonical_type(p)) for p in inputs if p["indexed"]),
                data=tuple((p["name"], canonical_type(p)) for p in inputs if not p["indexed"]),
                order=tuple(p["name"] for p in inputs),
            )
            table[(contract, event.topic0)] = event
    return table


def event_by_name(contract: str, name: str) -> EventAbi:
    """The event `name` of `contract`; KeyError when it has none."""
    for (owner, _), event in events().items():
        if owner == contract and event.name == name:
            return event
    raise KeyError(f"{contract} has no event {name}")


@functools.cache
def errors() -> dict[bytes, ErrorAbi]:
    """Every custom error any of the contracts can revert with, by 4-byte selector. The same
    error declared by several contracts (an interface's errors appear in every ABI that reverts
    with them) is kept once."""
    table: dict[bytes, ErrorAbi] = {}
    for contract in CONTRACTS:
        for entry in load_abi(contract):
            if entry.get("type") != "error":
                continue
            selector = keccak(text=signature(entry))[:4]
            inputs = tuple((p["name"], canonical_type(p)) for p in entry.get("inputs", []))
            table.setdefault(selector, ErrorAbi(contract, str(entry["name"]), selector, inputs))
    return table
