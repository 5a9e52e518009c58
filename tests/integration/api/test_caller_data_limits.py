"""Caller data (`data`, `tags`, `entry_event`) is bounded before it reaches a template.

Each limit of `DataLimits` is refused as INVALID_ARGUMENT naming its field, a value just
under it is served, and the largest list a call may carry sorts within the render
budget: no single step of a template can hold a worker.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.rendering.limits import DataLimits
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.history import create
from tests.harness.protos import struct
from tests.harness.server import Api, StartServer

LIMITS = DataLimits()
DRAFT = pb.WebhookSpec(name="n", url="https://x.example.com/hook")


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` levels deep, counting itself: nested(1) is {"leaf": "x"}."""
    value: dict[str, Any] = {"leaf": "x"}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def lists(levels: int) -> list[Any]:
    """Lists `levels` deep: lists(1) is [1]."""
    value: list[Any] = [1]
    for _ in range(levels - 1):
        value = [value]
    return value


def as_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def render(api: Api, *, data: dict[str, Any] | None = None, **recipient: Any) -> Any:
    return api.Render(
        pb.RenderRequest(
            draft=DRAFT,
            recipient=pb.Recipient(user_id="u1", **{k: as_struct(v) for k, v in recipient.items()}),
            data=as_struct(data or {}),
        )
    )


def people(count: int, **fields: dict[str, Any]) -> list[pb.Recipient]:
    return [
        pb.Recipient(user_id=f"u{i}", **{k: as_struct(v) for k, v in fields.items()})
        for i in range(count)
    ]


async def test_nesting_past_the_depth_limit_is_refused_naming_the_field(api: Api) -> None:
    depth = LIMITS.max_depth
    await render(api, data=nested(depth), tags=nested(depth), entry_event=nested(depth))

    await expect_invalid(render(api, data=nested(depth + 1)), "data", f"deeper than {depth}")
    # Lists count as levels too: the object holding them is the first.
    await render(api, data={"l": lists(depth - 1)})
    await expect_invalid(
        render(api, data={"l": lists(depth)}), "data", f"nested deeper than {depth} levels"
    )
    webhook = await create(api, "https://x.example.com/hook")
    recipients = people(5)
    recipients[3].tags.CopyFrom(as_struct(nested(depth + 1)))
    description = await expect_invalid(
        api.SendTest(pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients)),
        "recipients[3].tags",
    )
    assert description == f"nested deeper than {depth} levels"
    recipients = people(2, entry_event=nested(depth + 1))
    await expect_invalid(
        api.Send(pb.SendRequest(webhook_id=webhook.id, recipients=recipients)),
        "recipients[0].entry_event",
        f"nested deeper than {depth} levels",
    )


async def test_more_keys_and_items_than_the_limit_are_refused_naming_the_field(
    api: Api,
) -> None:
    items = LIMITS.max_items
    # One key and its list: exactly the limit.
    await render(api, data={"l": list(range(items - 1))})
    # Short keys and empty strings, to stay within the recipient's size.
    await render(api, tags={str(i): "" for i in range(items)})
    # Keys and items at every level count together.
    await render(api, data={"a": [{"b": 1}] * ((items - 1) // 2)})

    await expect_invalid(
        render(api, data={"l": list(range(items))}),
        "data",
        f"more than {items:,} object keys and list items",
    )
    await expect_invalid(
        render(api, tags={str(i): "" for i in range(items + 1)}),
        "recipient.tags",
        f"more than {items:,}",
    )
    await expect_invalid(
        render(api, data={"a": [{"b": 1}] * (items // 2)}), "data", f"more than {items:,}"
    )
    await expect_invalid(
        render(api, entry_event={"a": [[]] * items}), "recipient.entry_event", f"{items:,}"
    )


async def test_a_list_as_large_as_a_call_can_carry_is_refused_before_any_template(
    api: Api,
) -> None:
    webhook = await create(api, "https://x.example.com/hook", body='{"s": "{{ l | sort | join }}"}')
    # 300,000 numbers are what fits the 4 MiB message size; the limit refuses far fewer,
    # before reading any of them.
    big = struct_pb2.Struct()
    big.fields["l"].list_value.values.extend(
        struct_pb2.Value(number_value=i) for i in range(300_000)
    )
    await expect_invalid(
        api.Send(pb.SendRequest(webhook_id=webhook.id, recipients=people(1), data=big)),
        "data",
        "object keys and list items",
    )


async def test_data_past_its_size_is_refused_and_just_under_is_served(api: Api) -> None:
    size = LIMITS.max_data_bytes
    # A key and a string count their UTF-8 bytes.
    await render(api, data={"t": "x" * (size - 1)})
    await render(api, data={"t": "é" * ((size - 1) // 2)})

    await expect_invalid(render(api, data={"t": "x" * size}), "data", "more than 256 KiB")
    await expect_invalid(render(api, data={"t": "é" * (size // 2)}), "data", "more than 256 KiB")


async def test_a_recipient_past_its_size_is_refused_naming_the_field(api: Api) -> None:
    size = LIMITS.max_recipient_bytes
    half = size // 2
    # tags and entry_event share the budget: "t" and "e" are a byte each.
    await render(api, tags={"t": "x" * (half - 1)}, entry_event={"e": "x" * (half - 1)})

    await expect_invalid(render(api, tags={"t": "x" * size}), "recipient.tags", "more than 64 KiB")
    description = await expect_invalid(
        render(api, tags={"t": "x" * (half - 1)}, entry_event={"e": "x" * half}),
        "recipient.entry_event",
        "more than 64 KiB with the tags beside it",
    )
    assert "tags and entry_event may hold 64 KiB together" in description

    # Numbers and every other value count 8 bytes: keys "t" and "l", the list and its
    # hundred numbers make 810.
    fits = {"t": "x" * (size - 810), "l": [0] * 100}
    await render(api, tags=fits)
    await expect_invalid(
        render(api, tags=fits | {"t": "x" * (size - 809)}), "recipient.tags", "64 KiB"
    )

    webhook = await create(api, "https://x.example.com/hook")
    recipients = people(4, tags={"t": "x"})
    recipients[2].tags.CopyFrom(as_struct({"t": "x" * size}))
    await expect_invalid(
        api.Send(pb.SendRequest(webhook_id=webhook.id, recipients=recipients)),
        "recipients[2].tags",
        "more than 64 KiB",
    )


async def test_a_call_storing_more_than_its_budget_is_refused(
    start_server: StartServer,
) -> None:
    server = await start_server(workers=0)
    api = await server.api()
    webhook = await create(api, "https://x.example.com/hook", body='{"t": "{{ t }}"}')
    budget = LIMITS.max_call_bytes
    count = 1_000
    # `data` is stored with every message: {"t": ...} counts 1 byte and its string.
    under = budget // count - 1
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=people(count), data=struct(t="x" * under))
    )
    assert len(sent.message_ids) == count

    description = await expect_invalid(
        api.Send(
            pb.SendRequest(
                webhook_id=webhook.id, recipients=people(count), data=struct(t="x" * under + "x")
            )
        ),
        "data",
        "each of the 1,000 recipients",
    )
    assert "16 MiB" in description

    # Recipients count too: what `data` leaves, spent by the recipients' tags.
    data_bytes = 15_000
    left = budget - data_bytes * count
    tag = left // count + 1  # {"p": ...} counts 1 byte and its string
    description = await expect_invalid(
        api.Send(
            pb.SendRequest(
                webhook_id=webhook.id,
                recipients=people(count, tags={"p": "y" * tag}),
                data=struct(t="x" * (data_bytes - 1)),
            )
        ),
        "recipients",
        "more than 16 MiB",
    )
    # The first recipient past the budget is named.
    spent = data_bytes * count
    past = next(i for i in range(count) if spent + (i + 1) * (tag + 1) > budget)
    assert f"by recipients[{past}]" in description


@pytest.mark.parametrize(
    ("items", "template"),
    [
        # Strings, sorted case-blind (a Python key per item).
        (lambda n: [_word() for _ in range(n)], "{{ l | sort | join(',') }}"),
        # Numbers, each printed by the template's own rules.
        (
            lambda n: [float(random.randrange(10**9)) for _ in range(n)],
            "{{ l | sort | join(',') }}",
        ),
        # Objects by an attribute: one key per object besides the item.
        (
            lambda n: [{"k": _word()} for _ in range(n // 2)],
            "{{ l | sort(attribute='k') | map(attribute='k') | join(',') }}",
        ),
    ],
    ids=["strings", "numbers", "objects-by-attribute"],
)
async def test_the_largest_accepted_list_sorts_within_the_render_budget(
    api: Api, items: Any, template: str
) -> None:
    # The key "l" is one of the items the limit counts.
    values = items(LIMITS.max_items - 1)
    request = pb.RenderRequest(
        draft=pb.WebhookSpec(
            name="n", url="https://x.example.com/hook", body=json.dumps({"s": template})
        ),
        data=as_struct({"l": values}),
    )
    # The budget is wall time, on a machine other work shares: a render the scheduler held
    # up may pass it now and then (it takes under 15 ms of work). Work past the budget
    # would fail every try.
    for _ in range(3):
        try:
            out = await api.Render(request)
            break
        except grpc.aio.AioRpcError as e:
            if "rendering took longer than" not in (e.details() or ""):
                raise
    else:
        raise AssertionError("the largest accepted list never rendered within the budget")
    if isinstance(values[0], float):
        expected = ",".join(str(int(v)) for v in sorted(values))
    else:
        words = [v if isinstance(v, str) else v["k"] for v in values]
        expected = ",".join(sorted(words, key=str.lower))
    assert json.loads(out.request.body)["s"] == expected
    # One more item is refused before any template sees it.
    await expect_error(
        api.Render(pb.RenderRequest(draft=DRAFT, data=as_struct({"l": values + values[:2]}))),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


def _word() -> str:
    return "".join(random.choices(string.ascii_letters, k=20))
