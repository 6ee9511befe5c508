"""Interval sampling by the committee's VRF and the verifier draw (oracle/verification)."""

from __future__ import annotations

import statistics

import pytest
from eth_abi.abi import decode

from oracle import vrf
from oracle.verification.economics import expected_intervals_until_caught
from oracle.verification.sampling import (
    SAMPLE_TAG,
    Candidate,
    SamplingError,
    is_sampled,
    pick_verifier,
    sample_alpha,
    sampling_draw,
    verifier_candidates,
)

MARKET = "0x" + "42" * 20
SECRET = bytes.fromhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
GPU, CPU = b"\x01" * 32, b"\x02" * 32


def _beta(assignment: int, step: int) -> bytes:
    proof = vrf.prove(SECRET, sample_alpha(84532, MARKET, assignment, step))
    return vrf.verify(vrf.public_key(SECRET), proof, sample_alpha(84532, MARKET, assignment, step))


def test_alpha_is_the_abi_encoding_the_contract_will_hash() -> None:
    alpha = sample_alpha(84532, MARKET, 7, 3)
    assert len(alpha) == 160
    assert decode(["uint256", "address", "uint256", "uint64", "bytes32"], alpha) == (
        84532,
        MARKET,
        7,
        3,
        SAMPLE_TAG,
    )
    assert sample_alpha(84532, MARKET, 7, 4) != alpha != sample_alpha(84532, MARKET, 8, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((84532, MARKET, 7, 0), "step must be >= 1"),
        ((84532, MARKET, -1, 3), "assignment_id must be an integer"),
        ((84532, MARKET, 7, 2**64), "step must be an integer"),
        ((84532, "0x1234", 7, 3), "market must be 20 bytes"),
        ((84532, "market", 7, 3), "market must be a 0x-prefixed address"),
    ],
)
def test_alpha_refuses_bad_input_naming_the_field(args: tuple, message: str) -> None:
    with pytest.raises(SamplingError, match=message):
        sample_alpha(*args)


def test_probability_edges_and_bad_beta() -> None:
    beta = _beta(1, 1)
    assert not is_sampled(beta, 0) and is_sampled(beta, 10_000)
    draw = sampling_draw(beta)
    assert is_sampled(beta, draw + 1) and not is_sampled(beta, draw)
    with pytest.raises(SamplingError, match="probability_bps must be an integer in"):
        is_sampled(beta, 10_001)
    with pytest.raises(SamplingError, match="beta must be 32 bytes"):
        sampling_draw(b"\x00" * 31)


def test_a_cheater_is_sampled_within_the_expected_number_of_intervals() -> None:
    """Real VRF outputs over (assignment, step): a worker cheating on every interval has one
    sampled after 1/p intervals on average, one cheating on half of them after 1/(p q)."""
    p_bps, runs, horizon = 2_000, 150, 120
    always, half = [], []
    for assignment in range(1, runs + 1):
        sampled = [is_sampled(_beta(assignment, s), p_bps) for s in range(1, horizon + 1)]
        always.append(sampled.index(True) + 1)
        # a worker cheating on the odd steps only is caught at its first sampled odd step
        half.append(next(s for s in range(1, horizon + 1, 2) if sampled[s - 1]))
    expected = float(expected_intervals_until_caught(p_bps))
    mean = statistics.fmean(always)
    # geometric law: standard deviation sqrt(1 - p) / p; 4 standard errors of the mean
    tolerance = 4 * (0.8**0.5 / 0.2) / runs**0.5
    half_mean = statistics.fmean(half)
    half_expected = float(expected_intervals_until_caught(p_bps, 5_000))
    print(
        f"\nintervals until caught at p = 20 %: cheating always {mean:.2f} (expected {expected}), "
        f"on half the intervals {half_mean:.2f} (expected about {half_expected}) over {runs} runs"
    )
    assert abs(mean - expected) < tolerance, (mean, expected)
    # every other interval: twice the intervals (one fewer, the first odd step is step 1)
    assert abs(half_mean - (half_expected - 1)) < 2 * tolerance, (half_mean, half_expected)
    rate = sum(sum(is_sampled(_beta(a, s), p_bps) for s in range(1, 11)) for a in range(1, 51))
    assert 60 <= rate <= 140, rate  # 500 intervals at 20 %: 100 expected, 4.5 sigma band


def _node(
    node_id: int, owner: str, cls: bytes = GPU, free: int = 4, active: bool = True
) -> Candidate:
    return Candidate(node_id, owner, cls, free, active)


def test_verifier_is_never_the_worker_its_owner_or_another_class() -> None:
    worker = _node(3, "0xAa")
    nodes = [
        worker,
        _node(9, "0xaa"),  # the worker's owner (any case): never
        _node(5, "0xbb", CPU),  # another class: never
        _node(6, "0xcc", active=False),  # not active: never
        _node(8, "0xdd", free=0),  # listed, weight 0: never drawn
        _node(4, "0xee", free=1),
        _node(7, "0xff", free=3),
    ]
    eligible, weights = verifier_candidates(nodes, worker)
    assert [n.node_id for n in eligible] == [4, 7, 8] and weights == [1, 3, 0]
    drawn = [pick_verifier(_beta(1, s), 0, nodes, worker).node_id for s in range(1, 201)]
    assert set(drawn) == {4, 7}
    assert 120 <= drawn.count(7) <= 180, drawn.count(7)  # weighted by free units: 150 expected
    # a replaced verifier: the next attempt draws afresh from the same list
    assert {pick_verifier(_beta(1, 1), a, nodes, worker).node_id for a in range(20)} == {4, 7}


def test_no_possible_verifier_is_an_error_not_the_worker_itself() -> None:
    worker = _node(3, "0xaa")
    with pytest.raises(SamplingError, match="no node can verify node 3's interval"):
        pick_verifier(_beta(1, 1), 0, [worker, _node(4, "0xaa"), _node(5, "0xbb", free=0)], worker)
    with pytest.raises(SamplingError, match="node ids repeat"):
        verifier_candidates([_node(4, "0xbb"), _node(4, "0xcc")], worker)
