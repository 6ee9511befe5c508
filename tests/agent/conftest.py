from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._localnet import Localnet, start_localnet
from tests.agent._agents import Agent

MakeAgent = Callable[..., Agent]


@pytest.fixture
def localnet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Localnet]:
    """A fresh chain with the contracts deployed; a test module may set LOCALNET_DEPLOY (e.g. a
    short heartbeat timeout) to change the deployment."""
    net = start_localnet(tmp_path, **getattr(request.module, "LOCALNET_DEPLOY", {}))
    try:
        yield net
    finally:
        net.anvil.stop()


@pytest.fixture
def agents(localnet: Localnet, tmp_path: Path) -> Iterator[MakeAgent]:
    """Makes agent processes (`agents(index, **settings)`) and stops every one of them at the
    end of the test, whatever happened (before the chain goes away)."""
    made: list[Agent] = []

    def make(index: int, *, net: Localnet | None = None, **settings: Any) -> Agent:
        agent = Agent(net or localnet, index, tmp_path / f"agent-{index}", settings=settings)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.stop()
