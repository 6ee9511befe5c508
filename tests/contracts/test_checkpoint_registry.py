"""CheckpointRegistry: commits by the assigned node, CID validation, resume chains, gas."""

from __future__ import annotations

from typing import Any

import pytest

from oracle.cid import cid_for, cid_to_onchain
from tests.contracts._helpers import only_event, reverts_with

# The market's fixtures (market, checkpoints, nodes, allocator, sponsor) load once per session as a
# plugin; the module is registered for assertion rewriting before its helpers are imported here.
pytest.register_assert_rewrite("tests.contracts._market_fixtures")
pytest_plugins = ["tests.contracts._market_fixtures"]

from tests.contracts._market_fixtures import (  # noqa: E402
    ALICE_PRICE,
    BOB_PRICE,
    CODEC_DAG_PB,
    CODEC_RAW,
    COMPLETED,
    NONE,
    advance,
    assign,
    cid,
    fail_node,
    submit,
)

# +11k since issue 10: a commit reads its task's deadline and asks the registry whether its
# node failed (findings 1 and 2): two more cold slots and a call to a cold contract
COMMIT_GAS_BUDGET = 70_000
MAX_STEP = 2**48 - 2


@pytest.fixture
def running(market: Any, nodes: Any, allocator: Any, developer: Any) -> int:
    """A running assignment of 2 units on alice's node."""
    task_id = submit(market, developer, units=2)
    return assign(market, allocator, task_id, nodes.alice, 2, ALICE_PRICE)


def _dag_pb_cid() -> bytes:
    """A dag-pb CID: the root of content above one 256 KiB chunk."""
    data = bytes(range(256)) * 1025  # 262,400 bytes: two leaves
    codec, digest = cid_to_onchain(cid_for(data))
    assert codec == CODEC_DAG_PB
    return bytes([0x01, codec, 0x12, 0x20]) + digest


# ------------------------------------------------------------------ commit
def test_commit_records_the_checkpoint_and_emits_the_cid(
    checkpoints: Any, market: Any, running: int, alice: Any, chain: Any, gas_log: Any
) -> None:
    advance(chain, 60)
    first = checkpoints.commit(running, 1, cid("epoch-1"), sender=alice)
    assert gas_log.record("CheckpointRegistry.commit[first]", first) <= COMMIT_GAS_BUDGET
    log = only_event(first, checkpoints.CheckpointCommitted)
    assert (log.assignmentId, log.step, bytes(log.cid), log.isFinal) == (
        running,
        1,
        cid("epoch-1"),
        False,
    )
    advance(chain, 60)
    second = checkpoints.commit(running, 5, cid("epoch-5"), sender=alice)
    assert gas_log.record("CheckpointRegistry.commit", second) <= COMMIT_GAS_BUDGET

    step, codec, digest, at, raw = checkpoints.latestCheckpoint(running)
    assert (step, codec, at) == (5, CODEC_RAW, second.timestamp)
    assert bytes(digest) == cid("epoch-5")[4:] and bytes(raw) == cid("epoch-5")
    a = market.getAssignment(running)
    assert (a.lastCheckpointAt, a.checkpointStep, a.checkpointCodec) == (
        second.timestamp,
        5,
        CODEC_RAW,
    )


def test_commit_accepts_a_dag_pb_cid(checkpoints: Any, running: int, alice: Any) -> None:
    big = _dag_pb_cid()
    checkpoints.commit(running, 1, big, sender=alice)
    step, codec, _, _, raw = checkpoints.latestCheckpoint(running)
    assert (step, codec, bytes(raw)) == (1, CODEC_DAG_PB, big)


def test_commit_matches_the_cid_computed_off_chain(
    checkpoints: Any, running: int, alice: Any
) -> None:
    data = b"model weights after epoch 3"
    text = cid_for(data)
    codec, digest = cid_to_onchain(text)
    checkpoints.commit(running, 3, bytes([0x01, codec, 0x12, 0x20]) + digest, sender=alice)
    _, onchain_codec, onchain_digest, _, _ = checkpoints.latestCheckpoint(running)
    assert (onchain_codec, bytes(onchain_digest)) == (codec, digest)


def test_commit_by_another_node_reverts(
    checkpoints: Any, running: int, alice: Any, bob: Any
) -> None:
    with reverts_with(
        checkpoints.CheckpointRegistryNotAssignee,
        assignmentId=running,
        caller=bob.address,
        nodeOwner=alice.address,
    ):
        checkpoints.commit(running, 1, cid("x"), sender=bob)


def test_commit_step_that_does_not_increase_reverts(
    checkpoints: Any, running: int, alice: Any
) -> None:
    checkpoints.commit(running, 4, cid("four"), sender=alice)
    for step in (4, 3):
        with reverts_with(
            checkpoints.CheckpointRegistryStepNotIncreasing,
            assignmentId=running,
            step=step,
            lastStep=4,
        ):
            checkpoints.commit(running, step, cid("again"), sender=alice)


def test_commit_step_zero_reverts(checkpoints: Any, running: int, alice: Any) -> None:
    with reverts_with(
        checkpoints.CheckpointRegistryStepNotIncreasing, assignmentId=running, step=0, lastStep=0
    ):
        checkpoints.commit(running, 0, cid("zero"), sender=alice)


def test_commit_step_too_large_reverts(checkpoints: Any, running: int, alice: Any) -> None:
    checkpoints.commit(running, MAX_STEP, cid("last"), sender=alice)  # the largest step is fine
    with reverts_with(
        checkpoints.CheckpointRegistryStepTooLarge, step=MAX_STEP + 1, maximum=MAX_STEP
    ):
        checkpoints.commit(running, MAX_STEP + 1, cid("beyond"), sender=alice)


def test_complete_after_the_largest_step_still_records_the_final(
    checkpoints: Any, market: Any, running: int, alice: Any
) -> None:
    checkpoints.commit(running, MAX_STEP, cid("last"), sender=alice)
    market.complete(running, cid("final"), sender=alice)
    assert checkpoints.latestCheckpoint(running)[0] == MAX_STEP + 1


def test_commit_on_completed_assignment_reverts(
    checkpoints: Any, market: Any, running: int, alice: Any
) -> None:
    market.complete(running, cid("done"), sender=alice)
    with reverts_with(
        checkpoints.CheckpointRegistryAssignmentNotRunning, assignmentId=running, status=COMPLETED
    ):
        checkpoints.commit(running, 9, cid("after"), sender=alice)


def test_commit_on_unknown_assignment_reverts(checkpoints: Any, alice: Any) -> None:
    with reverts_with(
        checkpoints.CheckpointRegistryAssignmentNotRunning, assignmentId=42, status=NONE
    ):
        checkpoints.commit(42, 1, cid("x"), sender=alice)


DIGEST = bytes(range(32))


@pytest.mark.parametrize(
    ("raw", "error", "inputs"),
    [
        # a CIDv0 (bare sha2-256 multihash)
        (bytes([0x12, 0x20]) + DIGEST, "CidVersionUnsupported", {"version": 0}),
        (bytes([0x02, 0x55, 0x12, 0x20]) + DIGEST, "CidVersionUnsupported", {"version": 2}),
        # dag-cbor
        (bytes([0x01, 0x71, 0x12, 0x20]) + DIGEST, "CidCodecUnsupported", {"codec": 0x71}),
        # sha2-512
        (bytes([0x01, 0x55, 0x13, 0x20]) + DIGEST, "CidHashUnsupported", {"code": 0x13}),
        (bytes([0x01, 0x55, 0x12, 0x10]) + DIGEST[:16], "CidDigestLengthInvalid", {"length": 16}),
        (bytes([0x01, 0x55, 0x12, 0x20]) + DIGEST[:31], "CidLengthInvalid", {"length": 35}),
        (bytes([0x01, 0x55, 0x12, 0x20]) + DIGEST + b"\x00", "CidLengthInvalid", {"length": 37}),
        (b"", "CidLengthInvalid", {"length": 0}),
        # version 1 written in two bytes (0x81 0x00): not minimal
        (bytes([0x81, 0x00, 0x55, 0x12, 0x20]) + DIGEST, "CidVarintInvalid", {"offset": 0}),
    ],
    ids=["cidv0", "version2", "codec", "hash", "digest-length", "short", "long", "empty", "varint"],
)
def test_commit_malformed_cid_reverts(
    checkpoints: Any, running: int, alice: Any, raw: bytes, error: str, inputs: dict[str, int]
) -> None:
    with reverts_with(getattr(checkpoints, error), **inputs):
        checkpoints.commit(running, 1, raw, sender=alice)


def test_record_final_by_anyone_but_the_market_reverts(
    checkpoints: Any, running: int, alice: Any
) -> None:
    with reverts_with(checkpoints.CheckpointRegistryNotMarket, caller=alice.address):
        checkpoints.recordFinal(running, 1, cid("x"), sender=alice)


# ------------------------------------------------------------------ views and resume chains
def test_registry_is_deployed_by_the_market(checkpoints: Any, market: Any) -> None:
    assert checkpoints.market() == market.address
    assert market.checkpointRegistry() == checkpoints.address


def test_latest_checkpoint_without_any_is_empty(checkpoints: Any, running: int) -> None:
    step, codec, digest, at, raw = checkpoints.latestCheckpoint(running)
    assert (step, codec, bytes(digest), at, bytes(raw)) == (0, 0, b"\x00" * 32, 0, b"")


def test_resume_point_follows_the_chain_to_the_latest_cid(
    checkpoints: Any,
    market: Any,
    registry: Any,
    nodes: Any,
    allocator: Any,
    developer: Any,
    alice: Any,
    bob: Any,
    carol: Any,
    stranger: Any,
    chain: Any,
) -> None:
    from tests.contracts.conftest import GPU, register

    carol_gpu = register(registry, carol, GPU, 8, ALICE_PRICE)
    task_id = submit(market, developer, units=2)
    first = assign(market, allocator, task_id, nodes.alice, 2, ALICE_PRICE)
    assert checkpoints.resumePoint(first)[0] == 0  # nothing to resume: start fresh
    checkpoints.commit(first, 10, cid("s10"), sender=alice)
    # moved to bob before bob checkpoints: bob resumes from alice's step 10
    moved = market.move(first, nodes.bob, sender=allocator).decode_logs(market.AssignmentCreated)
    second = moved[0].assignmentId
    source, step, raw = checkpoints.resumePoint(second)
    assert (source, step, bytes(raw)) == (first, 10, cid("s10"))
    # bob fails without a checkpoint of its own: carol still resumes from alice's step 10
    fail_node(registry, chain, nodes.bob, stranger)
    market.settleNodeFailure(nodes.bob, [second], sender=stranger)
    third = (
        market.reassign(second, carol_gpu, sender=allocator)
        .decode_logs(market.AssignmentCreated)[0]
        .assignmentId
    )
    assert checkpoints.resumePoint(third)[:2] == (first, 10)
    # once carol checkpoints, the chain's latest is hers
    advance(chain, 30)
    checkpoints.commit(third, 11, cid("s11"), sender=carol)
    source, step, raw = checkpoints.resumePoint(third)
    assert (source, step, bytes(raw)) == (third, 11, cid("s11"))
    assert market.getAssignment(third).resumesFrom == second
    assert market.getAssignment(second).resumesFrom == first
    assert market.getAssignment(second).pricePerUnitHour == BOB_PRICE
