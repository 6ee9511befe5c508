from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._localnet import Localnet, localnet
from tests.agent._agents import Agent

__all__ = ["agents", "localnet"]

MakeAgent = Callable[..., Agent]


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
