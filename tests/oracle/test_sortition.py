"""The weighted pick and the VRF input (oracle.sortition); Solidity equality is in
tests/contracts/test_vrf_verifier.py."""

from __future__ import annotations

import bisect
import itertools
from collections import Counter

import pytest
from eth_abi.abi import decode
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import OracleError
from oracle.sortition import SortitionError, pick, reassignment_attempt, vrf_alpha

MARKET = "0x" + "12" * 20
SEED = bytes(range(32))
betas = st.binary(min_size=32, max_size=32)
attempts = st.integers(0, 2**256 - 1)
weight_lists = st.lists(st.integers(0, 2**64), min_size=1, max_size=40).filter(any)


def _reference_pick(beta: bytes, attempt: int, weights: list[int]) -> int:
    """The cumulative walk written differently: bisect on the running sums."""
    cumulative = list(itertools.accumulate(weights))
    r = int.from_bytes(keccak(beta + attempt.to_bytes(32, "big")), "big") % cumulative[-1]
    return bisect.bisect_right(cumulative, r)


def test_pick_known_value() -> None:
    beta = bytes(32)
    r = int.from_bytes(keccak(bytes(64)), "big")
    assert r % 6 == 1  # keccak256(64 zero bytes) mod 6
    assert pick(beta, 0, [1, 2, 3]) == 1  # r = 1 falls in [1, 3)
    assert pick(beta, 0, [2, 0, 4]) == 0  # r = 1 < 2


def test_pick_single_candidate_is_always_chosen() -> None:
    for attempt in range(20):
        assert pick(bytes(32), attempt, [7]) == 0


def test_pick_skips_zero_weight_candidates() -> None:
    chosen = {pick(keccak(i.to_bytes(4, "big")), 0, [0, 5, 0, 0, 3, 0]) for i in range(200)}
    assert chosen == {1, 4}


def test_pick_is_roughly_proportional_to_weight() -> None:
    counts = Counter(pick(bytes(32), attempt, [1, 3, 0, 4]) for attempt in range(4000))
    assert counts[2] == 0
    assert 400 <= counts[0] <= 600  # expected 500
    assert 1350 <= counts[1] <= 1650  # expected 1500
    assert 1850 <= counts[3] <= 2150  # expected 2000


def test_pick_rejects_empty_list() -> None:
    with pytest.raises(SortitionError, match="empty"):
        pick(bytes(32), 0, [])


def test_pick_rejects_all_zero_weights() -> None:
    with pytest.raises(SortitionError, match=r"all zero \(3 candidates\)"):
        pick(bytes(32), 0, [0, 0, 0])


@pytest.mark.parametrize("weights", [[-1, 2], [2**256], [1, True], [1.5]])
def test_pick_rejects_weights_outside_uint256(weights: list[int]) -> None:
    with pytest.raises(SortitionError, match="weights"):
        pick(bytes(32), 0, weights)


def test_pick_rejects_total_overflowing_uint256() -> None:
    with pytest.raises(SortitionError, match="overflows uint256"):
        pick(bytes(32), 0, [2**255, 2**255])


@pytest.mark.parametrize("beta", [b"", bytes(31), bytes(33), "00" * 32])
def test_pick_rejects_beta_not_32_bytes(beta: bytes) -> None:
    with pytest.raises(SortitionError, match="beta"):
        pick(beta, 0, [1])


@pytest.mark.parametrize("attempt", [-1, 2**256])
def test_pick_rejects_attempt_outside_uint256(attempt: int) -> None:
    with pytest.raises(SortitionError, match="attempt"):
        pick(bytes(32), attempt, [1])


def test_sortition_error_is_an_oracle_error() -> None:
    assert issubclass(SortitionError, OracleError)


@settings(max_examples=500, deadline=None)
@given(beta=betas, attempt=attempts, weights=weight_lists)
def test_pick_matches_reference_and_never_picks_zero_weight(
    beta: bytes, attempt: int, weights: list[int]
) -> None:
    index = pick(beta, attempt, weights)
    assert index == _reference_pick(beta, attempt, weights)
    assert weights[index] > 0


# ------------------------------------------------------------------ vrf_alpha
def test_vrf_alpha_is_abi_encoding_of_the_five_fields() -> None:
    alpha = vrf_alpha(84532, MARKET, 7, SEED, 3)
    assert len(alpha) == 160
    assert alpha[:32] == (84532).to_bytes(32, "big")
    assert alpha[32:64] == bytes(12) + bytes.fromhex("12" * 20)
    assert alpha[64:96] == (7).to_bytes(32, "big")
    assert alpha[96:128] == SEED
    assert alpha[128:] == (3).to_bytes(32, "big")


def test_vrf_alpha_accepts_raw_and_mixed_case_addresses() -> None:
    raw = bytes.fromhex("ab" * 20)
    assert vrf_alpha(1, raw, 1, SEED, 0) == vrf_alpha(1, "0x" + "AB" * 20, 1, SEED, 0)


@settings(max_examples=200, deadline=None)
@given(
    chain_id=st.integers(0, 2**256 - 1),
    market=st.binary(min_size=20, max_size=20),
    task_id=st.integers(0, 2**256 - 1),
    seed=st.binary(min_size=32, max_size=32),
    attempt=st.integers(0, 2**64 - 1),
)
def test_vrf_alpha_decodes_back(
    chain_id: int, market: bytes, task_id: int, seed: bytes, attempt: int
) -> None:
    alpha = vrf_alpha(chain_id, market, task_id, seed, attempt)
    decoded = decode(["uint256", "address", "uint256", "bytes32", "uint64"], alpha)
    assert decoded[0] == chain_id
    assert decoded[1].lower() == "0x" + market.hex()
    assert decoded[2:] == (task_id, seed, attempt)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"attempt": 2**64}, "attempt"),
        ({"attempt": -1}, "attempt"),
        ({"chain_id": -1}, "chain_id"),
        ({"task_id": 2**256}, "task_id"),
        ({"task_seed": bytes(31)}, "task_seed"),
        ({"market": "0x" + "12" * 19}, "market"),
        ({"market": "12" * 20}, "market"),
        ({"market": "0x" + "zz" * 20}, "market"),
        ({"market": bytes(21)}, "market"),
    ],
)
def test_vrf_alpha_rejects_bad_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "chain_id": 1,
        "market": MARKET,
        "task_id": 1,
        "task_seed": SEED,
        "attempt": 0,
    }
    args.update(kwargs)
    with pytest.raises(SortitionError, match=field):
        vrf_alpha(**args)  # type: ignore[arg-type]


# ------------------------------------------------------------------ reassignment_attempt
@settings(max_examples=200, deadline=None)
@given(assignment_id=st.integers(0, 2**32 - 1), draw=st.integers(0, 2**32 - 1))
def test_reassignment_attempt_packs_draw_above_the_assignment_id(
    assignment_id: int, draw: int
) -> None:
    attempt = reassignment_attempt(assignment_id, draw)
    assert attempt == draw * 2**32 + assignment_id < 2**64
    assert (attempt >> 32, attempt & (2**32 - 1)) == (draw, assignment_id)
    # every draw of an assignment has its own alpha
    if draw:
        assert vrf_alpha(1, MARKET, 1, SEED, attempt) != vrf_alpha(
            1, MARKET, 1, SEED, reassignment_attempt(assignment_id, draw - 1)
        )


@pytest.mark.parametrize(
    ("assignment_id", "draw", "field"), [(2**32, 0, "assignment_id"), (0, -1, "draw")]
)
def test_reassignment_attempt_rejects_fields_beyond_uint32(
    assignment_id: int, draw: int, field: str
) -> None:
    with pytest.raises(SortitionError, match=field):
        reassignment_attempt(assignment_id, draw)
