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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hooksmith-server",
        description="Hooksmith webhook service. Configured by HOOKSMITH_* variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then serve gRPC and deliver messages")
    commands.add_parser("worker", help="deliver messages only (no gRPC); run as many as you like")
    commands.add_parser("migrate", help="apply database migrations and exit")
    keys = commands.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create an API key and print it")
    create.add_argument("--workspace", required=True, help="workspace name (created if new)")
    create.add_argument(
        "--scope",
        choices=[s.value for s in domain.Scope],
        default=domain.Scope.CONSOLE.value,
        help="console: every RPC; journey: Send, Get, List and Render only",
    )
    listing = key_commands.add_parser(
        "list", help="list API keys: workspace, scope, prefix, created, last used"
    )
    listing.add_argument("--all", action="store_true", help="also list revoked keys")
    revoke = key_commands.add_parser(
        "revoke", help="revoke an API key; every server refuses it at once"
    )
    revoke.add_argument("prefix", metavar="PREFIX", help="the key's prefix from `keys list`")
    workspaces = commands.add_parser("workspaces", help="manage workspaces")
    workspace_commands = workspaces.add_subparsers(dest="workspaces_command", required=True)
    set_retention = workspace_commands.add_parser(
        "set-retention",
        help="keep a workspace's finished messages this long instead of "
        "HOOKSMITH_HISTORY_RETENTION",
    )
    set_retention.add_argument("name", metavar="NAME", help="the workspace's name")
    set_retention.add_argument(
        "retention",
        metavar="DURATION",
        help="e.g. 7d, 12h, 90d; `default` returns to HOOKSMITH_HISTORY_RETENTION",
    )
    secret_keys = commands.add_parser("secrets", help="manage the key that seals secrets at rest")
    secret_commands = secret_keys.add_subparsers(dest="secrets_command", required=True)
    secret_commands.add_parser(
        "rotate-key",
        help="seal every stored secret with HOOKSMITH_SECRET_KEY, in small batches (safe "
        "while servers run); then the keys in HOOKSMITH_SECRET_KEYS_OLD can go",
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
