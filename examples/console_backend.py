"""The console backend's side: a marketer builds a webhook and looks after its deliveries.

1. Live preview: each edit of the unsaved draft is rendered (Render with a draft) to show
   the request, the data fields the body asks for and the variables that rendered empty.
2. Save it (Create).
3. Test send to one user, showing what came back.
4. After the journey has sent it to some users: browse the failed messages in history and
   retry them.

Against `make run` (from the repository root, with the virtualenv's Python):

    .venv/bin/python examples/console_backend.py --url 'https://example.com/hooks/{{ userId }}'
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

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


SAMPLE_USER = {"user_id": "u-42", "tags": {"first_name": "Ada"}}


def status_name(value: pb.MessageStatus.ValueType) -> str:
    return pb.MessageStatus.Name(value).removeprefix("MESSAGE_STATUS_").lower()


def live_preview(client: hooksmith.SyncClient, draft: dict[str, object]) -> None:
    """What the preview pane shows while the marketer types."""
    preview = client.render(draft=draft, recipient=SAMPLE_USER, data={"coupon": "WELCOME10"})
    print(f"  {preview.request.method} {preview.request.url}")
    print(f"  body: {preview.request.body}")
    print(f"  data fields: {list(preview.data_fields)}; empty: {list(preview.missing_variables)}")


def wait_finished(client: hooksmith.SyncClient, ids: Sequence[str], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(client.get_message(i).status != pb.MESSAGE_STATUS_PENDING for i in ids):
            return
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default="https://example.com/hooks/{{ userId }}",
        help="the endpoint the webhook posts to (a template)",
    )
    parser.add_argument(
        "--users",
        default="u-1,u-2,u-3",
        help="comma-separated users the journey sends to, to have some history",
    )
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for delivery")
    args = parser.parse_args(argv)

    with hooksmith.SyncClient(TARGET, api_key()) as client:
        # 1. Live preview of the draft, edit by edit; a draft needs no name yet.
        draft: dict[str, object] = {
            "url": args.url,
            "body": '{"user": "{{ userId }}", "hello": "{{ tags.first_name }}"}',
        }
        print("preview of the draft:")
        live_preview(client, draft)
        draft["body"] = (
            '{"user": "{{ userId }}", "hello": "{{ tags.first_name }}", '
            '"coupon": "{{ coupon }}", "city": "{{ tags.city }}"}'
        )
        print("preview after adding a coupon and a city:")
        live_preview(client, draft)

        # 2. Save it.
        draft["name"] = "Coupon webhook"
        draft["policy"] = {"timeout": "5s", "retry_schedule": ["1s"]}
        webhook = client.create(draft)
        print(f"saved webhook {webhook.id} version {webhook.version}")

        # 3. Test send to the sample user.
        test = client.send_test(webhook.id, [SAMPLE_USER], data={"coupon": "TEST"})
        for message in test.messages:
            code = message.response.status_code if message.HasField("response") else "-"
            print(f"test send to {message.user_id}: {status_name(message.status)} (HTTP {code})")

        # The journey sends it to some users (the engine's side, see journey_engine.py).
        users = [{"user_id": u} for u in args.users.split(",") if u]
        sent = client.send(
            webhook.id,
            users,
            data={"coupon": "WELCOME10"},
            idempotency_key="console-example",
        )
        wait_finished(client, sent.message_ids, args.wait)

        # 4. Browse the failed messages and retry them.
        failed = list(
            client.iter_history(webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_FAILED])
        )
        print(f"failed messages: {len(failed)}")
        for message in failed:
            detail = client.get_message(message.id)
            last = detail.attempts[-1]
            answer = (
                f"HTTP {last.response.status_code}" if last.HasField("response") else last.error
            )
            print(f"  {message.user_id}: {len(detail.attempts)} attempts, last {answer}")
            client.retry(message.id)
            print(f"  retried {message.id}")
        wait_finished(client, [m.id for m in failed], args.wait)
        for message_id in sent.message_ids:
            message = client.get_message(message_id)
            print(f"{message.user_id}: {status_name(message.status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
