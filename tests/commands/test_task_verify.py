"""`verai task verify`: the checkpoint intervals of an assignment re-executed from the chain's
CIDs and a real LocalStore, each compared with what the node committed; a forged commit is found,
a non-deterministic workload is never called wrong, bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from oracle.agent.spec import build_workload, fetch_spec
from oracle.checkpoints import LocalStore
from oracle.cid import cid_bytes_for
from tests.commands.conftest import VER, Cli, Localnet, allocate, heartbeat, task_id_of

DEV, OWNER, GPU = "TEST::1", "TEST::2", "GPU-A100-80G"
SPEC = {"workload": "linear-regression", "steps": 30, "features": 8, "samples": 64}


def _data_uri(spec: dict[str, Any]) -> str:
    return "data:application/json," + quote(json.dumps(spec, separators=(",", ":")))


@pytest.fixture(scope="module")
def world(cli: Cli, net: Localnet) -> dict[str, Any]:
    cli.ok("faucet", DEV, "--ver", "1000")
    cli.ok("faucet", OWNER, "--ver", "500")
    node = cli.json(
        "node", "register", GPU, "--capacity", "8", "--price", "2", "--stake", "150",
        "--account", OWNER, "--yes",
    )["node_id"]  # fmt: skip
    return {"node": node, "owner": net.account(2)}


def _assignment_of(net: Localnet, task_id: int) -> int:
    market = net.contracts.market.functions
    for assignment_id in range(int(market.assignmentCount().call()), 0, -1):
        if market.getAssignment(assignment_id).call()[0] == task_id:
            return assignment_id
    raise AssertionError(f"task {task_id} has no assignment")


def _run_task(
    cli: Cli, net: Localnet, world: dict[str, Any], store: LocalStore, spec: dict[str, Any],
    forge_at: int | None = None,
) -> tuple[int, list[str]]:  # fmt: skip
    """A task of `spec` allocated to the node, which commits its checkpoints at steps 10, 20,
    30 (bytes put into `store`), the one at `forge_at` replaced by forged bytes."""
    uri = _data_uri(spec)
    out = cli.ok(
        "task", "submit", GPU, "2", "--max-price", "2.5", "--duration", "2h", "--spec", uri,
        "--account", DEV, "--yes",
    ).stdout  # fmt: skip
    task_id = task_id_of(out)
    allocate(net, task_id, world["node"], 2, 2 * VER)
    assignment_id = _assignment_of(net, task_id)
    workload = build_workload(
        fetch_spec(uri, store), task_id=task_id, root_assignment=assignment_id, commands={},
        scratch=store.folder / "scratch",
    )  # fmt: skip
    state, cids = workload.initial_state(), []
    for step in (10, 20, 30):
        state = workload.run(state, 10)
        committed = b"forged weights" if step == forge_at else state
        cids.append(store.put(committed))
        net.mine(seconds=600)
        heartbeat(net, world["node"], world["owner"])
        net.send(
            net.contracts.checkpoints.functions.commit(
                assignment_id, step, cid_bytes_for(committed)
            ),
            world["owner"],
        )
    return assignment_id, cids


def test_honest_intervals_are_verified_one_by_one(
    cli: Cli, net: Localnet, world: dict[str, Any], tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "checkpoints")
    assignment_id, cids = _run_task(cli, net, world, store, SPEC)
    folder = str(store.folder)
    report = cli.json("task", "verify", str(assignment_id), "--store-folder", folder, "--json")
    assert report["commits"] == 3 and report["node_id"] == world["node"]
    assert [(i["from_step"], i["to_step"], i["verdict"]) for i in report["intervals"]] == [
        (0, 10, "verified"),
        (10, 20, "verified"),
        (20, 30, "verified"),
    ]
    assert [i["committed_cid"] for i in report["intervals"]] == cids
    text = cli.ok("task", "verify", str(assignment_id), "--store-folder", folder, "--step", "20")
    assert "3 checkpoints committed" in text.stdout
    assert "1 verified, 0 differ, 0 not verified" in text.stdout
    assert "re-executing steps 10 to 20" in text.stderr


def test_a_forged_commit_differs_and_exits_1(
    cli: Cli, net: Localnet, world: dict[str, Any], tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "checkpoints")
    assignment_id, cids = _run_task(cli, net, world, store, {**SPEC, "samples": 32}, forge_at=20)
    result = cli.run("task", "verify", str(assignment_id), "--store-folder", str(store.folder))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "1 verified, 1 differ, 1 not verified" in result.stdout
    report = json.loads(
        cli.run(
            "task", "verify", str(assignment_id), "--store-folder", str(store.folder), "--json"
        ).stdout
    )
    verdicts = {i["to_step"]: i for i in report["intervals"]}
    assert verdicts[10]["verdict"] == "verified"
    # the forged state is not what step 20 computes ...
    assert verdicts[20]["verdict"] == "DIFFERS" and verdicts[20]["committed_cid"] == cids[1]
    assert verdicts[20]["reexecuted_cid"] != cids[1]
    # ... and the interval after it, re-run from the forged bytes, is not a state at all
    assert verdicts[30]["verdict"] == "not verified"
    assert "not a state of this workload" in verdicts[30]["reason"]


def test_missing_checkpoints_and_bad_input_are_one_line(
    cli: Cli, net: Localnet, world: dict[str, Any], tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "checkpoints")
    assignment_id, _ = _run_task(cli, net, world, store, {**SPEC, "features": 4})
    empty = tmp_path / "empty"
    empty.mkdir()
    report = cli.json("task", "verify", str(assignment_id), "--store-folder", str(empty), "--json")
    # the first interval starts from the initial state: re-executed; the others lack inputs
    assert [i["verdict"] for i in report["intervals"]] == [
        "verified",
        "not verified",
        "not verified",
    ]
    assert "unavailable" in report["intervals"][1]["reason"]
    assert cli.refused("task", "verify", "999", "--store-folder", str(store.folder)).startswith(
        "unknown assignment 999: this deployment has assignments 1 to"
    )
    line = cli.refused(
        "task", "verify", str(assignment_id), "--store-folder", str(store.folder), "--step", "15"
    )
    assert line.startswith(f"--step 15: assignment {assignment_id} committed no checkpoint")
    assert "(its commits: 10, 20, 30)" in line
    assert cli.refused(
        "task", "verify", str(assignment_id), "--store-folder", str(tmp_path / "nope")
    ).startswith("--store-folder")
