"""The argument parser, the dispatch to each command, and how failures are reported."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence

from hooksmith import errors
from hooksmith._sync import SyncClient
from hooksmith.cli import _messages, _outcomes, _webhooks
from hooksmith.cli._connection import API_KEY_ENV, DEFAULT_TARGET, TARGET_ENV, resolve
from hooksmith.cli._context import Context
from hooksmith.cli._inputs import UsageError, read_text
from hooksmith.cli._recipients import MAX_SEND_BATCH

# Exit statuses: 0 done; 1 the server refused the call or could not be reached;
# 2 bad input (options, files); 3 send-test ran but a test delivery failed; 130 interrupted.
FAILED = 1
BAD_INPUT = 2
INTERRUPTED = 130

ID_HELP = "the id (as create, list or history show it)"

Handler = Callable[[Context, argparse.Namespace], int]

DESCRIPTION = """\
Manage Hooksmith webhooks, preview and send them, and read their delivery history.

The server is --target, else HOOKSMITH_TARGET, else 127.0.0.1:50051 (`make run`).
The API key is --api-key, else HOOKSMITH_API_KEY, else .hooksmith/api-key in the current
directory or the nearest one above it (what `make run` writes in a checkout).
--json on any command prints the answer as JSON (the protobuf JSON form) for scripts."""

EPILOG = """\
examples:
  hooksmith webhooks create -f sms.yaml
  hooksmith render WEBHOOK_ID --user u-42 --tag phone_number=+821012345678 --set text=Hi
  hooksmith send WEBHOOK_ID --recipients users.csv --set text="Your code is 1234"
  hooksmith history --status failed --follow
  hooksmith message MESSAGE_ID

exit status: 0 done, 1 the server refused the call or could not be reached,
2 bad input, 3 send-test ran but a test delivery failed, 130 interrupted."""

CSV_HELP = """\
The CSV file has a header row: user_id (required), then any of tags.NAME,
entry_event.NAME and data.NAME columns (dots nest: tags.address.city). Cells are strings.
Each row's data is --data/--set with its data.NAME cells on top."""


def _whole(value: str, least: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < least:
        more = "at least 1" if least == 1 else f"{least} or more"
        raise argparse.ArgumentTypeError(f"{value!r} must be {more}")
    return number


def _positive(value: str) -> int:
    return _whole(value, 1)


def _batch_size(value: str) -> int:
    number = _positive(value)
    if number > MAX_SEND_BATCH:
        raise argparse.ArgumentTypeError(f"{value!r}: a call takes at most {MAX_SEND_BATCH}")
    return number


def _not_negative(value: str) -> int:
    return _whole(value, 0)


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be more than 0 seconds")
    return number


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On the top parser the options have defaults; repeated on every command (so they may
    # come before or after it) they default to "not given" and leave the top ones alone.
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--target",
        metavar="HOST:PORT",
        default=default(None),
        help=f"the server (default: ${TARGET_ENV}, else {DEFAULT_TARGET})",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=default(None),
        help=f"the API key (default: ${API_KEY_ENV}, else .hooksmith/api-key)",
    )
    group.add_argument(
        "--secure",
        action="store_true",
        default=default(False),
        help="use TLS with the system's root certificates",
    )
    group.add_argument(
        "--root-certificates",
        metavar="PEM",
        default=default(None),
        help="use TLS trusting the root certificates in this PEM file",
    )
    group.add_argument(
        "--client-cert",
        metavar="PEM",
        default=default(None),
        help="present the client certificate (chain) in this PEM file, for servers that "
        "require one (mutual TLS); turns TLS on; needs --client-key",
    )
    group.add_argument(
        "--client-key",
        metavar="PEM",
        default=default(None),
        help="the private key of --client-cert, in this PEM file",
    )
    group.add_argument(
        "--deadline",
        metavar="SECONDS",
        type=_seconds,
        default=default(10.0),
        help="deadline of each call (default: 10)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the answer as JSON (protobuf JSON form) for scripts",
    )


def _recipient_options(parser: argparse.ArgumentParser, *, many: bool) -> None:
    group = parser.add_argument_group("recipient")
    if many:
        group.add_argument(
            "--user",
            metavar="USER_ID",
            action="append",
            default=[],
            help="a recipient's user id ({{ userId }}); repeat for up to 20",
        )
    else:
        group.add_argument("--user", metavar="USER_ID", help="the user id ({{ userId }})")
    group.add_argument(
        "--tags", metavar="JSON", help="the tags as a JSON object or @FILE ({{ tags.* }})"
    )
    group.add_argument(
        "--tag",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="one tag (a string); repeatable, overrides --tags",
    )
    group.add_argument(
        "--entry-event",
        metavar="JSON",
        help="the entry event as a JSON object or @FILE ({{ entry_event.* }})",
    )


def _data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--data", metavar="JSON", help="the data fields as a JSON object or @FILE")
    group.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="one data field (a string); repeatable, overrides --data",
    )


def _command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    summary: str,
    description: str = "",
    epilog: str = "",
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=description or summary,
        epilog=epilog or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    _connection_options(parser, top=False)
    return parser


def _webhook_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    group = subparsers.add_parser(
        "webhooks",
        help="create, list, show, update, archive webhooks",
        description="Create, list, show, update and archive webhooks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(group, top=False)
    commands = group.add_subparsers(dest="webhooks_command", metavar="COMMAND", required=True)

    spec_help = (
        "the spec: a JSON or YAML file (.json, .yaml, .yml; - for standard input) with "
        "the WebhookSpec fields name, description, method, url, headers, body_format, body, "
        "template_language, policy"
    )
    p = _command(
        commands,
        "create",
        _webhooks.create,
        "save a new webhook (version 1) from a spec file",
        epilog="""\
example spec (sms.yaml):
  name: SMS provider
  url: https://sms.example.com/v1/messages
  headers:
    - {name: Authorization, value: Bearer sk_live_123, secret: true}
  body: '{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}'
  policy: {timeout: 5s, retry_schedule: [10s, 5m]}""",
    )
    p.add_argument("-f", "--file", required=True, metavar="FILE", help=spec_help)

    p = _command(commands, "list", _webhooks.list_webhooks, "list webhooks, newest first")
    p.add_argument("--archived", action="store_true", help="include archived webhooks")
    p.add_argument(
        "--limit", type=_not_negative, default=0, metavar="N", help="at most N (default: all)"
    )

    p = _command(commands, "get", _webhooks.get, "show a webhook and its spec")
    p.add_argument("id", metavar="ID", help=ID_HELP)
    p.add_argument(
        "--version",
        type=_not_negative,
        default=0,
        metavar="N",
        help="that version (default: the latest)",
    )

    p = _command(
        commands,
        "update",
        _webhooks.update,
        "save a new version of a webhook from a spec file",
        description="""\
Save a new version of a webhook. Without --update-mask the file replaces the whole
spec; with it, only the fields listed are taken from the file.""",
    )
    p.add_argument("id", metavar="ID", help=ID_HELP)
    p.add_argument("-f", "--file", required=True, metavar="FILE", help=spec_help)
    p.add_argument(
        "--update-mask",
        metavar="FIELDS",
        help="comma-separated spec fields to replace, e.g. url,headers,policy.timeout",
    )
    p.add_argument(
        "--expected-version",
        type=_not_negative,
        default=0,
        metavar="N",
        help="refuse (Aborted) unless N is still the latest version",
    )

    p = _command(
        commands,
        "archive",
        _webhooks.archive,
        "archive a webhook (the Delete RPC): its history stays, it can no longer be sent",
    )
    p.add_argument("id", metavar="ID", help=ID_HELP)

    p = _command(
        commands,
        "rotate-secret",
        _webhooks.rotate_secret,
        "add a new signing secret; for 24 h requests are signed with both",
    )
    p.add_argument("id", metavar="ID", help=ID_HELP)


def _message_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    p = _command(
        subparsers,
        "render",
        _webhooks.render,
        "show the request a webhook or a draft would send (nothing is sent)",
        description="""\
Show the exact request a saved webhook (ID) or an unsaved draft (-f FILE) would send
to a recipient with some data. Nothing is sent; signature headers are added at send time.""",
        epilog="""\
examples:
  hooksmith render WEBHOOK_ID --user u-42 --tag phone_number=+821012345678 --set text=Hi
  hooksmith render -f draft.yaml --user u-42 --data '{"text": "Hi", "amount": 10}'""",
    )
    p.add_argument("webhook_id", nargs="?", metavar="ID", help="a saved webhook")
    p.add_argument("-f", "--file", metavar="DRAFT", help="an unsaved spec file (JSON or YAML)")
    p.add_argument(
        "--version", type=_not_negative, default=0, metavar="N", help="that version of ID"
    )
    _recipient_options(p, many=False)
    _data_options(p)

    p = _command(
        subparsers,
        "send-test",
        _messages.send_test,
        "send now, once, to up to 20 recipients and show what came back",
        description="""\
Send a webhook now, once, to up to 20 recipients (--user, repeatable, or a CSV file) and
show each message's outcome. The messages are kept in history as test messages.
Exits with 3 when a test delivery failed.""",
        epilog=CSV_HELP,
    )
    p.add_argument("webhook_id", metavar="ID", help="the webhook")
    _recipient_options(p, many=True)
    p.add_argument("--recipients", metavar="CSV", help="recipients from a CSV file (see below)")
    _data_options(p)

    p = _command(
        subparsers,
        "send",
        _messages.send,
        "queue a webhook for every row of a CSV file; resumable",
        description=f"""\
Queue one message per row of a CSV file, in batches of up to {MAX_SEND_BATCH}, showing a
progress bar. Each batch carries an idempotency key made of the run id and the rows'
data, and the server keeps one message per key and user: run the same command again
after an interruption and rows already sent are not sent twice. The run id defaults
to a digest of the webhook, the file's rows and the data, so the same command is the
same run; pass --run-id to keep a run across edits of the file, or a new one to send
the same file again. Every message is labelled run=RUN_ID.""",
        epilog=f"""\
{CSV_HELP}

example users.csv:
  user_id,tags.phone_number,data.text
  u-1,+821012345678,Your code is 1234
  u-2,+821087654321,Your code is 5678""",
    )
    p.add_argument("webhook_id", metavar="ID", help="the webhook")
    p.add_argument("--recipients", required=True, metavar="CSV", help="the CSV file (- for stdin)")
    _data_options(p)
    p.add_argument("--run-id", metavar="RUN", help="the run (default: from webhook, rows and data)")
    p.add_argument(
        "--label",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a label stored with each message (filter history by it); repeatable",
    )
    p.add_argument(
        "--batch-size",
        type=_batch_size,
        default=500,
        metavar="N",
        help=f"recipients per call, at most {MAX_SEND_BATCH} (default: 500)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on standard error (default: when it is a terminal)",
    )

    p = _command(
        subparsers,
        "history",
        _messages.history,
        "list messages as a table, newest first; --follow to watch",
        description="""\
List messages, newest first, matching every filter given. With --follow, list the
newest oldest-first, then print each new message as it is created and each listed
pending message again when it finishes, until Ctrl-C. With --json, --follow prints one
JSON object per line.""",
        epilog="""\
examples:
  hooksmith history --status failed --webhook WEBHOOK_ID
  hooksmith history --label journey=welcome --since 2h --follow""",
    )
    p.add_argument("--webhook", metavar="ID", help="messages of this webhook")
    p.add_argument(
        "--status",
        action="append",
        choices=sorted(_messages.STATUSES),
        help="messages in this status; repeatable",
    )
    p.add_argument("--kind", choices=sorted(_messages.KINDS), help="test or live messages")
    p.add_argument("--user", metavar="USER_ID", help="messages to this user")
    p.add_argument(
        "--label", metavar="KEY=VALUE", action="append", default=[], help="with this label"
    )
    p.add_argument(
        "--since", metavar="TIME", help="created at or after TIME (ISO 8601, or 30m, 2h, 7d ago)"
    )
    p.add_argument("--until", metavar="TIME", help="created before TIME")
    p.add_argument(
        "--limit",
        type=_not_negative,
        default=20,
        metavar="N",
        help="at most N (default: 20; 0: all)",
    )
    p.add_argument("--follow", "-F", action="store_true", help="keep watching for new messages")
    p.add_argument(
        "--interval",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="how often --follow looks (default: 2)",
    )

    p = _command(
        subparsers,
        "message",
        _messages.message,
        "show a message and each attempt's request and response side by side",
        description="""\
Show a message and every attempt: the request as sent beside the response as received
(or the error). Secret header values are masked as the server stored them.""",
    )
    p.add_argument("id", metavar="ID", help=ID_HELP)

    p = _command(
        subparsers, "retry", _messages.retry, "queue a manual attempt of a finished message"
    )
    p.add_argument("id", metavar="ID", help=ID_HELP)

    p = _command(
        subparsers,
        "purge-user",
        _messages.purge_user,
        "erase a user's personal data from the workspace's history (an erasure request)",
        description="""\
Erase a user's personal data from the workspace's history, for an erasure request: the
request, response and error of every message and attempt of that user, and the recipient
and data they were rendered from. The messages stay, with their status, marked purged;
pending ones are failed, not sent. It cannot be undone. Needs a console key.""",
        epilog="""\
example:
  hooksmith purge-user u-42
  purged the personal data of user u-42 from 3 message(s)""",
    )
    p.add_argument("user_id", metavar="USER_ID", help="the user (Recipient.user_id)")

    p = _command(
        subparsers,
        "retry-failed",
        _messages.retry_failed,
        "queue a manual attempt of every failed live message of a webhook in a time window",
        description="""\
Queue a manual attempt of every FAILED live message of the webhook created in the
window (at most 31 days), as `retry` does for one: for the morning after a receiver's
outage. Purged messages are left out. Needs a console key. With --request-id, running
the same command again within 24 h prints the first run's count and queues nothing;
without it, a second run finds those messages no longer failed.""",
        epilog="""\
example:
  hooksmith retry-failed WEBHOOK_ID --since 2026-03-02T22:00:00Z --until 2026-03-03T06:00:00Z""",
    )
    p.add_argument("id", metavar="WEBHOOK_ID", help="the webhook")
    p.add_argument(
        "--since",
        metavar="TIME",
        required=True,
        help="created at or after TIME (ISO 8601, or 30m, 2h, 7d ago)",
    )
    p.add_argument("--until", metavar="TIME", help="created before TIME (default: now)")
    p.add_argument(
        "--request-id", metavar="ID", help="repeat-safe: the same id again queues nothing"
    )

    group = subparsers.add_parser(
        "alerts",
        help="show or set where the workspace's operator alerts go",
        description="Show or set the URL that receives the workspace's operator alerts.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(group, top=False)
    alert_commands = group.add_subparsers(dest="alerts_command", metavar="COMMAND", required=True)
    _command(
        alert_commands,
        "get",
        _messages.alerts_get,
        "show the alert URL and its signing secret",
    )
    p = _command(
        alert_commands,
        "set",
        _messages.alerts_set,
        'send the workspace\'s alerts to URL ("" stops them)',
    )
    p.add_argument("url", metavar="URL", help='http:// or https:// URL; "" clears it')


def _outcome_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    p = _command(
        subparsers,
        "outcomes",
        _outcomes.outcomes,
        "print messages as they finish (WatchOutcomes), until Ctrl-C",
        description="""\
Print each message of the workspace as it finishes (succeeded, failed or skipped), in the
stream's order, until Ctrl-C or --limit: from now on, or after --after CURSOR (the last
column of an earlier line), missing none and repeating none. RESULT is the captured values,
or why the message failed or was skipped. With --json, one JSON object per line.""",
        epilog="""\
examples:
  hooksmith outcomes --label journey=welcome
  hooksmith outcomes --webhook WEBHOOK_ID --after CURSOR --limit 100 --json""",
    )
    p.add_argument(
        "--webhook", metavar="ID", action="append", help="outcomes of this webhook; repeatable"
    )
    p.add_argument(
        "--label", metavar="KEY=VALUE", action="append", default=[], help="with this label"
    )
    p.add_argument("--include-test", action="store_true", help="test messages too")
    p.add_argument("--after", metavar="CURSOR", help="resume after this outcome's cursor")
    p.add_argument(
        "--limit", type=_not_negative, default=0, metavar="N", help="stop after N (0: never)"
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hooksmith",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(top, top=True)
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _webhook_commands(commands)
    _message_commands(commands)
    _outcome_command(commands)
    return top


def describe_error(error: errors.HooksmithError) -> str:
    """`ClassName: message`, with the field violations the message does not already say."""
    text = f"{type(error).__name__}: {error.details or error.code.name}"
    if isinstance(error, errors.InvalidArgument):
        extra = [f"{v.field}: {v.description}" for v in error.violations]
        extra = [e for e in extra if e not in error.details]
        if extra:
            text += " (" + "; ".join(extra) + ")"
    return " ".join(text.split())


def _pem(path: str, option: str, kind: str) -> bytes:
    """A PEM file's bytes; refused here, naming the option, when it holds no `kind` block
    (gRPC would only fail the first call, without saying which file was wrong)."""
    text = read_text(path)
    if f"-----BEGIN {kind}-----" not in text and not (
        kind == "PRIVATE KEY" and re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text)
    ):
        raise UsageError(f"{option} {path}: no PEM {kind.lower()} in the file")
    return text.encode()


def _connect(args: argparse.Namespace) -> Callable[[], SyncClient]:
    def connect() -> SyncClient:
        connection = resolve(args.target, args.api_key)
        roots = None
        if args.root_certificates is not None:
            roots = read_text(args.root_certificates).encode()
        if (args.client_cert is None) != (args.client_key is None):
            raise UsageError(
                "--client-cert and --client-key go together: pass the certificate and its key"
            )
        certificate = key = None
        if args.client_cert is not None and args.client_key is not None:
            certificate = _pem(args.client_cert, "--client-cert", "CERTIFICATE")
            key = _pem(args.client_key, "--client-key", "PRIVATE KEY")
        try:
            return SyncClient(
                connection.target,
                connection.api_key,
                secure=args.secure,
                root_certificates=roots,
                client_certificate=certificate,
                client_key=key,
                deadline=args.deadline,
            )
        except ValueError as e:
            raise UsageError(str(e)) from None

    return connect


def main(argv: Sequence[str] | None = None) -> int:
    """Run `hooksmith` with `argv` (default: the command line); returns the exit status.
    Bad options make argparse print the usage and the problem and exit with 2."""
    args = parser().parse_args(argv)
    ctx = Context(sys.stdout, sys.stderr, args.json, _connect(args))
    handler: Handler = args.handler
    try:
        return handler(ctx, args)
    except errors.HooksmithError as e:
        ctx.note(f"error: {describe_error(e)}")
        return FAILED
    except UsageError as e:
        ctx.note("error: " + " ".join(str(e).split()))
        return BAD_INPUT
    except KeyboardInterrupt:
        ctx.note("interrupted")
        return INTERRUPTED
    finally:
        ctx.close()
