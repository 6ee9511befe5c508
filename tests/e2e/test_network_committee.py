"""Faults on the committee's side of the whole network (four oracle members, two node agents, a
developer on the wallet CLI; 1 s blocks): kill -9 of the round's first transmitter once it has
signed, two of four members down (no quorum) then back, a peer flooding every member with
garbage. The agents' work goes on through all of it. One network for the module; each scenario
ends with the suite's invariants."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator

import pytest
import requests

from scripts._network_committee import Member
from scripts._processes import wait_until
from tests.e2e._network import GPU_OFFERS, Network, Scenario, start_network

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    net = start_network(tmp_path_factory.mktemp("network-committee"), GPU_OFFERS[:2])
    try:
        yield net
    finally:
        net.stop()


def signed(member: Member, round_: int) -> bool:
    lines = member.log_lines()
    return any(line.get("msg") == "signed" and line.get("round") == round_ for line in lines)


def test_transmitter_killed_after_signing_the_round_lands_once(
    network: Network, scenario: Scenario
) -> None:
    net = network
    round_ = net.latest_round() + 1
    first = net.first_transmitter(round_)
    task = net.submit(steps=40)
    wait_until(
        lambda: signed(first, round_), timeout=60, what=f"{first.name} to sign round {round_}"
    )
    first.kill9()
    scenario.inject("kill -9 oracle")
    net.wait_allocated(task)
    assert net.latest_round() >= round_
    first.start()
    first.wait_started()
    net.wait_completed(task)
    net.assert_invariants(scenario)


def test_two_members_down_then_back_no_quorum_no_round_then_every_round_once(
    network: Network, scenario: Scenario
) -> None:
    net = network
    down = net.committee.members[:2]
    survivors = net.committee.members[2:]
    for member in down:
        member.kill9()
        scenario.inject("kill -9 oracle")
    before = net.latest_round()
    timeouts = {m.name: m.metric("verai_oracle_rounds_total", result="leader_timeout")
                for m in survivors}  # fmt: skip
    task = net.submit(steps=40)
    # two of four cannot reach the threshold of three: the survivors try leader after leader
    wait_until(
        lambda: all(m.metric("verai_oracle_rounds_total", result="leader_timeout")
                    >= timeouts[m.name] + 2 for m in survivors),
        timeout=90, what="the two survivors to time out two leaders each",
    )  # fmt: skip
    assert net.latest_round() == before and not net.assignments(task)
    assert all(m.alive() for m in survivors)
    for member in down:
        member.start()
    for member in down:
        member.wait_started()
    net.wait_allocated(task, timeout=90)
    net.wait_completed(task)
    net.assert_invariants(scenario)


GARBAGE = [
    b"\x00\xffnot json at all",
    b'{"type": "proposal", "round": "seven"}',
    b'{"type": "signatures"}',
    b"[" * 5000,
    json.dumps({"type": "attested", "round": 1, "reports": ["0x00"]}).encode(),
]


def flood(urls: list[str], stop: threading.Event, sent: list[int]) -> None:
    """Posts garbage, oversized bodies and random bytes to every member until `stop`."""
    session = requests.Session()
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"  # more than the 2 MiB a message may have
    i = 0
    while not stop.is_set():
        body = big if i % 25 == 24 else (GARBAGE[i % len(GARBAGE)] if i % 3 else os.urandom(512))
        for url in urls:
            try:
                session.post(f"{url}/v1/message", data=body, timeout=10,
                             headers={"Content-Type": "application/json"})  # fmt: skip
                sent[0] += 1
            except requests.RequestException:
                sent[0] += 1  # a reset connection is still a message the member refused
        i += 1


def test_peer_flooding_garbage_is_refused_and_the_rounds_go_on(
    network: Network, scenario: Scenario
) -> None:
    net = network
    members = net.committee.members
    rejected = sum(m.metric("verai_oracle_rejected_messages_total") for m in members)
    stop, sent = threading.Event(), [0]
    thread = threading.Thread(target=flood, args=([m.peer_url for m in members], stop, sent))
    thread.start()
    try:
        task = net.submit(steps=40)
        net.wait_allocated(task, timeout=90)
        net.wait_completed(task)
    finally:
        stop.set()
        thread.join(timeout=30)
    scenario.inject("garbage peer messages", sent[0])
    assert sent[0] > 100
    now_rejected = sum(m.metric("verai_oracle_rejected_messages_total") for m in members)
    assert now_rejected - rejected >= sent[0] * 0.9, (now_rejected - rejected, sent[0])
    for m in members:
        assert m.alive()
        assert requests.get(f"{m.metrics_url}/healthz", timeout=5).status_code == 200
    net.assert_invariants(scenario)
