"""`hooksmith-server`: serve, migrate and manage API keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

# `observability` before the app: importing it quiets gRPC's C core, which reads its
# verbosity once, when it loads.
from hooksmith_server import domain, errors, observability  # noqa: F401
from hooksmith_server.app import (
    Application,
    bootstrap_key,
    key_hint,
    migrate,
    resolve_database,
    secret_keyring,
)
from hooksmith_server.config import ConfigError, Settings, parse_duration
from hooksmith_server.observability import logs
from hooksmith_server.store import crypto, sealing
from hooksmith_server.store import db as store_db
from hooksmith_server.store.keys import KeyStore
from hooksmith_server.store.retention import RetentionStore

log = logging.getLogger("hooksmith_server")


# The variables each command reads, for its --help. Every variable `Settings.from_env`
# reads is here, with the default shown from `Settings()`; tests/unit/test_server_help.py
# holds the commands to it.
VARIABLES: dict[str, str] = {
    "LISTEN": "host:port the gRPC server binds",
    "DATABASE_URL": "PostgreSQL DSN; unset starts an embedded PostgreSQL in HOOKSMITH_DATA_DIR",
    "DATA_DIR": "the embedded database, its first API key and its secret key",
    "WORKERS": "deliveries in flight in this process; 0 turns delivery off here",
    "HOST_CONCURRENCY": "most deliveries in flight to one destination (unset: half the workers)",
    "BREAKER_THRESHOLD": "failed attempts in a row that pause a destination; 0: no breaker",
    "BREAKER_COOLDOWN": "the first pause of a destination; doubles per trip, up to 10m",
    "ALERT_WINDOW": "failures of a webhook within this long share one alert (default 10m)",
    "EGRESS_ALLOW": "CIDRs webhooks may reach although they are not public addresses",
    "HISTORY_RETENTION": "how long finished messages are kept (a workspace may differ)",
    "IDEMPOTENCY_RETENTION": "how long Send's idempotency keys are kept (hashed)",
    "RETENTION_INTERVAL": "how often messages past retention are deleted",
    "LEASE_MARGIN": "added to an attempt's timeout to make a worker's lease",
    "POLL_INTERVAL": "how often idle workers look for due messages without a NOTIFY",
    "SHUTDOWN_GRACE": "how long in-flight calls and deliveries get on SIGTERM/SIGINT",
    "TLS_CERT": "PEM certificate chain of the gRPC port; with HOOKSMITH_TLS_KEY, TLS on",
    "TLS_KEY": "PEM private key of HOOKSMITH_TLS_CERT",
    "TLS_CLIENT_CA": "PEM CA certificates; callers must present a certificate they signed",
    "MAX_MESSAGE_SIZE": "the largest request accepted (4MiB, 512KiB or bytes)",
    "MAX_CONCURRENT_RPCS": "calls in progress in this process; one more is RESOURCE_EXHAUSTED",
    "MAX_CONNECTIONS": "open client connections to this process; more are refused",
    "IDLE_TIMEOUT": "a client connection without a call for this long is closed",
    "SECRET_KEY": "base64 of the 32-byte key sealing secrets (openssl rand -base64 32)",
    "SECRET_KEYS_OLD": "earlier secret keys still opening values sealed before a rotation",
    "DB_POOL_SIZE": "database connections in this process's pool",
    "LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR",
    "LOG_FORMAT": "text (readable lines) or json (one object per line)",
    "ADMIN_LISTEN": "host:port of the admin HTTP server with /metrics (unset: none)",
}
_DATABASE = ("DATABASE_URL", "DATA_DIR")
_LOGS = ("LOG_LEVEL", "LOG_FORMAT")
_SECRETS = ("SECRET_KEY", "SECRET_KEYS_OLD")
_GRPC = (
    "LISTEN",
    "TLS_CERT",
    "TLS_KEY",
    "TLS_CLIENT_CA",
    "MAX_MESSAGE_SIZE",
    "MAX_CONCURRENT_RPCS",
    "MAX_CONNECTIONS",
    "IDLE_TIMEOUT",
)
_DELIVERY = (
    "WORKERS",
    "HOST_CONCURRENCY",
    "BREAKER_THRESHOLD",
    "BREAKER_COOLDOWN",
    "ALERT_WINDOW",
    "EGRESS_ALLOW",
    "HISTORY_RETENTION",
    "IDEMPOTENCY_RETENTION",
    "RETENTION_INTERVAL",
    "LEASE_MARGIN",
    "POLL_INTERVAL",
)
_PROCESS = ("DB_POOL_SIZE", "SHUTDOWN_GRACE", "ADMIN_LISTEN")
COMMAND_VARIABLES: dict[str, tuple[str, ...]] = {
    "serve": (*_DATABASE, *_SECRETS, *_GRPC, *_DELIVERY, *_PROCESS, *_LOGS),
    "worker": (*_DATABASE, *_SECRETS, *_DELIVERY, *_PROCESS, *_LOGS),
    "migrate": (*_DATABASE, *_LOGS),
    "keys create": (*_DATABASE, *_LOGS),
    "keys list": (*_DATABASE, *_LOGS),
    "keys revoke": (*_DATABASE, *_LOGS),
    "secrets rotate-key": (*_DATABASE, *_SECRETS, *_LOGS),
    "workspaces set-retention": (*_DATABASE, "HISTORY_RETENTION", *_LOGS),
}
"""The variables each command uses, by its words on the command line."""


_HELP_WIDTH = 88


def _default(name: str) -> str | None:
    value = getattr(Settings(), name.lower())
    if value is None or value == ():
        return None
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, int) and value >= 1024**2 and value % 1024**2 == 0:
        return f"{value // 1024**2}MiB"
    return str(value)


def variables_help(command: str) -> str:
    """The epilog of a command: the HOOKSMITH_* variables it reads, with their defaults."""
    names = COMMAND_VARIABLES[command]
    width = max(len(f"HOOKSMITH_{name}") for name in names)
    lines = ["environment (the HOOKSMITH_* variables this command reads):"]
    for name in names:
        text = VARIABLES[name]
        default = _default(name)
        if default is not None:
            text += f" (default: {default})"
        wrapped = textwrap.wrap(text, width=max(40, _HELP_WIDTH - width - 4))
        lines.append(f"  {f'HOOKSMITH_{name}'.ljust(width)}  {wrapped[0]}")
        lines.extend(" " * (width + 4) + more for more in wrapped[1:])
    lines += [
        "",
        "Every command checks all HOOKSMITH_* variables at start; a malformed one stops it.",
    ]
    return "\n".join(lines)


def _subcommand(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    path: str,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=variables_help(path),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hooksmith-server",
        description="""\
Hooksmith webhook service: serves hooksmith.v1.WebhookService over gRPC, delivers the
messages it queues, and manages its database, API keys and secret keys.""",
        epilog="""\
Configured by HOOKSMITH_* variables (the README has them all); `hooksmith-server
COMMAND --help` says what a command does and lists the variables it reads.
Without HOOKSMITH_DATABASE_URL every command uses the embedded PostgreSQL in
HOOKSMITH_DATA_DIR (.hooksmith).""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _subcommand(
        commands,
        "serve",
        "serve",
        "migrate, then serve gRPC and deliver messages",
        """\
Migrate the database, then serve gRPC on HOOKSMITH_LISTEN and deliver queued messages
with HOOKSMITH_WORKERS in flight, until SIGTERM or SIGINT. With the embedded database,
the first start creates workspace `default` and a console API key, printed once and
written to HOOKSMITH_DATA_DIR/api-key.""",
    )
    _subcommand(
        commands,
        "worker",
        "worker",
        "deliver messages only (no gRPC); run as many as you like",
        """\
Deliver queued messages, serving no gRPC, until SIGTERM or SIGINT. Run as many as you
like against the same database as the servers: they never take the same message.""",
    )
    _subcommand(
        commands,
        "migrate",
        "migrate",
        "apply database migrations and exit",
        "Apply the database migrations not yet applied, and exit. `serve` does it too.",
    )
    keys = commands.add_parser(
        "keys",
        help="manage API keys",
        description="Create, list and revoke API keys.",
    )
    key_commands = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    create = _subcommand(
        key_commands,
        "create",
        "keys create",
        "create an API key and print it",
        """\
Create an API key for a workspace (created if new) and print it, once: only its hash
is stored.""",
    )
    create.add_argument("--workspace", required=True, help="workspace name (created if new)")
    create.add_argument(
        "--scope",
        choices=[s.value for s in domain.Scope],
        default=domain.Scope.CONSOLE.value,
        help="console: every RPC; journey: Send, Get, List, Render and WatchOutcomes only",
    )
    listing = _subcommand(
        key_commands,
        "list",
        "keys list",
        "list API keys: workspace, scope, prefix, created, last used",
        "List the API keys as a table: workspace, scope, prefix, created, last used.",
    )
    listing.add_argument("--all", action="store_true", help="also list revoked keys")
    revoke = _subcommand(
        key_commands,
        "revoke",
        "keys revoke",
        "revoke an API key; every server refuses it at once",
        "Revoke an API key by its prefix; every server refuses it from then on.",
    )
    revoke.add_argument("prefix", metavar="PREFIX", help="the key's prefix from `keys list`")
    workspaces = commands.add_parser(
        "workspaces", help="manage workspaces", description="Manage workspaces."
    )
    workspace_commands = workspaces.add_subparsers(
        dest="workspaces_command", metavar="COMMAND", required=True
    )
    set_retention = _subcommand(
        workspace_commands,
        "set-retention",
        "workspaces set-retention",
        "keep a workspace's finished messages this long instead of HOOKSMITH_HISTORY_RETENTION",
        """\
Keep a workspace's finished messages for DURATION instead of HOOKSMITH_HISTORY_RETENTION,
or (`default`) go back to it. Every delivering process applies it at its next sweep.""",
    )
    set_retention.add_argument("name", metavar="NAME", help="the workspace's name")
    set_retention.add_argument(
        "retention",
        metavar="DURATION",
        help="e.g. 7d, 12h, 90d; `default` returns to HOOKSMITH_HISTORY_RETENTION",
    )
    secret_keys = commands.add_parser(
        "secrets",
        help="manage the key that seals secrets at rest",
        description="Manage the key that seals signing secrets and secret header values.",
    )
    secret_commands = secret_keys.add_subparsers(
        dest="secrets_command", metavar="COMMAND", required=True
    )
    _subcommand(
        secret_commands,
        "rotate-key",
        "secrets rotate-key",
        "seal every stored secret with HOOKSMITH_SECRET_KEY, in small batches (safe "
        "while servers run); then the keys in HOOKSMITH_SECRET_KEYS_OLD can go",
        """\
Seal every stored secret with HOOKSMITH_SECRET_KEY, in small batches (safe while servers
run), opening the old values with HOOKSMITH_SECRET_KEYS_OLD. It says which old keys seal
nothing any more and can be removed.""",
    )
    return parser


async def _serve(settings: Settings, *, serve_grpc: bool = True) -> None:
    if not serve_grpc and settings.workers == 0:
        raise errors.InvalidArgument.field("HOOKSMITH_WORKERS", "a worker needs at least 1")
    _raise_file_limit()
    dsn, is_embedded = await resolve_database(settings)
    keyring = secret_keyring(settings, embedded=is_embedded)
    app = Application(settings, dsn, serve_grpc=serve_grpc, keyring=keyring)
    await app.start()
    if is_embedded and serve_grpc and app.database is not None:
        key = await bootstrap_key(app.database, settings)
        if key is not None:
            print(
                "Created workspace 'default' and a console API key "
                f"(also written to {settings.data_dir / 'api-key'}):"
            )
            print(key, flush=True)
    elif serve_grpc and app.database is not None and not await KeyStore(app.database).any_keys():
        # An outside database starts with no key, and every call needs one.
        print(
            "This database has no API key yet; every call needs one. Create one with:\n"
            "  hooksmith-server keys create --workspace NAME",
            flush=True,
        )
    # Before the line that says it is up: a SIGTERM right after it is a graceful stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if serve_grpc:
        print(f"hooksmith-server listening on {settings.listen}", flush=True)
    else:
        print(f"hooksmith-server worker delivering ({settings.workers} in flight)", flush=True)
    if app.admin is not None:
        print(f"metrics at http://{app.admin.address}/metrics", flush=True)
        if serve_grpc:
            print(f"console at http://{app.admin.address}/console/", flush=True)
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await app.stop()


async def _migrate(settings: Settings) -> None:
    dsn, _ = await resolve_database(settings)
    applied = await migrate(dsn)
    print(f"applied {len(applied)} migration(s)" if applied else "database is up to date")


async def _create_key(settings: Settings, workspace: str, scope: str) -> None:
    if not workspace.strip():
        raise errors.InvalidArgument.field("--workspace", "must not be empty")
    dsn, _ = await resolve_database(settings)
    await migrate(dsn)
    database = await store_db.Database.connect(dsn, max_size=2)
    try:
        key = await KeyStore(database).create(workspace.strip(), domain.Scope(scope))
    finally:
        await database.close()
    print(f"Created a {scope} key for workspace {workspace.strip()!r}. It is shown only once:")
    print(key)


async def _list_keys(settings: Settings, include_revoked: bool) -> None:
    async with _key_store(settings) as keys:
        found = await keys.list_keys(include_revoked=include_revoked)
    columns = ["WORKSPACE", "SCOPE", "PREFIX", "CREATED", "LAST USED"]
    if include_revoked:
        columns.append("REVOKED")
    rows = [columns]
    for key in found:
        row = [
            key.workspace,
            key.scope.value,
            key.prefix,
            _when(key.create_time),
            _when(key.last_use_time) if key.last_use_time else "never",
        ]
        if include_revoked:
            row.append(_when(key.revoke_time) if key.revoke_time else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


async def _revoke_key(settings: Settings, prefix: str) -> None:
    async with _key_store(settings) as keys:
        revoked = await keys.revoke(prefix)
    print(
        f"Revoked the {revoked.scope.value} key {revoked.prefix} of workspace "
        f"{revoked.workspace!r}; running servers refuse it from now on."
    )


@contextlib.asynccontextmanager
async def _key_store(settings: Settings) -> AsyncIterator[KeyStore]:
    dsn, _ = await resolve_database(settings)
    await migrate(dsn)
    database = await store_db.Database.connect(dsn, max_size=2)
    try:
        yield KeyStore(database)
    finally:
        await database.close()


async def _set_retention(settings: Settings, name: str, text: str) -> None:
    retention: timedelta | None = None
    if text.strip().lower() != "default":
        try:
            retention = parse_duration(text)
        except ValueError as e:
            raise errors.InvalidArgument.field("DURATION", str(e)) from None
        if retention <= timedelta(0):
            raise errors.InvalidArgument.field("DURATION", "must be more than 0")
    dsn, _ = await resolve_database(settings)
    await migrate(dsn)
    database = await store_db.Database.connect(dsn, max_size=2)
    try:
        await RetentionStore(database).set_workspace_retention(name, retention)
    finally:
        await database.close()
    if retention is None:
        print(
            f"Workspace {name!r} keeps finished messages for HOOKSMITH_HISTORY_RETENTION "
            f"({_duration(settings.history_retention)} here)."
        )
    else:
        print(f"Workspace {name!r} keeps finished messages for {_duration(retention)}.")


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _raise_file_limit() -> None:
    """Let this process open as many files (connections) as the system allows it.

    The soft limit is often 1,024: at it, new callers and deliveries would fail with
    "Too many open files" while the hard limit still has room.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _rotate_key(settings: Settings) -> None:
    dsn, is_embedded = await resolve_database(settings)
    keyring = secret_keyring(settings, embedded=is_embedded)
    await migrate(dsn)
    database = await store_db.Database.connect(dsn, max_size=2)
    try:
        done = await sealing.rotate(database, keyring, hint=key_hint(settings))
    finally:
        await database.close()
    for kid in done.retired:
        print(f"key {kid} seals nothing any more: remove it from HOOKSMITH_SECRET_KEYS_OLD")
    if done.still_used:
        left = ", ".join(f"{n} value(s) under key {kid}" for kid, n in done.still_used.items())
        raise crypto.SecretKeyError(
            f"re-encrypted {done.resealed} secret value(s), but {left} were written meanwhile "
            "by a process still sealing with an old key: give every process the new "
            "HOOKSMITH_SECRET_KEY, restart it, and run rotate-key again"
        )
    print(f"re-encrypted {done.resealed} secret value(s) under key {done.key_id}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as e:
        print(f"hooksmith-server: {e}", file=sys.stderr)
        return 2
    # Libraries' own INFO lines (embedded PostgreSQL's initdb and pg_ctl, aiohttp's access
    # log) are left out; only their problems interest operators.
    logs.configure(settings.log_level, settings.log_format)
    try:
        if args.command == "serve":
            asyncio.run(_serve(settings))
        elif args.command == "worker":
            asyncio.run(_serve(settings, serve_grpc=False))
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "workspaces":
            asyncio.run(_set_retention(settings, args.name, args.retention))
        elif args.command == "secrets":
            asyncio.run(_rotate_key(settings))
        elif args.command == "keys" and args.keys_command == "list":
            asyncio.run(_list_keys(settings, args.all))
        elif args.command == "keys" and args.keys_command == "revoke":
            asyncio.run(_revoke_key(settings, args.prefix))
        elif args.command == "keys":
            asyncio.run(_create_key(settings, args.workspace, args.scope))
    except errors.HooksmithError as e:
        print(f"hooksmith-server: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
