"""`hooksmith send-test`, `send`, `history`, `message` and `retry` against a real server
delivering to a real receiver on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import all_history, create, wait_finished, wait_none_pending
from tests.harness.polling import wait_until
from tests.harness.protos import struct
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Api
from tests.integration.cli.conftest import Cli

USERS_CSV = """\
user_id,tags.phone_number
u-1,+8201
u-2,+8202
u-3,+8203
u-4,+8204
u-5,+8205
"""

# Each row's own data: one call per distinct data.
CODES_CSV = """\
user_id,data.text
u-1,code 1
u-2,code 2
u-3,code 3
u-4,code 4
u-5,code 5
"""


def fail_user(user: str, code: int = 400):  # type: ignore[no-untyped-def]
    """Answers `code` to requests for `user` (in the path), 200 to the rest."""

    def behave(request: Received, _: int) -> web.StreamResponse:
        if request.path_qs.endswith(f"/{user}"):
            return web.json_response({"error": "no such user"}, status=code)
        return web.json_response({"ok": True})

    return behave


def bodies(received: list[Received]) -> list[dict[str, str]]:
    return sorted((json.loads(r.body) for r in received), key=lambda b: b["user"])


async def test_send_test_sends_now_and_shows_each_outcome(
    cli: Cli, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver(fail_user("u-bad"))
    webhook = await create(api, receiver.url("/hook/{{ userId }}"))

    good = await cli("send-test", webhook.id, "--user", "u-1", "--user", "u-2", "--set", "text=hi")
    bad = await cli("send-test", webhook.id, "--user", "u-bad", "--data", '{"text": "x"}', "--json")

    assert good.code == 0, good.err
    assert bodies(receiver.received[:2]) == [
        {"user": "u-1", "text": "hi"},
        {"user": "u-2", "text": "hi"},
    ]
    lines = good.out.splitlines()
    assert lines[0].split() == ["USER", "STATUS", "RESULT", "MESSAGE"]
    assert lines[1].split()[:4] == ["u-1", "succeeded", "HTTP", "200"]
    assert bad.code == 3
    answer = json.loads(bad.out)
    assert answer["messages"][0]["status"] == "MESSAGE_STATUS_FAILED"
    assert answer["messages"][0]["response"]["statusCode"] == 400
    assert answer["messages"][0]["kind"] == "MESSAGE_KIND_TEST"


async def test_send_test_from_a_csv_file(
    cli: Cli, api: Api, start_receiver: StartReceiver, tmp_path: Path
) -> None:
    receiver = await start_receiver()
    webhook = await create(
        api,
        receiver.url("/{{ userId }}"),
        body='{"user": "{{ userId }}", "to": "{{ tags.phone_number }}"}',
    )
    (tmp_path / "few.csv").write_text("user_id,tags.phone_number\nu-1,+8201\nu-2,+8202\n")

    sent = await cli("send-test", webhook.id, "--recipients", str(tmp_path / "few.csv"))

    assert sent.code == 0, sent.err
    assert bodies(receiver.received) == [
        {"user": "u-1", "to": "+8201"},
        {"user": "u-2", "to": "+8202"},
    ]


async def test_send_from_csv_delivers_each_row_and_a_rerun_sends_nothing_twice(
    cli: Cli, api: Api, start_receiver: StartReceiver, tmp_path: Path
) -> None:
    receiver = await start_receiver()
    webhook = await create(
        api,
        receiver.url("/{{ userId }}"),
        body='{"user": "{{ userId }}", "to": "{{ tags.phone_number }}", "text": "{{ text }}"}',
    )
    users = tmp_path / "users.csv"
    users.write_text(USERS_CSV)
    command = ("send", webhook.id, "--recipients", str(users), "--batch-size", "2")

    first = await cli(*command, "--set", "text=hello", "--progress", "--label", "journey=welcome")
    await wait_none_pending(api, webhook.id)
    again = await cli("--json", *command, "--set", "text=hello")

    assert first.code == 0, first.err
    assert "5 rows in 3 batches" in first.out
    progress = first.err.splitlines()
    assert [line.split()[-2] for line in progress] == ["2/5", "4/5", "5/5"]
    assert bodies(receiver.received) == [
        {"user": f"u-{i}", "to": f"+820{i}", "text": "hello"} for i in range(1, 6)
    ]
    history = await all_history(api, webhook_id=webhook.id)
    assert len(history) == 5
    assert {m.status for m in history} == {pb.MESSAGE_STATUS_SUCCEEDED}
    run_id = history[0].labels["run"]
    assert all(m.labels == {"run": run_id, "journey": "welcome"} for m in history)
    assert run_id in first.out
    rerun = again.json()
    assert rerun["runId"] == run_id
    assert sorted(m["messageId"] for m in rerun["messages"]) == sorted(m.id for m in history)
    assert [m["userId"] for m in rerun["messages"]] == [f"u-{i}" for i in range(1, 6)]
    assert len(await all_history(api, webhook_id=webhook.id)) == 5
    assert len(receiver.received) == 5


async def test_an_interrupted_send_resumes_without_sending_a_row_twice(
    cli: Cli, api: Api, start_receiver: StartReceiver, tmp_path: Path
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url("/{{ userId }}"))
    users = tmp_path / "users.csv"
    # The third batch's user id is too long: the server refuses that call, and the run
    # stops there with two batches stored.
    users.write_text(CODES_CSV.replace("u-5,", "u" * 300 + ","))
    command = ["send", webhook.id, "--recipients", str(users), "--batch-size", "2"]

    stopped = await cli(*command, "--run-id", "campaign-7")
    users.write_text(CODES_CSV)
    resumed = await cli(*command, "--run-id", "campaign-7")
    await wait_none_pending(api, webhook.id)

    assert stopped.code == 1
    assert "stopped after 4 of 5 rows" in stopped.err
    assert (
        "error: InvalidArgument: recipients[0].user_id: must be at most 256 characters"
        in stopped.err
    )
    assert resumed.code == 0, resumed.err
    history = await all_history(api, webhook_id=webhook.id)
    assert sorted(m.user_id for m in history) == [f"u-{i}" for i in range(1, 6)]
    assert bodies(receiver.received) == [
        {"user": f"u-{i}", "text": f"code {i}"} for i in range(1, 6)
    ]


async def test_history_filters_by_status_and_webhook(
    cli: Cli, api: Api, start_receiver: StartReceiver, tmp_path: Path
) -> None:
    receiver = await start_receiver(fail_user("u-3"))
    webhook = await create(api, receiver.url("/{{ userId }}"))
    other = await create(api, receiver.url("/{{ userId }}"))
    users = tmp_path / "users.csv"
    users.write_text(USERS_CSV)
    assert (await cli("send", webhook.id, "--recipients", str(users), "--set", "text=t")).code == 0
    assert (await cli("send-test", other.id, "--user", "u-3", "--set", "text=t")).code == 3
    await wait_none_pending(api, webhook.id)

    failed = await cli("history", "--status", "failed", "--webhook", webhook.id)
    succeeded = (
        await cli("--json", "history", "--webhook", webhook.id, "--status", "succeeded")
    ).json()
    tests = (await cli("history", "--kind", "test", "--json")).json()
    limited = (await cli("history", "--limit", "2", "--json")).json()

    assert failed.code == 0, failed.err
    lines = failed.out.splitlines()
    assert lines[0].split() == ["CREATED", "MESSAGE", "STATUS", "KIND", "TRIES", "USER", "RESULT"]
    assert len(lines) == 2
    assert lines[1].split()[3:9] == ["failed", "live", "1", "u-3", "HTTP", "400"]
    assert sorted(m["userId"] for m in succeeded["messages"]) == ["u-1", "u-2", "u-4", "u-5"]
    assert [(m["webhookId"], m["kind"]) for m in tests["messages"]] == [
        (other.id, "MESSAGE_KIND_TEST")
    ]
    assert len(limited["messages"]) == 2


async def test_message_shows_request_and_response_side_by_side_with_secrets_masked(
    cli: Cli, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver(fail_user("u-1", 400))
    webhook = await create(
        api,
        receiver.url("/{{ userId }}"),
        headers=(
            pb.Header(name="Authorization", value="Bearer sk_live_abcdef123456", secret=True),
        ),
    )
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id, recipients=[pb.Recipient(user_id="u-1")], data=struct(text="hi")
        )
    )
    await wait_finished(api, list(sent.message_ids))

    shown = await cli("message", sent.message_ids[0])
    as_json = (await cli("message", sent.message_ids[0], "--json")).json()

    assert shown.code == 0, shown.err
    assert "sk_live_abcdef123456" not in shown.out
    assert receiver.received[0].header("Authorization") == "Bearer sk_live_abcdef123456"
    lines = shown.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("attempt 1 · scheduled"))
    left, right = lines[header + 1].split(" │ ")
    assert (left.strip(), right.strip()) == ("REQUEST", "RESPONSE")
    left, right = lines[header + 2].split(" │ ")
    assert left.strip() == f"POST {receiver.url('/u-1')}"
    assert right.strip() == "HTTP 400"
    masked = as_json["attempts"][0]["request"]["headers"]
    authorization = next(h for h in masked if h["name"] == "Authorization")
    assert authorization["value"] != "Bearer sk_live_abcdef123456"
    assert any(authorization["value"] in line for line in lines)
    assert '{"error": "no such user"}' in shown.out
    assert as_json["status"] == "MESSAGE_STATUS_FAILED"


async def test_retry_sends_a_failed_message_again(
    cli: Cli, api: Api, start_receiver: StartReceiver
) -> None:
    def once_bad(_: Received, seen: int) -> web.StreamResponse:
        return web.json_response({}, status=400 if seen == 1 else 200)

    receiver = await start_receiver(once_bad)
    webhook = await create(api, receiver.url("/{{ userId }}"))
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id, recipients=[pb.Recipient(user_id="u-1")], data=struct(text="hi")
        )
    )
    await wait_finished(api, list(sent.message_ids))

    retried = await cli("retry", sent.message_ids[0])
    await wait_until(lambda: _status_is(api, sent.message_ids[0], pb.MESSAGE_STATUS_SUCCEEDED))

    assert retried.code == 0, retried.err
    assert retried.out.startswith(f"retry of message {sent.message_ids[0]} queued")
    assert len(receiver.received) == 2
    shown = (await cli("message", sent.message_ids[0], "--json")).json()
    assert [a["trigger"] for a in shown["attempts"]] == [
        "ATTEMPT_TRIGGER_SCHEDULED",
        "ATTEMPT_TRIGGER_MANUAL",
    ]


async def _status_is(api: Api, message_id: str, status: int) -> bool:
    got = await api.GetMessage(pb.GetMessageRequest(id=message_id))
    return bool(got.message.status == status)
