"""A command workload through a real agent process: the contributor allows a trainer command in
the agent's TOML settings, a task names it, the agent runs it chunk by chunk with the
checkpoint-folder contract, commits and completes; the result equals one uninterrupted run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from oracle.agent.spec import build_workload, parse_spec
from oracle.checkpoints import LocalStore
from oracle.reports import AllocationEntry
from tests._localnet import Localnet
from tests.agent._agents import allocate, checkpoint_events, final_bytes, node_price, submit_task
from tests.agent.conftest import MakeAgent
from tests.agent.test_workloads import TRAINER

pytestmark = pytest.mark.e2e


def test_agent_runs_an_allowed_command_workload(
    localnet: Localnet, agents: MakeAgent, tmp_path: Path
) -> None:
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    commands = {"train": f"{sys.executable} {script}"}
    agent = agents(3, commands=commands, checkpoint_steps=8).mint().start()
    node = agent.wait_registered()
    raw = b'{"command": "train", "steps": 20, "workload": "command"}'
    uri = "data:application/json," + raw.decode()
    task = submit_task(localnet, 7, uri)
    allocate(localnet, [AllocationEntry(task, node, 1, node_price(localnet, node))])
    agent.wait_for(r"assignment 1 completed at step 20", timeout=90)
    steps = [e["step"] for e in checkpoint_events(localnet) if e["assignment"] == 1]
    assert steps[:-1] == [8, 16]
    reference = build_workload(
        parse_spec(raw), task_id=task, root_assignment=1, commands=commands, scratch=tmp_path / "r"
    )
    expected = reference.run(reference.initial_state(), 20)
    assert final_bytes(localnet, LocalStore(agent.home / "work" / "checkpoints"), 1) == expected
