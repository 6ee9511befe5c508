"""Faults of the chain under the whole network: every oracle member and node agent reaches Anvil
only through the fault-injecting RPC proxy (tools/faulty_rpc.py). A reorg of depth 3 right
after a committee round landed (the blocks replaced by siblings carrying the same
transactions, as a reorg that re-mines its transactions does), then 10 % of the requests
answered HTTP 500 with every request delayed 500 ms. Each scenario ends with the suite's
invariants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pytest

from oracle.agent.settings import AgentSettings
from scripts._processes import ProcessError, wait_until
from tests.e2e._network import GPU_OFFERS, Network, Scenario, start_network

pytestmark = pytest.mark.e2e
REORG_DEPTH = 3


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    net = start_network(
        tmp_path_factory.mktemp("network-chain"), GPU_OFFERS[:2], through_proxy=True
    )
    try:
        yield net
    finally:
        net.stop()


def wait_ingested(net: Network, head: int, depth: int, timeout: float = 30) -> None:
    """Waits (mining paused at `head`) until every member and agent ingested all it will of the
    chain: a member up to head - its confirmations, an agent up to head - its own. Each cursor
    block is then one of the `depth` blocks the reorg replaces and no batch is in flight, so
    every process's next poll finds its cursor block's hash gone: a reorg, never new blocks."""
    agent_default = AgentSettings.model_fields["confirmations"].default
    cursors: list[tuple[str, Callable[[], float], int]] = [
        (m.name, partial(m.metric, "verai_oracle_cursor_block"),
         head - int(str(m.settings["confirmations"])))
        for m in net.committee.members
    ] + [
        (a.name, partial(a.metric, "verai_agent_cursor_block"),
         head - int(str(a.settings.get("confirmations", agent_default))))
        for a in net.nodes
    ]  # fmt: skip
    for name, _, target in cursors:
        assert target > head - depth, f"{name} ingests too far behind head for a reorg of {depth}"
    behind: list[str] = []

    def ingested() -> bool:
        behind.clear()
        for name, read, target in cursors:
            cursor = int(read())
            if cursor < target:
                behind.append(f"{name} at block {cursor} of {target}")
        return not behind

    try:
        wait_until(
            ingested, timeout=timeout,
            what=f"every member and agent to ingest the blocks up to {head} before the reorg",
        )  # fmt: skip
    except ProcessError as exc:
        raise ProcessError(f"{exc}; still behind: {', '.join(behind)}") from None


def reorg(net: Network, depth: int) -> list[str]:
    """Replaces the last `depth` blocks by siblings holding the same transactions (new block
    hashes, new timestamps), once every member and agent read them; returns the hashes of the
    transactions moved."""
    chain = net.chain
    chain.pause_mining()
    try:
        head = chain.head()
        wait_ingested(net, head, depth)
        moved, pairs = [], []
        for offset, number in enumerate(range(head - depth + 1, head + 1)):
            block = chain.request("eth_getBlockByNumber", hex(number), False)
            for tx_hash in block["transactions"]:
                pairs.append([chain.request("eth_getRawTransactionByHash", tx_hash), offset])
                moved.append(tx_hash)
        before = [chain.request("eth_getBlockByNumber", hex(n), False)["hash"]
                  for n in range(head - depth + 1, head + 1)]  # fmt: skip
        chain.request("anvil_reorg", depth, pairs)
        after = [chain.request("eth_getBlockByNumber", hex(n), False)["hash"]
                 for n in range(head - depth + 1, head + 1)]  # fmt: skip
        assert not set(before) & set(after)
    finally:
        chain.resume_mining()
    return moved


def test_reorg_of_depth_3_under_the_oracles_and_agents(
    network: Network, scenario: Scenario
) -> None:
    net = network
    task = net.submit(steps=60)
    allocated = net.wait_allocated(task)
    net.chain.wait_block(allocated.block_number + REORG_DEPTH - 1)
    moved = reorg(net, REORG_DEPTH)  # the allocation's block may be one of them
    scenario.inject(f"reorg of depth {REORG_DEPTH}")
    scenario.detail["transactions re-mined"] = len(moved)
    members = net.committee.members
    wait_until(
        lambda: all(m.metric("verai_oracle_reorgs_total") >= 1 for m in members),
        timeout=60, what="every member to detect the reorg",
    )  # fmt: skip
    for agent in net.nodes:
        agent.wait_for(r"reorg: rewound \d+ block", timeout=60)
    net.wait_completed(task)
    net.assert_invariants(scenario)


def test_rpc_errors_and_delays_under_every_process(network: Network, scenario: Scenario) -> None:
    """10 % of every member's and agent's requests answered HTTP 500, all delayed 500 ms."""
    net = network
    assert net.proxy is not None
    before = net.proxy.faults()
    net.proxy.set(error_rate=0.10, delay_ms=500)
    try:
        tasks = [net.submit(steps=40), net.submit(steps=40)]
        for task in tasks:
            net.wait_completed(task, timeout=300)
        injected = net.proxy.faults()
    finally:
        net.proxy.set()
    errors = int(injected["errors"] - before["errors"]) + int(injected["drops"] - before["drops"])
    scenario.inject("RPC HTTP 500", errors)
    scenario.detail["requests delayed 500 ms"] = int(injected["delayed"] - before["delayed"])
    assert errors > 0
    assert all(m.alive() for m in net.committee.members) and len(net.nodes.alive()) == 2
    net.assert_invariants(scenario)
