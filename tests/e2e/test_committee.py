"""The committee as four real `verai oracle run` processes on Anvil with 1 s blocks: a wallet
task is allocated and mined, the audit passes, faults (kill -9, members down, restarts, RPC
errors, drops and delays, garbage messages) lose no round and double none, a dry-run member
computes and sends nothing. One chain and one committee for the module, talking to Anvil
through the fault proxy (tools/faulty_rpc.py, injecting nothing unless a test asks); the tests
run in order and each leaves the committee running for the next."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from oracle.reports import Domain
from oracle.service.messages import Proposal, Signatures, encode
from scripts._processes import wait_until
from tests._localnet import VER, Localnet
from tests.e2e._committee_harness import (
    Committee,
    FaultProxy,
    make_committee,
    start_proxy,
    stranger_key,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def proxy(chain_1s: Localnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    p = start_proxy(chain_1s.url, tmp_path_factory.mktemp("proxy") / "faulty-rpc.log")
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def committee(
    chain_1s: Localnet, proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Committee]:
    # stage delay 10 s, leader timeout 8 s: with 500 ms RPC delays a transmission takes ~4 s
    c = make_committee(
        chain_1s, tmp_path_factory.mktemp("committee"), rpc_url=proxy.url, transmit_delay=3,
        stage_delay=10, leader_timeout=8,
    )  # fmt: skip
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
    node = c.register_node(1, capacity=32, price=VER)
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


def _order(c: Committee, round_: int) -> list[str]:
    from oracle.service.pacemaker import transmission_order

    digest = c.net.config_digest()
    members = [m.address for m in c.members]
    return transmission_order(digest, round_, members)


def _signed(m, round_: int) -> bool:  # type: ignore[no-untyped-def]
    return any(
        line.get("msg") in ("signed", "attested report held") and line.get("round") == round_
        for line in m.log_lines()
    )


def _exactly_one_transmit_per_round(c: Committee) -> dict[int, list[tuple[str, bool]]]:
    transmits = c.transmit_transactions()
    latest = c.latest_round()
    assert sorted(transmits) == list(range(1, latest + 1)), transmits  # no round lost
    for r, txs in transmits.items():
        assert [ok for _, ok in txs] == [True], (r, txs)  # none doubled, none reverted
    return transmits


def test_kill9_first_transmitter_after_signing(committee: Committee) -> None:
    c = committee
    round_ = c.latest_round() + 1
    first = c.by_address(_order(c, round_)[0])
    task = c.submit_task(5, units=1, max_price=2 * VER)
    wait_until(lambda: _signed(first, round_), timeout=60, what=f"{first.process.name} to sign")
    first.process.kill9()
    wait_until(lambda: c.assignments_of(task), timeout=60, what=f"task {task} to be allocated")
    transmits = _exactly_one_transmit_per_round(c)
    assert len(transmits[round_]) == 1
    first.start()


def test_one_down_then_two_down_then_resume(committee: Committee) -> None:
    c = committee
    down1, down2 = c.members[0], c.members[1]
    down1.process.stop()
    task = c.submit_task(5, units=1, max_price=2 * VER)
    wait_until(lambda: c.assignments_of(task), timeout=60, what="allocation with 3 of 4")
    before = c.latest_round()
    down2.process.stop()
    task = c.submit_task(5, units=1, max_price=2 * VER)
    # two of four: no quorum. Wait until the survivors have tried several leaders.
    survivors = [m for m in c.members if m not in (down1, down2)]
    wait_until(
        lambda: all(m.metric("verai_oracle_rounds_total", result="leader_timeout") >= 3
                    for m in survivors),
        timeout=90, what="the survivors to time out three leaders",
    )  # fmt: skip
    assert c.latest_round() == before and not c.assignments_of(task)
    assert all(m.process.alive() for m in survivors)
    down2.start()
    wait_until(lambda: c.assignments_of(task), timeout=90, what="allocation once 3 are back")
    down1.start()
    _exactly_one_transmit_per_round(c)


def test_all_four_restarted_mid_round(committee: Committee) -> None:
    c = committee
    round_ = c.latest_round() + 1
    task = c.submit_task(5, units=1, max_price=2 * VER)
    wait_until(lambda: any(_signed(m, round_) for m in c.members), timeout=60,
               what="a member to sign")  # fmt: skip
    for m in c.members:
        m.process.kill9()
    for m in c.members:
        m.start()
    wait_until(lambda: c.assignments_of(task), timeout=90, what="allocation after the restart")
    assert len(c.assignments_of(task)) == 1
    _exactly_one_transmit_per_round(c)


def test_rpc_errors_drops_and_delays_lose_no_round(committee: Committee, proxy: FaultProxy) -> None:
    """10 % of the members' RPC requests answered HTTP 500, 5 % dropped unanswered, every one
    delayed 500 ms: tasks are still allocated, every round lands exactly once."""
    c = committee
    before, first_round = proxy.faults(), c.latest_round() + 1
    rpc_errors = sum(m.metric("verai_oracle_rpc_errors_total") for m in c.members)
    proxy.set(error_rate=0.10, drop_rate=0.05, delay_ms=500)
    try:
        tasks = [c.submit_task(5, units=1, max_price=2 * VER) for _ in range(3)]
        for task in tasks:
            wait_until(lambda t=task: c.assignments_of(t), timeout=180,
                       what=f"task {task} to be allocated through the faulty RPC")  # fmt: skip
        injected = proxy.faults()
    finally:
        proxy.set()
    transmits = _exactly_one_transmit_per_round(c)
    assert all(len(c.assignments_of(t)) == 1 for t in tasks)  # each allocated once
    window = range(first_round, c.latest_round() + 1)
    figures = {
        "errors_injected": injected["errors"] - before["errors"],
        "drops_injected": injected["drops"] - before["drops"],
        "requests_delayed": injected["delayed"] - before["delayed"],
        "requests_forwarded": injected["forwarded"] - before["forwarded"],
        "rounds_completed": len(window),
        "transmissions_per_round": {r: len(transmits[r]) for r in window},
        "member_rpc_errors_counted": sum(
            m.metric("verai_oracle_rpc_errors_total") for m in c.members
        ) - rpc_errors,
    }  # fmt: skip
    (c.folder / "rpc-faults.json").write_text(json.dumps(figures, indent=1))
    assert figures["errors_injected"] > 0 and figures["drops_injected"] > 0, figures
    assert figures["member_rpc_errors_counted"] > 0, figures
    assert figures["rounds_completed"] >= 1
    assert all(m.process.alive() for m in c.members)


def test_dry_run_member_computes_and_logs_the_round_but_sends_nothing(committee: Committee) -> None:
    """The next round's first leader restarts with --dry-run: it computes the round and logs
    the proposal it would have made, signs and sends nothing (its nonce stays, no message from
    it), and the round still completes with the next leader."""
    c = committee
    dry = c.leader(attempt=0)
    address = dry.address
    nonce = int(c.net.rpc.request("eth_getTransactionCount", [address, "latest"]), 16)
    dry.process.stop()
    round_ = c.latest_round() + 1
    dry.start(dry_run="true")
    try:
        wait_until(lambda: "dry_run" in dry.process.output(), timeout=30, what="the dry-run start")
        task = c.submit_task(5, units=1, max_price=2 * VER)
        wait_until(lambda: c.assignments_of(task), timeout=120,
                   what=f"task {task} allocated while the first leader runs dry")  # fmt: skip
        wait_until(lambda: _logged(dry, "dry run: would sign", round_), timeout=60,
                   what="the dry-run member to check the next leader's proposal")  # fmt: skip
        lines = dry.log_lines()
    finally:
        dry.process.stop()
        dry.start()
    started = next(line for line in lines if line.get("msg") == "oracle member started")
    assert started["dry_run"] is True and started["member"].lower() == address.lower()
    would = _lines(lines, "dry run: would propose", round_)
    assert would and would[0]["entries"] >= 1 and would[0]["snapshot_block"] > 0, would
    assert _lines(lines, "round computed", round_)
    acts = ("proposal sent", "signed", "transmitting", "attested report held", "keeper ")
    assert not [line for line in lines if str(line.get("msg", "")).startswith(acts)]
    assert int(c.net.rpc.request("eth_getTransactionCount", [address, "latest"]), 16) == nonce
    transmits = _exactly_one_transmit_per_round(c)
    assert round_ in transmits


def _lines(lines: list[dict[str, Any]], message: str, round_: int) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("msg") == message and line.get("round") == round_]


def _logged(m, message: str, round_: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(_lines(m.log_lines(), message, round_))


def test_garbage_replayed_and_non_member_messages_are_rejected(committee: Committee) -> None:
    c = committee
    target = c.members[2]
    url = f"{target.url}/v1/message"

    def post(body: bytes) -> requests.Response:
        return requests.post(url, data=body, headers={"Content-Type": "application/json"},
                             timeout=10)  # fmt: skip

    def rejected(reason: str) -> float:
        return target.metric("verai_oracle_rejected_messages_total", reason=reason)

    counts = {r: rejected(r) for r in ("malformed", "oversized", "non_member", "stale", "replayed")}
    assert post(b"\x00\xffnot json").status_code == 400
    assert post(b'{"type": "proposal", "round": "x"}').status_code == 400
    assert post(b"[" * 3_000_000).status_code == 413
    domain = Domain(c.net.chain_id, c.net.record.contracts["ReportVerifier"])
    digest = c.net.config_digest()
    round_ = c.latest_round() + 1
    stranger = Proposal(digest, round_, 0, 1, b"\x11" * 32, b"\x22" * 32, (b"\x33" * 32,))
    reply = post(encode(stranger.signed(domain, stranger_key())))
    assert reply.status_code == 403 and reply.json()["reason"] == "non_member"
    from eth_account import Account

    from oracle.service.messages import sign_reports  # noqa: F401  (same signing path)

    fake = Account.unsafe_sign_hash(b"\x44" * 32, stranger_key())
    compact = int(fake.r).to_bytes(32, "big") + ((int(fake.v) - 27) << 255 | int(fake.s)).to_bytes(
        32, "big"
    )
    non_member_sigs = Signatures(digest, round_, 0, (b"\x44" * 32,), (compact,))
    assert post(encode(non_member_sigs)).status_code == 403
    old = requests.get(f"{c.members[3].url}/v1/round/1", timeout=10).json()["messages"]
    replay = next(m for m in old if m["type"] == "signatures")
    reply = post(json.dumps(replay).encode())
    assert reply.status_code == 409 and reply.json()["reason"] in ("stale", "replayed")
    assert rejected("malformed") == counts["malformed"] + 2
    assert rejected("oversized") == counts["oversized"] + 1
    assert rejected("non_member") == counts["non_member"] + 2
    assert rejected("stale") + rejected("replayed") == counts["stale"] + counts["replayed"] + 1
    assert all(m.process.alive() for m in c.members)
    health = requests.get(f"http://127.0.0.1:{target.metrics_port}/healthz", timeout=5)
    assert health.status_code == 200


def test_status_command_shows_cursor_round_and_peers(committee: Committee) -> None:
    c = committee
    m = c.members[0]
    peers = [arg for p in c.members[1:] for arg in ("--peer", p.url)]
    result = subprocess.run(
        [sys.executable, "-c", "from oracle.cli import main; main()", "oracle", "status",
         "--db", str(m.db), *peers],
        capture_output=True, text=True, timeout=60, env=m.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"last round      {c.latest_round()}" in result.stdout or "last round" in result.stdout
    assert result.stdout.count("answers: member") == 3, result.stdout
    (c.folder / "status.txt").write_text(result.stdout)


def test_audit_passes_on_every_round_and_fails_on_a_tampered_document(
    committee: Committee, tmp_path: Path
) -> None:
    c = committee
    result = run_audit(c, "--all", "--from-block", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    (c.folder / "audit.txt").write_text(result.stdout)
    import shutil

    tampered = tmp_path / "tampered"
    shutil.copytree(c.store, tampered)
    for document in tampered.iterdir():
        data = json.loads(document.read_bytes())
        data["solution"]["no_new_work"] = [999]
        document.write_bytes(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    bad = subprocess.run(
        [sys.executable, "-c", "from oracle.cli import main; main()", "audit", "1",
         "--rpc-url", c.net.url, "--deployment", str(c.net.record_path),
         "--store-folder", str(tampered)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "verdict: FAIL" in bad.stdout
