"""The energy-aware mode on a real chain: the weight is ReportVerifier.energyWeight() at the
snapshot block (the mirror follows EnergyWeightSet), the nodes' watts come from their last
heartbeats; two members, each with its own mirror, build byte-identical documents and reports;
the round lands and `verai audit`'s check passes on it (mcf re-solved byte for byte, lp on the
same served units and price + energy cost)."""

from __future__ import annotations

from pathlib import Path

from oracle.checkpoints import CheckpointError
from oracle.service.audit import accepted_events, audit_round
from oracle.service.solve import energy_costs
from tests._localnet import VER, Localnet
from tests.service._network import LocalRounds, NodeSpec, TaskSpec
from tests.service._report_gas import LONG, GasLab

WEIGHT = 5 * VER  # VER per kWh


class Documents:
    """The members' document store, in memory (the audit fetches by CID)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, cid: str) -> bytes:
        if cid not in self.data:
            raise CheckpointError(f"{cid} not found")
        return self.data[cid]


def test_energy_aware_round_from_the_chain_is_deterministic_lands_and_audits(
    localnet: Localnet, tmp_path: Path
) -> None:
    net, lab = localnet, GasLab(localnet, tmp_path / "one", gas_cap=10_000_000)
    c = net.contracts
    key = lab.new_class()
    # the cheap node draws 97 W per unit, the dearer one 10 W
    hungry, frugal = lab.pop.register_nodes(
        [NodeSpec(4, VER, key), NodeSpec(4, VER + VER // 5, key)]
    )
    lab.pop.heartbeat([hungry], watts=390)
    lab.pop.heartbeat([frugal], watts=40)
    (task,) = lab.pop.submit_tasks([TaskSpec(4, 3 * VER, key, LONG)])
    other = LocalRounds(net, tmp_path / "two")
    off_block = net.head()
    receipt = net.send(c.verifier.functions.setEnergyWeight(WEIGHT), net.deployer)
    assert receipt["status"] == "0x1"

    one, two = lab.rounds, other
    for member in (one, two):
        member.ingestor.catch_up()
    round_ = net.next_round()
    params = one.compute()[0].parameters
    # before the weight was set: the mode is off, the cheapest node gets the task
    before = one.reader.inputs(round_, off_block, params)
    assert before.energy_weight == 0 and all(n.watts == 0 for n in before.nodes)
    # at the head: the weight and the heartbeats' watts are the inputs
    inputs_one, solution_one, doc_one = one.compute()
    inputs_two, _, doc_two = two.compute()
    assert inputs_two == inputs_one
    assert inputs_one.energy_weight == WEIGHT
    watts = {n.id: n.watts for n in inputs_one.nodes}
    assert (watts[hungry], watts[frugal]) == (390, 40)
    assert energy_costs(inputs_one)[hungry] == 390 * WEIGHT // 4_000  # 0.4875 VER
    assert doc_one.data == doc_two.data  # two mirrors, one document
    assert [r.as_abi() for r in doc_one.reports()] == [r.as_abi() for r in doc_two.reports()]
    assert solution_one.energy == "applied"
    # price 1 + 0.4875 VER against 1.2 + 0.05: the frugal node takes the task, at its price
    assert [(e.task, e.node, e.units, e.price) for e in solution_one.allocation.entries] == [
        (task, frugal, 4, VER + VER // 5)
    ]

    run = one.run()
    assert not run.skipped and run.document.data == doc_one.data
    store = Documents()
    store.data[run.document.cid] = run.document.data
    audit = audit_round(c, store, run.reports[0].round, events=accepted_events(c, 0))
    texts = [text for _, text in audit.checks]
    assert audit.ok, texts
    assert any(t.startswith("mcf: re-solved document is byte-identical") for t in texts)
    assert any(t.startswith("lp: same served units per task (4) and price + energy") for t in texts)

    # back to 0: the next round's inputs say the mode is off again
    net.send(c.verifier.functions.setEnergyWeight(0), net.deployer)
    lab.pop.submit_tasks([TaskSpec(1, 3 * VER, key, LONG)])
    again = one.compute()[0]
    assert again.energy_weight == 0 and "energy_weight" not in again.to_dict()
