"""Assertions shared by the contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import ape
from eth_utils import keccak

from oracle.chain.packed import PACKED_EVENTS, expand


def class_id(name: str) -> bytes:
    """A resource class as the contracts key it: keccak256 of its name."""
    return keccak(text=name)


@contextmanager
def reverts_with(error: Any, **expected_inputs: Any) -> Iterator[Any]:
    """Like `ape.reverts(Error, **inputs)` but strict: the error must be exactly `error` and every
    named input must exist (ape silently ignores input names it does not know)."""
    with ape.reverts(error) as info:
        yield info
    raised = info.value
    assert type(raised).__name__ == error.__name__, f"{type(raised).__name__} != {error.__name__}"
    actual = dict(raised.inputs)
    for name, want in expected_inputs.items():
        assert name in actual, f"{error.__name__} has no input {name!r} (has {sorted(actual)})"
        have = actual[name]
        if isinstance(want, bytes) and not isinstance(have, bytes):
            have = bytes.fromhex(str(have).removeprefix("0x"))
        assert have == want, f"{error.__name__}.{name}: {have!r} != {want!r}"


def events_of(receipt: Any, event: Any) -> list[Any]:
    """The logs of `event` in the receipt; a packed event (HeartbeatRecorded) comes unpacked
    into its named fields by the chain layer's own rule (oracle/chain/packed.py)."""
    logs = receipt.decode_logs(event)
    if ("NodeRegistry", event.name) not in PACKED_EVENTS:
        return list(logs)
    return [
        SimpleNamespace(**expand("NodeRegistry", event.name, dict(log.event_arguments)))
        for log in logs
    ]


def only_event(receipt: Any, event: Any) -> Any:
    """The single log of `event` in the receipt (fails when there is none or several)."""
    logs = events_of(receipt, event)
    assert len(logs) == 1, f"expected one {event.name}, got {len(logs)}"
    return logs[0]


def view_reverts_with(
    contract: Any, method: str, args: tuple[Any, ...], error: Any, **expected_inputs: Any
) -> None:
    """A reverting view call decoded against the custom error `error`.

    ape does not decode custom errors of eth_call reverts, so the call goes through web3 and the
    revert data is decoded with the error's ABI here."""
    from eth_abi import decode
    from eth_utils import keccak as _keccak
    from web3.exceptions import ContractCustomError, ContractLogicError

    web3 = ape.chain.provider.web3
    data = getattr(contract, method).encode_input(*args)
    try:
        web3.eth.call({"to": contract.address, "data": data})
    except (ContractCustomError, ContractLogicError) as exc:
        raw = exc.data if isinstance(exc.data, str) else None
    else:
        raise AssertionError(f"{method}{args} did not revert")
    assert raw is not None, "revert without data"
    revert = bytes.fromhex(raw.removeprefix("0x"))
    abi = error.abi
    types = [i.canonical_type for i in abi.inputs]
    selector = _keccak(text=f"{abi.name}({','.join(types)})")[:4]
    assert revert[:4] == selector, f"reverted with selector 0x{revert[:4].hex()}, not {abi.name}"
    values = dict(zip([i.name for i in abi.inputs], decode(types, revert[4:]), strict=True))
    for name, want in expected_inputs.items():
        assert name in values, f"{abi.name} has no input {name!r}"
        assert values[name] == want, f"{abi.name}.{name}: {values[name]!r} != {want!r}"


def sign_permit(token: Any, owner: Any, spender: Any, value: int, deadline: int) -> Any:
    """An ERC-2612 permit of `owner` (an ape test account, which exposes its key) for `spender`,
    signed over VerToken's EIP-712 domain with eth-account; returns the signed message (v, r, s)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "VerAI",
            "version": "1",
            "chainId": ape.chain.chain_id,
            "verifyingContract": str(token.address),
        },
        "message": {
            "owner": str(owner.address),
            "spender": str(spender.address),
            "value": value,
            "nonce": int(token.nonces(owner)),
            "deadline": deadline,
        },
    }
    return Account.sign_message(encode_typed_data(full_message=typed), owner.private_key)
