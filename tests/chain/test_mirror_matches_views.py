"""The event-built mirror equals the contracts' views at random blocks of random histories."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from oracle.chain.ingest import Ingestor
from oracle.chain.mirror import Mirror
from oracle.store import Database
from tests._history import RandomHistory, compare_at
from tests._localnet import Localnet


@pytest.mark.parametrize("seed", [1, 2])
def test_mirror_equals_views_at_random_blocks_of_a_random_history(
    localnet: Localnet, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    history = RandomHistory(localnet, rng)
    history.run(120)
    db = Database(tmp_path / "mirror.sqlite")
    mirror = Mirror(db)
    c = localnet.contracts
    ingestor = Ingestor(
        localnet.rpc,
        db,
        addresses=c.ingest_addresses(),
        contract_of=c.names_by_address(),
        sinks=[mirror],
        start_block=localnet.record.start_block,
        batch_blocks=7,
    )
    result = ingestor.catch_up()
    assert result.cursor == localnet.head()
    blocks = sorted(set([*rng.sample(history.blocks, min(12, len(history.blocks))), result.cursor]))
    checked = sum(compare_at(localnet, mirror, block) for block in blocks)
    assert checked > 0


def test_random_histories_cover_every_kind_of_state_change(localnet: Localnet) -> None:
    """Over a few seeds the driver takes every action the mirror follows at least once."""
    taken: dict[str, int] = {}
    for seed in range(11, 14):
        history = RandomHistory(localnet, random.Random(seed))
        history.run(120)
        for name, count in history.taken.items():
            taken[name] = taken.get(name, 0) + count
    expected = {
        "register",
        "heartbeat",
        "declare renewable",
        "updatePrice",
        "updateCapacity",
        "addStake",
        "requestExit",
        "suspect",
        "reportFailure",
        "settleNodeFailure",
        "submitTask",
        "topUp",
        "cancel",
        "claimRefund",
        "allocation",
        "move",
        "reassign",
        "commit",
        "complete",
        "settle",
        "payout",
        "pause",
    }
    assert expected <= set(taken), sorted(expected - set(taken))
    # the history exercised the paths the mirror has to follow (the chain's clock is the
    # history's own, so a seed gives the same history every run)
    for action in ("register", "submitTask", "allocation", "commit", "complete", "heartbeat"):
        assert history.taken.get(action, 0) > 0, (action, history.taken)
    print(seed, history.taken)
