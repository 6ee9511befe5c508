"""The GasTable bounds hold against real receipts: the service's reports, mined on a real
chain, never use more gas than the cut charged for them, so a round cut to a gas cap always
fits it (the cut never asks the node: eth_estimateGas is not deterministic across members)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle.service.inputs import GasTable
from oracle.service.solve import tries
from tests._localnet import Localnet, start_localnet
from tests.service._network import NodeSpec, RoundRun, TaskSpec
from tests.service._report_gas import LONG, PRICE, WATT_LIMIT, GasLab, bound

CAP = 3_000_000
THRESHOLD = 3


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    net = start_localnet(tmp_path_factory.mktemp("gas-chain"))
    try:
        yield net
    finally:
        net.anvil.stop()


def charged(gas: GasTable, run: RoundRun) -> list[int]:
    return [
        gas.report_gas(
            THRESHOLD,
            len(r.allocations),
            len(r.moves),
            [(len(e.candidates), tries(e)) for e in r.reassignments],
        )
        for r in run.reports
    ]


def test_a_round_cut_to_a_small_gas_cap_fits_it_report_by_report(
    chain: Localnet, tmp_path: Path
) -> None:
    """Allocations, moves and VRF reassignments in one round, cut to 3,000,000 gas: every report
    (the chain's very first one among them) uses at most what the cut charged, and so fits."""
    lab = GasLab(chain, tmp_path / "cut", gas_cap=CAP)
    gas = lab.rounds.gas
    moving_class, fresh_class = lab.new_classes(2)
    failing_classes = lab.new_classes(6)
    sources = lab.pop.register_nodes([NodeSpec(1, PRICE, moving_class) for _ in range(20)])
    failing = lab.pop.register_nodes([NodeSpec(1, PRICE, k) for k in failing_classes])
    lab.pop.submit_tasks([TaskSpec(1, PRICE, moving_class, LONG) for _ in sources])
    lab.pop.submit_tasks([TaskSpec(1, PRICE, k, LONG) for k in failing_classes])
    alive = lab.pop.register_nodes(
        [NodeSpec(2, PRICE, k) for k in failing_classes for _ in "12345"]
    )
    first = lab.rounds.run()
    assert len(first.solution.allocation.entries) == 26 and not first.skipped
    lab.fail(failing, alive)
    lab.pop.register_nodes([NodeSpec(1, PRICE, moving_class) for _ in sources])
    lab.pop.heartbeat(sources, watts=WATT_LIMIT * 3)  # Throttled: their work moves
    lab.pop.register_nodes([NodeSpec(1, PRICE, fresh_class) for _ in range(40)])
    lab.pop.submit_tasks([TaskSpec(1, PRICE, fresh_class, LONG) for _ in range(40)])
    second = lab.rounds.run()
    s = second.solution
    assert (len(s.reassignments), len(s.moves), len(s.allocation.entries)) == (6, 20, 40)
    assert len(second.reports) >= 3 and not second.skipped
    for run in (first, second):
        for used, limit in zip(run.gas, charged(gas, run), strict=True):
            assert used <= limit <= CAP, (used, limit)


@pytest.mark.parametrize(
    ("kind", "entries", "candidates"),
    [("allocation", 12, 0), ("move", 12, 0), ("reassignment", 4, 8), ("reassignment", 1, 32)],
)
def test_each_kind_of_entry_stays_within_its_bound_in_its_worst_case(
    chain: Localnet, tmp_path: Path, kind: str, entries: int, candidates: int
) -> None:
    lab = GasLab(chain, tmp_path / kind)
    if kind == "allocation":
        measured = lab.allocations(entries)
    elif kind == "move":
        measured = lab.moves(entries)
    else:
        measured = lab.reassignments(entries, candidates)
    limit = bound(lab.rounds.gas, measured)
    assert measured.gas <= limit, (measured.gas, limit)
    assert measured.gas >= limit * 0.6, "the bound is far above what the chain uses"
