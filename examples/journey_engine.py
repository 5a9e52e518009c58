"""The journey engine's side: a journey step that fires a webhook for a batch of users.

A journey run reaches a webhook step for many users at once. The step sends them in calls
of up to 1,000 recipients with one idempotency key made of the run and the step, so when
the engine runs the step again (it crashed after sending, or a call timed out and was
retried) the server answers with the messages it already has and sends nothing twice.

Against `make run` (from the repository root, with the virtualenv's Python):

    .venv/bin/python examples/journey_engine.py
    .venv/bin/python examples/journey_engine.py --webhook-id ID --run-id run-7 --step-id step-2

Without --webhook-id it first creates a webhook posting to --url.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hooksmith
from hooksmith.v1 import webhooks_pb2 as pb

# Against `make run` by default: its address, and the key it wrote in this checkout.
TARGET = os.environ.get("HOOKSMITH_TARGET") or "127.0.0.1:50051"
KEY_FILE = Path(__file__).resolve().parents[1] / ".hooksmith" / "api-key"


def api_key() -> str:
    key = os.environ.get("HOOKSMITH_API_KEY")
    if key:
        return key
    if not KEY_FILE.is_file():
        raise SystemExit(
            f"no API key: set HOOKSMITH_API_KEY, or run `make run` once to write {KEY_FILE}"
        )
    return KEY_FILE.read_text().strip()


MAX_RECIPIENTS_PER_SEND = 1000


async def fire_step(
    client: hooksmith.Client,
    webhook_id: str,
    *,
    run_id: str,
    step_id: str,
    users: Sequence[dict[str, Any]],
    data: dict[str, Any],
) -> list[str]:
    """Queue the step's webhook for every user; returns the message ids in user order.

    One key for the whole step: the server keeps one message per webhook, key and user,
    so however the users are cut into calls, and however often the step runs, each user
    gets one message."""
    key = f"{run_id}:{step_id}"
    labels = {"journey_run": run_id, "journey_step": step_id}
    ids: list[str] = []
    for start in range(0, len(users), MAX_RECIPIENTS_PER_SEND):
        sent = await client.send(
            webhook_id,
            recipients=users[start : start + MAX_RECIPIENTS_PER_SEND],
            data=data,
            idempotency_key=key,
            labels=labels,
        )
        ids.extend(sent.message_ids)
    return ids


async def wait_delivered(
    client: hooksmith.Client, labels: dict[str, str], within: float
) -> Counter[str]:
    """The step's messages by status, once none is pending (or `within` seconds passed)."""
    end = time.monotonic() + within
    while True:
        counts: Counter[str] = Counter()
        async for message in client.iter_history(labels=labels, page_size=100):
            counts[pb.MessageStatus.Name(message.status).removeprefix("MESSAGE_STATUS_")] += 1
        if not counts["PENDING"] or time.monotonic() > end:
            return counts
        await asyncio.sleep(0.5)


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--webhook-id", help="the step's webhook (default: create one)")
    parser.add_argument(
        "--url",
        default="https://example.com/hooks/{{ userId }}",
        help="where a created webhook posts (a template)",
    )
    parser.add_argument("--run-id", default="run-1", help="the journey run")
    parser.add_argument("--step-id", default="step-2", help="the webhook step of the journey")
    parser.add_argument("--users", type=int, default=5, help="how many users reach the step")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for delivery")
    args = parser.parse_args(argv)

    async with hooksmith.Client(TARGET, api_key()) as client:
        webhook_id = args.webhook_id
        if not webhook_id:
            webhook = await client.create(
                {
                    "name": "Welcome SMS",
                    "url": args.url,
                    "body": '{"user": "{{ userId }}", "name": "{{ tags.first_name }}", '
                    '"text": "{{ text }}"}',
                    "policy": {"timeout": "5s"},
                }
            )
            webhook_id = webhook.id
            print(f"created webhook {webhook_id}")

        # The users who reached the step, with the tags the templates use.
        users = [
            {"user_id": f"user-{i}", "tags": {"first_name": f"Member {i}"}}
            for i in range(1, args.users + 1)
        ]
        data = {"text": "Welcome aboard"}

        ids = await fire_step(
            client, webhook_id, run_id=args.run_id, step_id=args.step_id, users=users, data=data
        )
        print(f"step {args.run_id}:{args.step_id} queued {len(ids)} messages")

        # The engine runs the step again, as after a crash between Send and its own commit.
        again = await fire_step(
            client, webhook_id, run_id=args.run_id, step_id=args.step_id, users=users, data=data
        )
        same = "the same" if again == ids else "DIFFERENT"
        print(f"step fired again: {same} {len(again)} messages, nothing sent twice")

        labels = {"journey_run": args.run_id, "journey_step": args.step_id}
        counts = await wait_delivered(client, labels, args.wait)
        print(", ".join(f"{status.lower()} {n}" for status, n in sorted(counts.items())))
        return 0 if again == ids else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
