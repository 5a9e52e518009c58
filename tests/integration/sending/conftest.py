from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.integration.receiver import Behaviour, Receiver, ok


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    """Start loopback receivers with a behaviour; all are stopped after the test."""
    started: list[Receiver] = []

    async def start(behaviour: Behaviour = ok) -> Receiver:
        receiver = await Receiver(behaviour).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.stop()
