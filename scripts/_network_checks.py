"""What must hold after any story, read from the chain and the stores alone:

* **no round transmitted twice**: one `transmit` transaction per report round, and it succeeded
  (a second one, even reverted, means two members sent the same round);
* **no step paid that has no checkpoint**: every closed assignment earned exactly
  units x price x (paid until - start) / 3600, and "paid until" is its start (nothing) or the
  time of one of its own checkpoints (or its task's end, when the checkpoint came after it);
* **escrow and stake conservation**: VER held by the registry = stakes + compensation, by the
  market = escrow + earnings + compensation;
* **nothing lost**: every checkpoint CID committed on chain is in the checkpoint store (and
  re-hashes), every completed part of a task ends with the bytes of an uninterrupted run;
* **every round auditable**: `verai audit --all` passes each service round.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.agent.spec import build_workload, fetch_spec
from oracle.checkpoints import CheckpointError, CheckpointStore, cid_for
from oracle.cid import cid_from_bytes
from oracle.units import format_ver
from scripts._network_chain import LocalChain
from scripts._network_developer import Cli, audit_all


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    lost: int = 0  # items of data lost (checkpoints missing, models that differ)
    figures: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def transmissions(chain: LocalChain) -> dict[int, list[tuple[str, bool]]]:
    """Report round -> [(tx hash, succeeded)] of every transmit sent to the verifier."""
    verifier = chain.contracts.verifier
    address = str(verifier.address).lower()
    found: dict[int, list[tuple[str, bool]]] = {}
    numbers = range(chain.record.start_block, chain.head() + 1)
    calls = [("eth_getBlockByNumber", [hex(n), True]) for n in numbers]
    sent = []
    for start in range(0, len(calls), 100):
        for block in chain.rpc.batch(calls[start : start + 100]):
            for tx in block["transactions"]:
                if (tx.get("to") or "").lower() != address:
                    continue
                try:
                    _, params = verifier.decode_function_input(tx["input"])
                except ValueError:
                    continue
                sent.append((int(params["report"]["round"]), tx["hash"]))
    receipts = chain.rpc.batch([("eth_getTransactionReceipt", [h]) for _, h in sent])
    for (round_, tx_hash), receipt in zip(sent, receipts, strict=True):
        found.setdefault(round_, []).append((tx_hash, receipt["status"] == "0x1"))
    return found


def one_transmission_per_round(chain: LocalChain) -> Check:
    sent = transmissions(chain)
    latest = int(chain.contracts.verifier.functions.latestRound().call()[0])
    doubled = {r: txs for r, txs in sent.items() if len(txs) != 1 or not txs[0][1]}
    missing = [r for r in range(1, latest + 1) if r not in sent]
    ok = not doubled and not missing
    detail = f"{latest} round(s), each sent once and accepted"
    if not ok:
        detail = f"sent more than once or reverted: {doubled}; never sent: {missing}"
    return Check("no round transmitted twice", ok, detail, figures={"rounds": latest})


def paid_only_checkpointed(chain: LocalChain) -> Check:
    first = chain.record.start_block
    committed: dict[int, set[int]] = {}  # assignment -> blocks of its checkpoints
    for e in chain.events("CheckpointRegistry", "CheckpointCommitted", first):
        committed.setdefault(int(e.args["assignmentId"]), set()).add(e.block_number)
    numbers = sorted({b for blocks in committed.values() for b in blocks})
    stamps = dict(zip(numbers, _timestamps(chain, numbers), strict=True))
    ends = {int(e.args["taskId"]): int(e.args["expiresAt"])
            for name in ("TaskSubmitted", "TaskToppedUp")
            for e in chain.events("TaskMarket", name, first)}  # fmt: skip
    for e in chain.events("TaskMarket", "TaskCancelled", first):  # the task ends right then
        ends[int(e.args["taskId"])] = chain.timestamp(e.block_number)
    closed = chain.events("TaskMarket", "AssignmentClosed", first)
    wrong, paid = [], 0
    for e in closed:
        assignment, until = int(e.args["assignmentId"]), int(e.args["paidUntil"])
        view = chain.assignment(assignment)
        start = int(view["startAt"])
        checkpoints = {stamps[b] for b in committed.get(assignment, set())}
        covered = (
            until == start
            or until in checkpoints
            or (until == ends.get(int(e.args["taskId"])) and any(t >= until for t in checkpoints))
        )
        owed = int(view["units"]) * int(view["pricePerUnitHour"]) * (until - start) // 3600
        if not covered or int(e.args["earned"]) != owed:
            wrong.append(f"assignment {assignment} earned {e.args['earned']} until {until}")
        paid += int(e.args["earned"])
    detail = (
        f"{len(closed)} closed assignment(s) paid {format_ver(paid)} VER, each up to its start "
        "or one of its own checkpoints"
    )
    return Check("no step paid that has no checkpoint", not wrong, "; ".join(wrong) or detail)


def _timestamps(chain: LocalChain, numbers: list[int]) -> list[int]:
    calls = [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
    out = []
    for start in range(0, len(calls), 100):
        out += [int(b["timestamp"], 16) for b in chain.rpc.batch(calls[start : start + 100])]
    return out


def conservation(chain: LocalChain) -> Check:
    i = chain.identities()
    ok = i.registry_ok and i.market_ok
    detail = (
        f"at block {i.block}: registry holds {format_ver(i.registry_balance)} VER = stakes "
        f"{format_ver(i.stakes)} + compensation {format_ver(i.registry_compensation)}"
        f"{'' if i.registry_ok else ' (MISMATCH)'}; market holds {format_ver(i.market_balance)}"
        f" VER = escrow {format_ver(i.escrow)} + earnings {format_ver(i.earnings)} + "
        f"compensation {format_ver(i.market_compensation)}{'' if i.market_ok else ' (MISMATCH)'}"
    )
    return Check("escrow and stake conservation", ok, detail, lost=0 if ok else 1)


def checkpoints_in_store(chain: LocalChain, store: CheckpointStore) -> Check:
    events = chain.events("CheckpointRegistry", "CheckpointCommitted", chain.record.start_block)
    missing = []
    for e in events:
        cid = cid_from_bytes(bytes(e.args["cid"]))
        try:
            store.get(cid)  # re-hashed by the store
        except CheckpointError as exc:
            missing.append(f"{cid} (assignment {e.args['assignmentId']}): {exc}")
    ok = not missing
    detail = (
        f"all {len(events)} committed checkpoint(s) are in the store and re-hash to their CID"
        if ok
        else "; ".join(missing)
    )
    return Check("every checkpoint retrievable", ok, detail, lost=len(missing))


@dataclass(frozen=True)
class FinalModel:
    task: int
    assignment: int
    root: int
    cid: str
    expected: str

    @property
    def same(self) -> bool:
        return self.cid == self.expected


def final_models(
    chain: LocalChain, store: CheckpointStore, known: dict[int, FinalModel] | None = None
) -> list[FinalModel]:
    """Each completed assignment's final CID next to the CID of an uninterrupted run of the
    same part of the same task (computed here with the same workload library); `known` keeps
    the ones computed before (by assignment) and gets the new ones."""
    first = chain.record.start_block
    known = {} if known is None else known
    specs = {int(e.args["taskId"]): str(e.args["specURI"])
             for e in chain.events("TaskMarket", "TaskSubmitted", first)}  # fmt: skip
    finals = {int(e.args["assignmentId"]): cid_from_bytes(bytes(e.args["cid"]))
              for e in chain.events("CheckpointRegistry", "CheckpointCommitted", first)
              if e.args["isFinal"]}  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        for assignment, cid in sorted(finals.items()):
            if assignment in known and known[assignment].cid == cid:
                continue
            task = int(chain.assignment(assignment)["taskId"])
            root = _root(chain, assignment)
            spec = fetch_spec(specs[task], store)
            workload = build_workload(
                spec, task_id=task, root_assignment=root, commands={}, scratch=Path(scratch)
            )
            expected = cid_for(workload.run(workload.initial_state(), spec.steps))
            known[assignment] = FinalModel(task, assignment, root, cid, expected)
    return [known[a] for a in sorted(finals)]


def _root(chain: LocalChain, assignment: int) -> int:
    """The first assignment of the checkpoint chain `assignment` continues."""
    current = assignment
    while previous := int(chain.assignment(current)["resumesFrom"]):
        current = previous
    return current


def models_match(models: list[FinalModel]) -> Check:
    different = [m for m in models if not m.same]
    detail = (
        f"{len(models)} final model(s) byte-identical to uninterrupted runs"
        if not different
        else "; ".join(f"assignment {m.assignment}: {m.cid} != {m.expected}" for m in different)
    )
    return Check("final models equal uninterrupted runs", not different, detail, len(different))


def audited(
    cli: Cli, chain: LocalChain, store_flags: list[str], from_block: int | None = None
) -> Check:
    result = audit_all(cli, chain, store_flags, from_block)
    verdicts = re.findall(r"verdict: (PASS|FAIL)", result.stdout)
    passed = verdicts.count("PASS")
    ok = result.returncode == 0 and "FAIL" not in verdicts
    if ok:
        detail = f"verai audit --all: {passed} of {len(verdicts)} service round(s) pass"
    else:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        detail = f"verai audit --all exited {result.returncode}: " + " | ".join(tail)
    return Check("every round auditable", ok, detail, figures={"audited": passed})


def all_checks(
    chain: LocalChain,
    store: CheckpointStore,
    cli: Cli,
    store_flags: list[str],
    *,
    audit_from: int | None = None,
    models: dict[int, FinalModel] | None = None,
) -> list[Check]:
    """Every check above, in the order the demo prints them (the audit of the rounds from
    block `audit_from`, default all; `models` caches the final models already computed)."""
    return [
        one_transmission_per_round(chain),
        paid_only_checkpointed(chain),
        conservation(chain),
        checkpoints_in_store(chain, store),
        models_match(final_models(chain, store, models)),
        audited(cli, chain, store_flags, audit_from),
    ]
