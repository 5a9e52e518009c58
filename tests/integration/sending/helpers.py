"""Building webhooks and reading history in sending tests."""

from __future__ import annotations

from google.protobuf import duration_pb2, struct_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.integration.conftest import Api
from tests.integration.receiver import wait_until


def struct(**values: object) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


def seconds(value: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(value * 1e9))
    return d


async def create(
    api: Api,
    url: str,
    *,
    body: str = '{"user": "{{ userId }}", "text": "{{ text }}"}',
    schedule: tuple[float, ...] = (0.05, 0.05),
    timeout: float = 5.0,
    headers: tuple[pb.Header, ...] = (),
) -> pb.Webhook:
    spec = pb.WebhookSpec(
        name="test",
        url=url,
        body=body,
        headers=list(headers),
        policy=pb.DeliveryPolicy(
            timeout=seconds(timeout), retry_schedule=[seconds(s) for s in schedule]
        ),
    )
    return (await api.Create(pb.CreateRequest(spec=spec))).webhook


def recipients(n: int, prefix: str = "user") -> list[pb.Recipient]:
    return [pb.Recipient(user_id=f"{prefix}-{i}") for i in range(n)]


async def message(api: Api, message_id: str) -> pb.Message:
    return (await api.GetMessage(pb.GetMessageRequest(id=message_id))).message


async def send_one(api: Api, webhook: pb.Webhook) -> pb.Message:
    """Send to one recipient and wait until the message is no longer PENDING."""
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    await wait_finished(api, list(sent.message_ids))
    return await message(api, sent.message_ids[0])


async def wait_finished(api: Api, message_ids: list[str], *, timeout: float = 60.0) -> None:
    """Until none of the messages is PENDING."""
    remaining = set(message_ids)

    async def done() -> bool:
        for mid in list(remaining):
            if (await message(api, mid)).status != pb.MESSAGE_STATUS_PENDING:
                remaining.discard(mid)
        return not remaining

    await wait_until(done, timeout=timeout, every=0.2)


async def wait_none_pending(api: Api, webhook_id: str, *, timeout: float = 90.0) -> None:
    """Until the webhook has no PENDING message."""

    async def done() -> bool:
        page = await api.ListHistory(
            pb.ListHistoryRequest(
                webhook_id=webhook_id, statuses=[pb.MESSAGE_STATUS_PENDING], page_size=1
            )
        )
        return not page.messages

    await wait_until(done, timeout=timeout, every=0.2)


async def all_history(api: Api, **filters: object) -> list[pb.Message]:
    found: list[pb.Message] = []
    token = ""
    while True:
        page = await api.ListHistory(
            pb.ListHistoryRequest(page_size=100, page_token=token, **filters)  # type: ignore[arg-type]
        )
        found += page.messages
        token = page.next_page_token
        if not token:
            return found
