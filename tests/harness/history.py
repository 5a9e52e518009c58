"""Creating webhooks, sending through the API and reading history."""

from __future__ import annotations

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, seconds, struct
from tests.harness.server import Api


async def create(
    api: Api,
    url: str,
    *,
    body: str = '{"user": "{{ userId }}", "text": "{{ text }}"}',
    schedule: tuple[float, ...] = (0.05, 0.05),
    timeout: float = 5.0,
    headers: tuple[pb.Header, ...] = (),
    rate_limit: float = 0.0,
) -> pb.Webhook:
    spec = pb.WebhookSpec(
        name="test",
        url=url,
        body=body,
        headers=list(headers),
        policy=pb.DeliveryPolicy(
            timeout=seconds(timeout),
            retry_schedule=[seconds(s) for s in schedule],
            rate_limit=rate_limit,
        ),
    )
    return (await api.Create(pb.CreateRequest(spec=spec))).webhook


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
