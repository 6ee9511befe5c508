"""Every custom error a contract can revert with reads as one line with its values in human
units (oracle/explain.py), and the table cannot fall behind the contracts: an error in the
committed ABIs or declared in contracts/ without an entry fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from oracle.chain import mirror
from oracle.chain.abi import errors
from oracle.chain.revert import DecodedRevert, decode_revert
from oracle.explain import (
    ASSIGNMENT_STATUS,
    KINDS,
    NODE_STATUS,
    TASK_STATUS,
    TEMPLATES,
    Context,
    explain,
    template_fields,
)

ROOT = Path(__file__).resolve().parents[2]
GPU = keccak(text="GPU-A100-80G")
NAMES = Context(class_names={GPU: "GPU-A100-80G"})
DECLARED = re.compile(r"\berror\s+(\w+)\s*\(([^)]*)\)\s*;")


def _raw(name: str, *values: object) -> bytes:
    abi = next(e for e in errors().values() if e.name == name)
    return abi.selector + encode([t for _, t in abi.inputs], list(values))


def _declared() -> dict[str, list[str]]:
    """Every `error Name(type name, ...)` in contracts/interfaces and contracts/libraries."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "contracts").glob("**/*.sol")):
        if any(part.startswith(".") for part in path.relative_to(ROOT / "contracts").parts):
            continue  # contracts/.cache: the dependencies ape compiles beside ours (OpenZeppelin)
        text = re.sub(r"//[^\n]*", "", path.read_text())
        for name, params in DECLARED.findall(text):
            found[name] = [p.split()[-1] for p in params.split(",") if p.strip()]
    return found


def test_every_error_in_the_committed_abis_has_an_entry_naming_its_parameters() -> None:
    abi_errors = {e.name: e for e in errors().values()}
    missing = sorted(set(abi_errors) - set(TEMPLATES))
    assert not missing, f"add these errors to oracle/explain.py TEMPLATES: {missing}"
    for name, abi in abi_errors.items():
        shown = template_fields(TEMPLATES[name])
        assert sorted(p for p, _ in shown) == sorted(p for p, _ in abi.inputs), (
            f"{name}: the template shows {shown}, the ABI has {abi.inputs}"
        )
        types = dict(abi.inputs)
        for param, kind in shown:
            assert KINDS[kind].fits(types[param]), f"{name}.{param}: {kind} for {types[param]}"


def test_every_error_declared_in_the_contracts_has_an_entry() -> None:
    declared = _declared()
    assert "NodeRegistryInsufficientStake" in declared and len(declared) > 60
    missing = sorted(set(declared) - set(TEMPLATES))
    assert not missing, f"add these errors to oracle/explain.py TEMPLATES: {missing}"
    for name, params in declared.items():
        shown = sorted(p for p, _ in template_fields(TEMPLATES[name]))
        assert shown == sorted(params), f"{name}: template {shown}, declared {params}"


def test_every_template_uses_known_kinds_once_per_parameter() -> None:
    for name, template in TEMPLATES.items():
        shown = template_fields(template)
        assert all(kind in KINDS for _, kind in shown), name
        assert len({p for p, _ in shown}) == len(shown), f"{name} shows a parameter twice"


def test_the_status_names_follow_the_contract_enums() -> None:
    assert NODE_STATUS == mirror.NODE_STATUS
    assert TASK_STATUS == mirror.TASK_STATUS
    assert ASSIGNMENT_STATUS == mirror.ASSIGNMENT_STATUS


def test_insufficient_stake_reads_as_the_issue_asks() -> None:
    raw = _raw("NodeRegistryInsufficientStake", GPU, 10 * 10**18, 50 * 10**18)
    assert explain(decode_revert(raw), NAMES) == (
        "NodeRegistryInsufficientStake: class GPU-A100-80G, given 10 VER, minimum 50 VER"
    )


@pytest.mark.parametrize(
    ("name", "values", "line"),
    [
        (
            "TaskMarketTaskNotOpen",
            (7, 3),
            "TaskMarketTaskNotOpen: task 7 is Ended, not Open",
        ),
        (
            "NodeRegistryStillUnbonding",
            (3, 7 * 86400 - 1),
            "NodeRegistryStillUnbonding: node 3 is still unbonding, 6d 23h left",
        ),
        (
            "TaskMarketPriceAboveCap",
            (2, 25 * 10**17, 2 * 10**18),
            "TaskMarketPriceAboveCap: task 2, price 2.5 VER/unit-hour is above the cap "
            "2 VER/unit-hour",
        ),
        (
            "CheckpointRegistryAssignmentNotRunning",
            (5, 2),
            "CheckpointRegistryAssignmentNotRunning: assignment 5 is Completed, not Running",
        ),
        (
            "NodeRegistryInvalidStatus",
            (4, 5),
            "NodeRegistryInvalidStatus: node 4 is Exited: not allowed now",
        ),
        (
            "ERC20InsufficientBalance",
            ("0x" + "ab" * 20, 123, 2 * 10**18),
            f"ERC20InsufficientBalance: {to_checksum_address('0x' + 'ab' * 20)} holds "
            "0.000000000000000123 VER, needs 2 VER",
        ),
    ],
)
def test_values_are_shown_in_human_units(name: str, values: tuple[object, ...], line: str) -> None:
    assert explain(decode_revert(_raw(name, *values)), NAMES) == line


def test_roles_addresses_and_times_are_named_from_the_context() -> None:
    you = "0x" + "12" * 20
    ctx = Context(address_names={you.lower(): "you"}, now=1_000_000)
    role = _raw("AccessControlUnauthorizedAccount", you, keccak(text="ALLOCATOR_ROLE"))
    assert explain(decode_revert(role), ctx).endswith("(you) lacks ALLOCATOR_ROLE")
    still_open = _raw("TaskMarketTaskStillOpen", 9, 1_000_000 + 5400)
    assert explain(decode_revert(still_open), ctx) == (
        "TaskMarketTaskStillOpen: task 9 is open until 1970-01-12 15:16:40 UTC (in 1h 30m)"
    )
    unknown_class = _raw("TaskMarketInvalidClass", keccak(text="GPU-NOPE"))
    assert "class 0x" in explain(decode_revert(unknown_class), NAMES)


def test_energy_counters_read_in_joules_and_kwh() -> None:
    revert = DecodedRevert(
        "NodeRegistryEnergyCounterBackwards",
        (("nodeId", 2), ("counterJ", 1_000), ("previousJ", 7_200_000)),
    )
    assert explain(revert) == (
        "NodeRegistryEnergyCounterBackwards: node 2, energy counter 1,000 J is below the "
        "previous 7,200,000 J (2.000 kWh) (send 0 once to start a new baseline)"
    )


def test_reverts_that_are_no_custom_error_read_too() -> None:
    message = bytes.fromhex("08c379a0") + encode(["string"], ["no"])
    assert explain(decode_revert(message)) == "Error: reverted with the message 'no'"
    panic = bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])
    assert explain(decode_revert(panic)) == "Panic: code 0x11: arithmetic overflow or underflow"
    unknown = explain(decode_revert(bytes.fromhex("deadbeef")))
    assert unknown.startswith("UnknownError: unknown error selector 0xdeadbeef")
    assert explain(decode_revert(b"")).startswith("EmptyRevert: ")


def test_an_error_without_an_entry_still_prints_its_name_and_values() -> None:
    revert = DecodedRevert("SomeNewError", (("nodeId", 4), ("digest", b"\x01\x02")))
    assert explain(revert) == "SomeNewError: nodeId=4, digest=0x0102"
