"""`hooksmith webhooks ...` and `hooksmith render` against a real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.server import Api
from tests.integration.cli.conftest import Cli

SMS_YAML = """\
name: SMS provider
url: https://sms.example.com/v1/messages
headers:
  - {name: Authorization, value: Bearer sk_live_123, secret: true}
body: '{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}'
policy:
  timeout: 5s
  retry_schedule: [10s, 5m]
"""

COUPON = {
    "name": "Issue coupon",
    "method": "HTTP_METHOD_POST",
    "url": "https://api.example.com/users/{{ userId }}/coupons",
    "body": '{"user": "{{ userId }}", "text": "{{ text }}", "amount": 10}',
}


async def create(cli: Cli, tmp_path: Path, spec: dict[str, object]) -> pb.Webhook:
    path = tmp_path / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(spec))
    made = (await cli("--json", "webhooks", "create", "-f", str(path))).json()
    return pb.Webhook(id=made["id"], version=int(made["version"]))


async def test_create_from_yaml_and_json_saves_the_spec(cli: Cli, api: Api, tmp_path: Path) -> None:
    (tmp_path / "sms.yaml").write_text(SMS_YAML)
    (tmp_path / "coupon.json").write_text(json.dumps(COUPON))

    from_yaml = await cli("webhooks", "create", "-f", str(tmp_path / "sms.yaml"))
    from_json = await cli("webhooks", "create", "-f", str(tmp_path / "coupon.json"), "--json")

    assert from_yaml.code == 0, from_yaml.err
    assert from_yaml.out.startswith("created webhook ")
    sms_id = from_yaml.out.split()[2].rstrip(",")
    sms = (await api.Get(pb.GetRequest(id=sms_id))).webhook
    assert sms.spec.name == "SMS provider"
    assert sms.spec.headers[0] == pb.Header(
        name="Authorization", value="Bearer sk_live_123", secret=True
    )
    assert sms.spec.policy.timeout.seconds == 5
    assert [d.seconds for d in sms.spec.policy.retry_schedule] == [10, 300]
    assert "data fields     text" in from_yaml.out
    assert sms.signing_secret in from_yaml.out

    coupon = from_json.json()
    assert coupon["spec"]["name"] == "Issue coupon"
    assert coupon["dataFields"] == ["text"]
    assert coupon["version"] == "1"
    stored = (await api.Get(pb.GetRequest(id=coupon["id"]))).webhook
    assert stored.spec.url == COUPON["url"]


async def test_a_spec_from_standard_input(cli: Cli, api: Api) -> None:
    made = await cli("--json", "webhooks", "create", "-f", "-", stdin=SMS_YAML)

    stored = (await api.Get(pb.GetRequest(id=made.json()["id"]))).webhook
    assert stored.spec.name == "SMS provider"


async def test_list_shows_webhooks_newest_first_and_archived_on_request(
    cli: Cli, tmp_path: Path
) -> None:
    first = await create(cli, tmp_path, {**COUPON, "name": "first"})
    second = await create(cli, tmp_path, {**COUPON, "name": "second"})
    await cli("webhooks", "archive", first.id)

    listed = await cli("webhooks", "list")
    with_archived = (await cli("webhooks", "list", "--archived", "--json")).json()

    assert listed.code == 0
    lines = listed.out.splitlines()
    assert lines[0].split()[:4] == ["ID", "VERSION", "STATE", "NAME"]
    assert len(lines) == 2
    assert lines[1].split()[:4] == [second.id, "1", "active", "second"]
    assert [w["id"] for w in with_archived["webhooks"]] == [second.id, first.id]
    assert with_archived["webhooks"][1]["state"] == "WEBHOOK_STATE_ARCHIVED"


async def test_get_shows_the_spec_and_older_versions(cli: Cli, tmp_path: Path) -> None:
    made = await create(cli, tmp_path, COUPON)
    (tmp_path / "v2.json").write_text(json.dumps({"name": "renamed"}))
    await cli(
        "webhooks", "update", made.id, "-f", str(tmp_path / "v2.json"), "--update-mask", "name"
    )

    latest = await cli("webhooks", "get", made.id)
    first = (await cli("webhooks", "get", made.id, "--version", "1", "--json")).json()

    assert latest.code == 0
    assert "version         2" in latest.out
    assert "name            renamed" in latest.out
    spec = json.loads(latest.out.split("spec:\n", 1)[1])
    assert spec["url"] == COUPON["url"]
    assert spec["body"] == COUPON["body"]
    assert first["spec"]["name"] == "Issue coupon"
    assert first["version"] == "1"


async def test_update_replaces_the_spec_or_only_the_masked_fields(
    cli: Cli, api: Api, tmp_path: Path
) -> None:
    made = await create(cli, tmp_path, COUPON)
    (tmp_path / "url.yaml").write_text("url: https://other.example.com/{{ userId }}\n")

    masked = await cli(
        "webhooks", "update", made.id, "-f", str(tmp_path / "url.yaml"), "--update-mask", "url"
    )
    (tmp_path / "whole.json").write_text(
        json.dumps({"name": "whole", "url": "https://w.example.com"})
    )
    whole = await cli(
        "--json",
        "webhooks",
        "update",
        made.id,
        "-f",
        str(tmp_path / "whole.json"),
        "--expected-version",
        "2",
    )

    assert masked.code == 0, masked.err
    assert masked.out.startswith(f"updated webhook {made.id}, now version 2")
    v2 = (await api.Get(pb.GetRequest(id=made.id, version=2))).webhook
    assert v2.spec.url == "https://other.example.com/{{ userId }}"
    assert v2.spec.name == "Issue coupon"
    assert v2.spec.body == COUPON["body"]
    assert whole.json()["version"] == "3"
    v3 = (await api.Get(pb.GetRequest(id=made.id))).webhook
    assert (v3.spec.name, v3.spec.url, v3.spec.body) == ("whole", "https://w.example.com", "")


async def test_a_stale_expected_version_is_refused(cli: Cli, tmp_path: Path) -> None:
    made = await create(cli, tmp_path, COUPON)
    (tmp_path / "name.json").write_text(json.dumps({"name": "x"}))
    path = str(tmp_path / "name.json")
    await cli("webhooks", "update", made.id, "-f", path, "--update-mask", "name")

    stale = await cli(
        "webhooks",
        "update",
        made.id,
        "-f",
        path,
        "--update-mask",
        "name",
        "--expected-version",
        "1",
    )

    assert stale.code == 1
    assert stale.out == ""
    assert stale.err.startswith("error: Aborted: ")
    assert len(stale.err.splitlines()) == 1


async def test_archive_archives(cli: Cli, api: Api, tmp_path: Path) -> None:
    made = await create(cli, tmp_path, COUPON)

    archived = await cli("webhooks", "archive", made.id)

    assert archived.code == 0
    assert f"archived webhook {made.id}" in archived.out
    assert "state           archived" in archived.out
    stored = (await api.Get(pb.GetRequest(id=made.id))).webhook
    assert stored.state == pb.WEBHOOK_STATE_ARCHIVED


async def test_rotate_secret_shows_the_new_secret(cli: Cli, api: Api, tmp_path: Path) -> None:
    made = await create(cli, tmp_path, COUPON)
    before = (await api.Get(pb.GetRequest(id=made.id))).webhook.signing_secret

    rotated = (await cli("--json", "webhooks", "rotate-secret", made.id)).json()

    assert rotated["signingSecret"] != before
    assert (
        rotated["signingSecret"]
        == (await api.Get(pb.GetRequest(id=made.id))).webhook.signing_secret
    )


async def test_render_a_saved_webhook_with_recipient_and_data(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "sms.yaml").write_text(SMS_YAML)
    sms_id = (await cli("--json", "webhooks", "create", "-f", str(tmp_path / "sms.yaml"))).json()[
        "id"
    ]

    shown = await cli(
        "render",
        sms_id,
        "--user",
        "u-42",
        "--tag",
        "phone_number=+821012345678",
        "--set",
        "text=Your code is 1234",
    )

    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0] == "POST https://sms.example.com/v1/messages"
    assert '{"to":"+821012345678","text":"Your code is 1234"}' in lines
    assert "data fields: text" in lines


async def test_render_a_draft_lists_what_rendered_empty(cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        "url: https://api.example.com/users/{{ userId }}\n"
        'body: \'{"city": "{{ tags.address.city }}", "n": "{{ amount }}"}\'\n'
    )

    shown = await cli(
        "render", "-f", str(draft), "--user", "u 1", "--data", '{"amount": 10}', "--json"
    )
    plain = await cli(
        "render",
        "-f",
        str(draft),
        "--user",
        "u-1",
        "--tags",
        '{"address": {"city": "Seoul"}}',
        "--set",
        "amount=7",
    )

    rendered = shown.json()
    assert rendered["request"]["url"] == "https://api.example.com/users/u%201"
    assert json.loads(rendered["request"]["body"]) == {"city": "", "n": "10"}
    assert rendered["missingVariables"] == ["tags.address"]
    assert plain.code == 0, plain.err
    assert '{"city":"Seoul","n":"7"}' in plain.out.splitlines()
    assert "rendered empty" not in plain.out
