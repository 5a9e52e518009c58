"""`hooksmith webhooks ...` and `hooksmith render`."""

from __future__ import annotations

import argparse
from typing import Any

from google.protobuf import json_format

from hooksmith.cli._context import Context
from hooksmith.cli._inputs import UsageError, assignments, json_object, load_spec, merged
from hooksmith.cli._output import dumps, method, request_lines, state, table, when
from hooksmith.v1 import webhooks_pb2 as pb


def describe(webhook: pb.Webhook, *, with_spec: bool) -> list[str]:
    spec = webhook.spec
    rows = [
        ("id", webhook.id),
        ("version", str(webhook.version)),
        ("state", state(webhook.state)),
        ("name", spec.name),
        ("description", spec.description),
        ("request", f"{method(spec.method)} {spec.url}"),
        ("data fields", ", ".join(webhook.data_fields) or "(none)"),
        ("signing secret", webhook.signing_secret),
        ("created", when(webhook.create_time)),
        ("updated", when(webhook.update_time)),
    ]
    health = webhook.destination_health
    if health.destination:
        text = f"{health.destination} ({pb.DestinationState.Name(health.state)[18:].lower()}"
        if health.state == pb.DESTINATION_STATE_PAUSED:
            text += f" until {when(health.paused_until)}"
        if health.consecutive_failures:
            text += f", {health.consecutive_failures} failures in a row"
        text += ")"
        if health.last_error:
            text += f" last error: {health.last_error}"
        rows.append(("destination", text))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows if value]
    if with_spec:
        document = json_format.MessageToDict(spec, preserving_proto_field_name=True)
        lines += ["", "spec:", dumps(document)]
    return lines


def _show(ctx: Context, webhook: pb.Webhook, headline: str, *, with_spec: bool = False) -> int:
    if ctx.json:
        ctx.emit(webhook)
        return 0
    if headline:
        ctx.print(headline)
    ctx.print("\n".join(describe(webhook, with_spec=with_spec)))
    return 0


def create(ctx: Context, args: argparse.Namespace) -> int:
    spec = load_spec(args.file)
    webhook = ctx.client.create(spec)
    return _show(ctx, webhook, f"created webhook {webhook.id}, version {webhook.version}")


def list_webhooks(ctx: Context, args: argparse.Namespace) -> int:
    found: list[pb.Webhook] = []
    for webhook in ctx.client.iter_webhooks(page_size=100, show_archived=args.archived):
        found.append(webhook)
        if args.limit and len(found) >= args.limit:
            break
    if ctx.json:
        ctx.print(dumps({"webhooks": [json_format.MessageToDict(w) for w in found]}))
        return 0
    if not found:
        ctx.print("no webhooks" + ("" if args.archived else " (--archived shows archived ones)"))
        return 0
    rows = [
        (
            w.id,
            str(w.version),
            state(w.state),
            w.spec.name,
            ", ".join(w.data_fields),
            f"{method(w.spec.method)} {w.spec.url}",
        )
        for w in found
    ]
    ctx.print(table(("ID", "VERSION", "STATE", "NAME", "DATA FIELDS", "REQUEST"), rows))
    return 0


def get(ctx: Context, args: argparse.Namespace) -> int:
    webhook = ctx.client.get(args.id, version=args.version)
    return _show(ctx, webhook, "", with_spec=True)


def update(ctx: Context, args: argparse.Namespace) -> int:
    spec = load_spec(args.file)
    mask = None
    if args.update_mask is not None:
        mask = [path.strip() for path in args.update_mask.split(",") if path.strip()]
        if not mask:
            raise UsageError("--update-mask: expected spec fields such as name,url,headers")
    webhook = ctx.client.update(
        args.id, spec, update_mask=mask, expected_version=args.expected_version
    )
    return _show(ctx, webhook, f"updated webhook {webhook.id}, now version {webhook.version}")


def archive(ctx: Context, args: argparse.Namespace) -> int:
    webhook = ctx.client.delete(args.id)
    return _show(ctx, webhook, f"archived webhook {webhook.id}; its pending messages are failed")


def rotate_secret(ctx: Context, args: argparse.Namespace) -> int:
    webhook = ctx.client.rotate_secret(args.id)
    return _show(
        ctx,
        webhook,
        f"rotated the signing secret of {webhook.id}; for 24 h requests carry both signatures",
    )


def recipient(args: argparse.Namespace, user_id: str) -> dict[str, Any]:
    """The recipient the --tags/--tag/--entry-event options describe."""
    value: dict[str, Any] = {"user_id": user_id}
    tags = merged(
        json_object(args.tags, "--tags") if args.tags else {}, assignments(args.tag, "--tag")
    )
    if tags:
        value["tags"] = tags
    if args.entry_event:
        value["entry_event"] = json_object(args.entry_event, "--entry-event")
    return value


def data(args: argparse.Namespace) -> dict[str, Any]:
    """The data the --data/--set options describe."""
    base = json_object(args.data, "--data") if args.data else {}
    return merged(base, assignments(args.set, "--set"))


def render(ctx: Context, args: argparse.Namespace) -> int:
    if (args.webhook_id is None) == (args.file is None):
        raise UsageError("render takes a saved webhook's ID or -f DRAFT, not both or neither")
    if args.file is not None and args.version:
        raise UsageError("--version applies to a saved webhook, not to a draft")
    response = ctx.client.render(
        args.webhook_id,
        draft=None if args.file is None else load_spec(args.file),
        version=args.version,
        recipient=recipient(args, args.user or ""),
        data=data(args),
    )
    if ctx.json:
        ctx.emit(response)
        return 0
    ctx.print("\n".join(request_lines(response.request)))
    ctx.print()
    ctx.print(f"data fields: {', '.join(response.data_fields) or '(none)'}")
    if response.missing_variables:
        ctx.print(f"rendered empty: {', '.join(response.missing_variables)}")
    return 0
