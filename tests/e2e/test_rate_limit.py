"""A webhook's rate limit holds across worker processes, spread evenly over each second."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness import timing_receiver
from tests.harness.history import all_history, wait_none_pending
from tests.harness.protos import recipients, seconds, struct
from tests.harness.server import StartServer
from tests.harness.workers import stop, worker

pytestmark = pytest.mark.slow

RATE = 20


def most_in_a_window(times: list[float], width: float) -> int:
    """The most requests any window of `width` seconds holds."""
    ordered = sorted(times)
    most = 0
    start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= width:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_twenty_per_second_across_two_worker_processes(
    start_server: StartServer, database_url: str, tmp_path: Path
) -> None:
    server = await start_server(workers=0)
    api = await server.api()
    arrivals = tmp_path / "arrivals"
    receiver, port = timing_receiver.start(arrivals)
    spec = pb.WebhookSpec(
        name="sms",
        url=f"http://127.0.0.1:{port}/sms",
        body='{"user": "{{ userId }}", "text": "{{ text }}"}',
        policy=pb.DeliveryPolicy(rate_limit=RATE, timeout=seconds(5)),
    )
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    assert webhook.spec.policy.rate_limit == RATE
    assert webhook.destination_health.destination == f"webhook:{webhook.id}"

    workers = [worker(database_url, tmp_path / f"worker-{i}.log") for i in range(2)]
    processes = [*workers, receiver]
    try:
        await api.Send(
            pb.SendRequest(
                webhook_id=webhook.id, recipients=recipients(100), data=struct(text="hi")
            )
        )
        await wait_none_pending(api, webhook.id, timeout=30.0)
    finally:
        stop(processes)

    times = [float(line) for line in arrivals.read_text().split()]
    assert len(times) == 100
    assert most_in_a_window(times, 1.0) <= RATE + 1
    assert most_in_a_window(times, 0.1) <= 4
    # Spread, not dribbled: 100 at 20/s take about 5 s.
    assert max(times) - min(times) >= 100 / RATE - 1.5
    history = await all_history(api, webhook_id=webhook.id)
    assert {m.attempt_count for m in history} == {1}, "waiting for a turn costs no attempt"
    assert {m.status for m in history} == {pb.MESSAGE_STATUS_SUCCEEDED}
    logs = "".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
    assert "Traceback" not in logs


def test_windows_are_counted_over_any_start() -> None:
    assert most_in_a_window([0.0, 0.05, 0.1, 0.12, 0.5], 0.1) == 3
    assert most_in_a_window([0.0, 1.0, 2.0], 1.0) == 1
