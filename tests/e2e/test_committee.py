"""The committee as four real `verai oracle run` processes on Anvil with 1 s blocks: a wallet
task is allocated and mined, the audit passes, faults (kill -9, members down, restarts,
garbage messages) lose no round and double none. One chain and one committee for the module;
the tests run in order and each leaves the committee running for the next."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from oracle.reports import Domain
from oracle.service.messages import Proposal, Signatures, encode
from scripts._processes import wait_until
from tests._localnet import VER, Localnet
from tests.e2e._committee_harness import Committee, make_committee, member_key, stranger_key

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def committee(chain_1s: Localnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Committee]:
    c = make_committee(chain_1s, tmp_path_factory.mktemp("committee"))
    try:
        for m in c.members:
            m.process.start()
        for m in c.members:
            m.process.wait_for_output(r"oracle member started", timeout=60)
        yield c
    finally:
        c.stop_all()


def run_audit(c: Committee, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from oracle.cli import main; main()", "audit", *args,
         "--rpc-url", c.net.url, "--deployment", str(c.net.record_path),
         "--store-folder", str(c.store)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_wallet_task_is_allocated_and_audited(committee: Committee) -> None:
    c = committee
    node = c.register_node(1, capacity=4, price=VER)
    task = c.submit_task(5, units=2, max_price=2 * VER)
    wait_until(lambda: c.assignments_of(task), timeout=60, what=f"task {task} to be allocated")
    created = c.assignments_of(task)
    assert [(a["nodeId"], a["units"], a["pricePerUnitHour"]) for a in created] == [(node, 2, VER)]
    transmits = c.transmit_transactions()
    rounds = {r for r, txs in transmits.items() if any(ok for _, ok in txs)}
    assert c.latest_round() in rounds
    for r in rounds:
        assert sum(ok for _, ok in transmits[r]) == 1, transmits[r]
    result = run_audit(c, str(c.latest_round()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: PASS" in result.stdout
