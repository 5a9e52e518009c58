"""ListHistory: the time window and cursors that hold while messages arrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from google.protobuf import timestamp_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import all_history, create
from tests.harness.protos import recipients, struct
from tests.harness.server import Api, Running

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def set_create_time(server: Running, times: dict[str, datetime]) -> None:
    conn = await asyncpg.connect(server.database_url)
    try:
        await conn.executemany(
            "UPDATE messages SET create_time = $2 WHERE id = $1",
            [(uuid.UUID(mid), at) for mid, at in times.items()],
        )
    finally:
        await conn.close()


def timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(at)
    return ts


async def finished_messages(api: Api, webhook: pb.Webhook, count: int, prefix: str) -> list[str]:
    """Ids of `count` finished test messages."""
    out = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook.id, recipients=recipients(count, prefix), data=struct(text="x")
        )
    )
    return [m.id for m in out.messages]


def newest_first(times: dict[str, datetime]) -> list[str]:
    # The listing's order: create_time, then id (as PostgreSQL orders uuids), both descending.
    return sorted(times, key=lambda mid: (times[mid], uuid.UUID(mid)), reverse=True)


async def test_start_time_is_inclusive_and_end_time_exclusive(
    server: Running, api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    ids = await finished_messages(api, webhook, 5, "t")
    at = {mid: BASE + timedelta(minutes=i) for i, mid in enumerate(ids)}
    await set_create_time(server, at)
    minute = [BASE + timedelta(minutes=i) for i in range(5)]

    async def window(**bounds: datetime) -> list[str]:
        found = await all_history(api, **{k: timestamp(v) for k, v in bounds.items()})
        return [m.id for m in found]

    assert await window() == ids[::-1]
    assert await window(start_time=minute[2]) == [ids[4], ids[3], ids[2]]
    assert await window(end_time=minute[2]) == [ids[1], ids[0]]
    assert await window(start_time=minute[1], end_time=minute[3]) == [ids[2], ids[1]]
    # A microsecond either side moves a message in or out.
    tick = timedelta(microseconds=1)
    assert await window(start_time=minute[2] + tick, end_time=minute[3] + tick) == [ids[3]]
    assert await window(start_time=minute[2] - tick, end_time=minute[2]) == []


async def test_cursors_hold_while_newer_and_older_messages_arrive_between_pages(
    server: Running, api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    ids = await finished_messages(api, webhook, 9, "first")
    # Ties on create_time: the id alone decides their order, and a cursor on the time
    # alone would skip or repeat them.
    minutes = [0, 1, 1, 1, 2, 3, 3, 4, 4]
    at = {mid: BASE + timedelta(minutes=m) for mid, m in zip(ids, minutes, strict=True)}
    await set_create_time(server, at)
    expected = newest_first(at)

    older: dict[str, datetime] = {}
    walked: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await api.ListHistory(pb.ListHistoryRequest(page_size=2, page_token=token))
        walked += [m.id for m in page.messages]
        token = page.next_page_token
        if not token:
            break
        pages += 1
        assert pages < 20, "the cursor does not move on"
        # Between pages: one message newer than everything, one older than everything.
        newer_id, older_id = await finished_messages(api, webhook, 2, f"page-{pages}")
        older[older_id] = BASE - timedelta(days=1, minutes=pages)
        await set_create_time(server, {newer_id: BASE + timedelta(days=1, minutes=pages)})
        await set_create_time(server, {older_id: older[older_id]})

    assert len(walked) == len(set(walked)), "a message appeared on two pages"
    # The newer ones sort before the cursor and never show; the older ones come after
    # every message that was there at the first page, newest first.
    assert walked == expected + newest_first(older)
