"""Task specs, the command workload's checkpoint-folder contract, and the heartbeat's arguments
matched by name to the registry's ABI (today's and the energy-carrying one of issue 13)."""

from __future__ import annotations

import base64
import json
import sys
import textwrap
from pathlib import Path

import pytest

from oracle.agent.command_workload import CommandWorkload, pack_folder, unpack_folder
from oracle.agent.errors import AgentError, SpecError
from oracle.agent.heartbeat import HeartbeatCalls, heartbeat_args, heartbeat_inputs
from oracle.agent.run import CheckpointPolicy
from oracle.agent.spec import build_workload, fetch_spec, parse_spec
from oracle.agent.telemetry import Reading
from oracle.agent.workload import WorkloadError
from oracle.chain.abi import load_abi
from oracle.checkpoints import LocalStore
from tests.agent._agents import spec_uri

TRAINER = textwrap.dedent(
    """
    import hashlib, os, pathlib
    folder = pathlib.Path(os.environ["VERAI_CHECKPOINT_DIR"])
    state = folder / "model.bin"
    value = state.read_bytes() if state.exists() else os.environ["VERAI_SHARD"].encode()
    for _ in range(int(os.environ["VERAI_STEPS"])):
        value = hashlib.sha256(value).digest()
    state.write_bytes(value)
    (folder / "logs").mkdir(exist_ok=True)
    done = int(os.environ["VERAI_STEP"]) + int(os.environ["VERAI_STEPS"])
    (folder / "logs" / "step.txt").write_text(str(done))
    assert "VERAI_PASSWORD_FILE" not in os.environ  # the agent's settings never leak
    """
)


def _trainer(tmp_path: Path) -> str:
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    return f"{sys.executable} {script}"


# ------------------------------------------------------------------ specs
def test_spec_from_data_uri_and_from_the_store(tmp_path: Path) -> None:
    inline = fetch_spec(spec_uri(workload="linear-regression", steps=30, features=8), None)  # type: ignore[arg-type]
    assert (inline.workload, inline.steps, inline.params["features"]) == (
        "linear-regression",
        30,
        8,
    )
    raw = json.dumps({"workload": "command", "command": "train", "steps": 5}).encode()
    b64 = "data:application/json;base64," + base64.b64encode(raw).decode()
    assert fetch_spec(b64, None).command == "train"  # type: ignore[arg-type]
    store = LocalStore(tmp_path / "store")
    cid = store.put(raw)
    assert fetch_spec(f"ipfs://{cid}", store).steps == 5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "spec is not JSON"),
        (b'{"workload": "mine-bitcoin", "steps": 1}', "workload 'mine-bitcoin' is not one of"),
        (b'{"workload": "linear-regression", "steps": 0}', "steps must be an integer from 1"),
        (b'{"workload": "linear-regression", "steps": 5, "gpu": 1}', "unknown fields: gpu"),
        (b'{"workload": "command", "steps": 5}', 'needs "command"'),
    ],
)
def test_bad_specs_are_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(raw)


def test_spec_uri_that_is_neither_ipfs_nor_data_is_refused() -> None:
    with pytest.raises(SpecError, match="expected ipfs://<CID> or data:application/json"):
        fetch_spec("https://example.invalid/spec.json", LocalStore("/tmp/unused-store"))


def test_a_task_cannot_run_a_command_the_contributor_did_not_allow(tmp_path: Path) -> None:
    spec = parse_spec(b'{"workload": "command", "command": "rm-rf", "steps": 1}')
    with pytest.raises(SpecError, match="command 'rm-rf', which this node does not allow"):
        build_workload(
            spec, task_id=1, root_assignment=1, commands={"train": "x"}, scratch=tmp_path
        )


# ------------------------------------------------------------------ command workload
def test_command_workload_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    spec = parse_spec(b'{"workload": "command", "command": "train", "steps": 12}')
    commands = {"train": _trainer(tmp_path)}

    def workload(name: str) -> CommandWorkload:
        built = build_workload(
            spec, task_id=3, root_assignment=7, commands=commands, scratch=tmp_path / name
        )
        assert isinstance(built, CommandWorkload)
        return built

    straight = workload("a")
    whole = straight.run(straight.initial_state(), 12)
    first = workload("b")
    halfway = first.run(first.initial_state(), 5)
    other_machine = workload("c")  # another node resumes from the checkpoint bytes alone
    resumed = other_machine.run(other_machine.run(halfway, 4), 3)
    assert resumed == whole and other_machine.step_of(resumed) == 12
    out = tmp_path / "unpacked"
    out.mkdir()
    unpack_folder(whole[8:], out)
    assert (out / "logs" / "step.txt").read_text() == "12" and len(
        (out / "model.bin").read_bytes()
    ) == 32


def test_command_workload_failure_is_a_workload_error(tmp_path: Path) -> None:
    failing = CommandWorkload(
        [sys.executable, "-c", "import sys; sys.exit('out of memory')"], tmp_path
    )
    with pytest.raises(WorkloadError, match="exited 1 at step 0: out of memory"):
        failing.run(failing.initial_state(), 1)


def test_packed_folder_is_deterministic_and_refuses_escapes(tmp_path: Path) -> None:
    for name in ("one", "two"):
        folder = tmp_path / name
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "b.bin").write_bytes(b"b")
        (folder / "a.txt").write_text("a")
    assert pack_folder(tmp_path / "one") == pack_folder(tmp_path / "two")
    evil = pack_folder(tmp_path / "one").replace(b"a.txt", b"../xx")
    with pytest.raises(WorkloadError, match="outside the folder"):
        unpack_folder(evil, tmp_path / "target")


# ------------------------------------------------------------------ checkpoint policy
def test_checkpoints_fall_on_the_same_steps_wherever_a_run_resumed() -> None:
    policy = CheckpointPolicy(steps=10, seconds=None)
    assert policy.steps_to_boundary(0) == 10 and policy.steps_to_boundary(27) == 3
    assert policy.due(30, 20, 0.0) and not policy.due(30, 30, 0.0) and not policy.due(29, 20, 99)
    timed = CheckpointPolicy(steps=None, seconds=5.0)
    assert timed.due(3, 0, 5.0) and not timed.due(3, 0, 4.9) and timed.steps_to_boundary(3) is None


# ------------------------------------------------------------------ heartbeat arguments
class _Registry:
    def __init__(self, abi: list[dict[str, object]]) -> None:
        self.abi = abi


def _heartbeat(*inputs: tuple[str, str]) -> list[dict[str, object]]:
    return [
        {
            "type": "function",
            "name": "heartbeat",
            "inputs": [{"name": n, "type": t} for n, t in inputs],
        }
    ]


def test_heartbeat_args_follow_the_committed_abi() -> None:
    inputs = heartbeat_inputs(_Registry(load_abi("NodeRegistry")))
    reading = Reading(load_bps=4200, watts=310, energy_j=99, source="rapl", measured=True)
    args = heartbeat_args(inputs, 5, reading)
    names = [i["name"] for i in inputs]
    assert args[0] == 5 and args[names.index("loadBps")] == 4200
    assert args[names.index("watts")] == 310


def test_heartbeat_args_fill_energy_fields_by_name() -> None:
    inputs = heartbeat_inputs(
        _Registry(
            _heartbeat(
                ("nodeId", "uint256"),
                ("loadBps", "uint256"),
                ("watts", "uint256"),
                ("energyCounter", "uint256"),
                ("measured", "bool"),
            )
        )
    )
    measured = Reading(load_bps=1, watts=2, energy_j=3, source="nvml", measured=True)
    estimated = Reading(load_bps=1, watts=2, energy_j=None, source="estimate", measured=False)
    assert heartbeat_args(inputs, 9, measured) == [9, 1, 2, 3, True]
    assert heartbeat_args(inputs, 9, estimated) == [9, 1, 2, 0, False]
    with pytest.raises(AgentError, match="takes mood \\(uint8\\), which this agent cannot fill"):
        heartbeat_args(heartbeat_inputs(_Registry(_heartbeat(("mood", "uint8")))), 1, measured)


class _Overloads(_Registry):
    def get_function_by_signature(self, signature: str) -> object:
        return lambda *args: (signature, list(args))


def test_heartbeat_calls_send_the_counter_only_when_the_reading_has_one() -> None:
    calls = HeartbeatCalls(_Overloads(load_abi("NodeRegistry")))
    assert calls.counter_signature == "heartbeat(uint256,uint256,uint256,uint256)"
    assert calls.plain_signature == "heartbeat(uint256,uint256,uint256)"
    rapl = Reading(load_bps=4200, watts=310, energy_j=99, source="rapl", measured=True)
    assert calls.call(5, rapl, counter=True) == (
        ("heartbeat(uint256,uint256,uint256,uint256)", [5, 4200, 310, 99]),
        True,
    )
    # asked to leave it out (a new baseline), no counter yet (0 J), or none at all: 3 arguments
    zero = Reading(load_bps=1, watts=2, energy_j=0, source="rapl", measured=True)
    estimate = Reading(load_bps=1, watts=2, energy_j=None, source="estimate", measured=False)
    for reading, wanted in ((rapl, False), (zero, True), (estimate, True)):
        call, sent = calls.call(5, reading, counter=wanted)
        assert not sent and call[0] == "heartbeat(uint256,uint256,uint256)"
    # a registry with the counter overload only takes 0 as "no counter"
    only = HeartbeatCalls(
        _Overloads(
            _heartbeat(
                ("nodeId", "uint256"), ("loadBps", "uint256"), ("watts", "uint256"),
                ("energyJ", "uint256"),
            )
        )
    )  # fmt: skip
    assert only.call(1, estimate, counter=True)[0][1] == [1, 1, 2, 0]


def test_finished_heartbeat_rows_are_pruned_pending_ones_kept(tmp_path: Path) -> None:
    from oracle.agent.state import AgentState
    from oracle.chain.tx import SCHEMA
    from oracle.store import Database

    db = Database(tmp_path / "agent.sqlite")
    db.migrate("tx", SCHEMA)
    state = AgentState(db)
    rows = [
        ("hb-old", "heartbeat", "mined", 100.0),
        ("hb-pending", "heartbeat", "pending", 100.0),
        ("hb-new", "heartbeat", "mined", 900.0),
        ("commit:1:10", "commit", "mined", 100.0),
    ]
    with db.transaction() as conn:
        for key, purpose, tx_state, created in rows:
            conn.execute(
                "INSERT INTO transactions(key, purpose, sender, nonce, to_address, data, value, "
                "gas, max_fee, priority_fee, hashes, raw, state, created_at, sent_at) "
                "VALUES (?,?,'0x',0,'0x','0x','0',0,'0','0','[]','0x',?,?,?)",
                (key, purpose, tx_state, created, created),
            )
    assert state.prune_heartbeats(older_than=500.0) == 1
    kept = {row[0] for row in db.execute("SELECT key FROM transactions")}
    assert kept == {"hb-pending", "hb-new", "commit:1:10"}


def test_heartbeat_energy_fields_follow_their_unit_and_width() -> None:
    reading = Reading(load_bps=1, watts=2, energy_j=7_200, source="rapl", measured=True)
    inputs = heartbeat_inputs(
        _Registry(
            _heartbeat(
                ("nodeId", "uint256"),
                ("energyWh", "uint64"),
                ("energyMilliJoules", "uint256"),
                ("energyCounterJ", "uint8"),
                ("estimated", "bool"),
            )
        )
    )
    assert heartbeat_args(inputs, 1, reading) == [1, 2, 7_200_000, 255, False]
