"""The composition root: every long-lived object is made here and passed in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from hooksmith.v1 import webhooks_pb2
from hooksmith_server import breaker, domain, errors, rendering
from hooksmith_server.api import registration, transport
from hooksmith_server.api.auth import Authenticator, KeyCheck
from hooksmith_server.api.health import HealthWatcher
from hooksmith_server.api.observe import Observe
from hooksmith_server.api.servicer import WebhookServicer
from hooksmith_server.config import Settings
from hooksmith_server.console.session import Sessions
from hooksmith_server.console.web import Console
from hooksmith_server.delivery import egress, signing
from hooksmith_server.delivery.alerts import AlertWorker
from hooksmith_server.delivery.credentials import Credentials
from hooksmith_server.delivery.deliverer import Deliverer
from hooksmith_server.delivery.dispatcher import Dispatcher
from hooksmith_server.delivery.recorder import Recorder
from hooksmith_server.delivery.sender import HttpSender
from hooksmith_server.observability.admin import AdminServer
from hooksmith_server.observability.metrics import Metrics
from hooksmith_server.observability.tracing import Tracing
from hooksmith_server.service.alerts import Alerts
from hooksmith_server.service.messages import Messages
from hooksmith_server.service.outcomes import Outcomes
from hooksmith_server.service.retention import Retention
from hooksmith_server.service.versions import Versions
from hooksmith_server.service.webhooks import Webhooks
from hooksmith_server.store import crypto, embedded, migrations, sealing
from hooksmith_server.store import db as store_db
from hooksmith_server.store.alerts import AlertStore
from hooksmith_server.store.catalog import Clock, WebhookStore, utc_now
from hooksmith_server.store.destinations import DestinationStore
from hooksmith_server.store.gauges import QueueGaugeStore
from hooksmith_server.store.history import HistoryStore
from hooksmith_server.store.intake import Intake
from hooksmith_server.store.keys import KeyStore
from hooksmith_server.store.outcomes import OutcomeStore
from hooksmith_server.store.purge import PurgeStore
from hooksmith_server.store.queue import QueueStore
from hooksmith_server.store.recovery import RecoveryStore
from hooksmith_server.store.retention import RetentionStore

log = logging.getLogger(__name__)

SERVICE_NAME = webhooks_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name


async def resolve_database(settings: Settings) -> tuple[str, bool]:
    """The DSN to use, and whether it is the embedded server."""
    if settings.database_url:
        return settings.database_url, False
    admin = await asyncio.to_thread(embedded.start, settings.data_dir)
    return await embedded.ensure_database(admin), True


SECRET_KEY_FILE = "secret-key"
"""The embedded database's secret key, in the data directory."""


def secret_keyring(settings: Settings, *, embedded: bool) -> crypto.Keyring:
    """The keys that seal secrets at rest: HOOKSMITH_SECRET_KEY (and the old keys), or
    for the embedded database without one, the key in `<data dir>/secret-key`, made on
    first use. An outside database without a key is a clear error."""
    if settings.secret_key is not None:
        return crypto.Keyring(settings.secret_key, settings.secret_keys_old)
    if embedded:
        return crypto.Keyring(crypto.key_file(settings.data_dir / SECRET_KEY_FILE))
    raise crypto.SecretKeyError(
        "HOOKSMITH_SECRET_KEY is not set: with HOOKSMITH_DATABASE_URL, secrets are sealed with "
        "a key you keep; make one with `openssl rand -base64 32` and set HOOKSMITH_SECRET_KEY "
        "to it in every process"
    )


def key_hint(settings: Settings) -> str:
    """Where the key of this installation is kept, for the key check's error."""
    if settings.secret_key is None and not settings.database_url:
        return f" (the embedded database's key is kept in {settings.data_dir / SECRET_KEY_FILE})"
    return ""


CONSOLE_KEY_FILE = "console-key"
"""Without HOOKSMITH_SECRET_KEY, the console's sessions are sealed with this key in the
data directory, made on first use."""


def console_key(settings: Settings) -> bytes:
    """The master key of the console's session cookies and CSRF tokens: HOOKSMITH_SECRET_KEY
    (the console derives its own keys from it with HKDF), or `<data dir>/console-key`."""
    if settings.secret_key is not None:
        return settings.secret_key
    return crypto.key_file(settings.data_dir / CONSOLE_KEY_FILE)


async def migrate(dsn: str) -> list[migrations.Migration]:
    conn = await store_db.connect_once(dsn)
    try:
        return await migrations.apply(conn)
    finally:
        await conn.close()


@dataclass
class Application:
    """A running server: database pool, gRPC server and delivery workers."""

    settings: Settings
    dsn: str
    serve_grpc: bool = True
    database: store_db.Database | None = None
    server: grpc.aio.Server | None = None
    session: aiohttp.ClientSession | None = None
    dispatcher: Dispatcher | None = None
    recorder: Recorder | None = None
    health_watcher: HealthWatcher | None = None
    authenticator: Authenticator | None = None
    outcomes: Outcomes | None = None
    """The WatchOutcomes streams of this server, ended first when it stops."""
    port: int = 0
    clock: Clock = utc_now
    """The time the catalog stamps rows with and expires rotated secrets by."""
    keyring: crypto.Keyring | None = None
    """The keys that seal secrets at rest; unset, HOOKSMITH_SECRET_KEY is required."""
    metrics: Metrics = field(default_factory=Metrics)
    """This server's metrics, in a registry of its own: servers in one process don't mix."""
    tracing: Tracing | None = None
    """Spans per RPC and per attempt; unset, made from the OTEL_* variables at start."""
    admin: AdminServer | None = None
    """The admin HTTP server (`/metrics`) when HOOKSMITH_ADMIN_LISTEN is set."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def admin_port(self) -> int:
        """The admin server's port (the one chosen for port 0); 0 when there is none."""
        return self.admin.port if self.admin is not None else 0

    async def start(self) -> None:
        """Open the pool, start delivery and serve; on failure, close what was opened."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = self.settings
        if self.tracing is None:
            self.tracing = Tracing.from_env(os.environ)
        tracing = self.tracing
        keyring = self.keyring or secret_keyring(settings, embedded=False)
        await migrate(self.dsn)
        self.database = await store_db.Database.connect(self.dsn, max_size=settings.db_pool_size)
        # Before anything is served: keys that cannot open what is stored stop the start.
        await sealing.check_keys(self.database, keyring, hint=key_hint(settings))
        await sealing.seal_plaintext(self.database, keyring)
        renderer = rendering.Renderer()
        catalog = WebhookStore(self.database, keyring=keyring, clock=self.clock)
        breakers = breaker.Policy(settings.breaker_threshold, settings.breaker_cooldown)
        queue = QueueStore(self.database, breakers, alert_window=settings.alert_window)
        alert_store = AlertStore(self.database, keyring=keyring)
        history = HistoryStore(self.database)
        versions = Versions(catalog, renderer)
        secrets = signing.SigningSecrets(catalog)
        guard = egress.EgressGuard(settings.egress_allow)
        self.session = HttpSender.create_session(guard, limit=max(64, settings.workers + 20))
        sender = HttpSender(self.session, guard)
        deliverer = Deliverer(
            versions,
            secrets,
            sender,
            metrics=self.metrics,
            tracing=tracing,
            # OAuth2 tokens, fetched through the same guarded sender, shared by every attempt.
            tokens=Credentials(sender),
        )

        if settings.workers > 0:
            self.recorder = recorder = Recorder(queue, metrics=self.metrics)
            self.dispatcher = Dispatcher(
                queue,
                deliverer,
                recorder,
                concurrency=settings.workers,
                lane_limit=settings.lane_limit,
                poll_interval=settings.poll_interval,
                lease_margin=settings.lease_margin,
                metrics=self.metrics,
            )
            retention = Retention(
                RetentionStore(self.database),
                settings.history_retention,
                idempotency_retention=settings.idempotency_retention,
                interval=settings.retention_interval.total_seconds(),
                clock=self.clock,
            )
            alert_worker = AlertWorker(
                alert_store, sender, poll=settings.poll_interval.total_seconds()
            )
            self._tasks += [
                asyncio.create_task(supervise("recorder", recorder.run)),
                asyncio.create_task(supervise("dispatcher", self.dispatcher.run)),
                asyncio.create_task(supervise("retention", retention.run)),
                asyncio.create_task(supervise("alerts", alert_worker.run)),
            ]
        console_parts: tuple[Webhooks, Messages, Authenticator] | None = None
        if self.serve_grpc:
            webhooks = Webhooks(
                catalog, renderer, versions, secrets, DestinationStore(self.database)
            )
            intake = Intake(queue)
            self._tasks.append(asyncio.create_task(supervise("intake", intake.run)))
            messages = Messages(
                versions,
                queue,
                intake,
                history,
                deliverer,
                lease_margin=settings.lease_margin,
                purges=PurgeStore(self.database),
                recovery=RecoveryStore(self.database),
            )
            keys = KeyStore(self.database)
            self.authenticator = authenticator = Authenticator(keys)
            # Revoked keys leave every process's cache the moment the revocation commits.
            self._tasks.append(
                asyncio.create_task(
                    supervise("key revocations", lambda: authenticator.follow(keys))
                )
            )
            self.outcomes = outcomes = Outcomes(OutcomeStore(self.database), versions)
            # Streams wake the moment any process finishes a message of their workspace.
            self._tasks.append(asyncio.create_task(supervise("outcome notices", outcomes.follow)))
            servicer = WebhookServicer(
                authenticator, webhooks, messages, Alerts(alert_store), outcomes
            )
            await self._serve(servicer)
            console_parts = (webhooks, messages, authenticator)
        if settings.admin_listen is not None:
            self.admin = AdminServer(
                settings.admin_listen, self.metrics, QueueGaugeStore(self.database)
            )
            # Other pages of the admin server add their routes to `self.admin.web` here,
            # before it starts (aiohttp freezes the router then).
            if console_parts is not None:
                console_webhooks, console_messages, console_keys = console_parts
                Console(
                    console_webhooks,
                    console_messages,
                    console_keys,
                    Sessions(console_key(settings)),
                ).mount(self.admin.web)
            await self.admin.start()

    async def _serve(self, servicer: WebhookServicer) -> None:
        settings = self.settings
        credentials = transport.server_credentials(settings)
        # Keys are checked from the metadata before a request is read; past the cap on
        # calls in progress a call is RESOURCE_EXHAUSTED, also before it is read.
        server = grpc.aio.server(
            interceptors=[
                # First, so calls refused by the key check are counted and traced too.
                Observe(self.metrics, self.tracing or Tracing(), SERVICE_NAME),
                KeyCheck(servicer.auth, SERVICE_NAME),
            ],
            options=transport.server_options(settings),
            maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        )
        registration.add_to_server(servicer, server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        check_listen(self.settings.listen)
        try:
            if credentials is None:
                self.port = server.add_insecure_port(settings.listen)
            else:
                self.port = server.add_secure_port(settings.listen, credentials)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise errors.Unavailable(
                f"cannot listen on {self.settings.listen}: the address is in use or not available"
            )
        await server.start()
        self.server = server
        # SERVING while the database answers, NOT_SERVING while it cannot be reached.
        assert self.database is not None
        self.health_watcher = HealthWatcher(health_servicer, ("", SERVICE_NAME), self.database.ping)
        await self.health_watcher.check()
        self._tasks.append(asyncio.create_task(supervise("health", self.health_watcher.run)))
        log.info("serving hooksmith.v1.WebhookService on port %d", self.port)

    async def stop(self) -> None:
        """Stop taking calls and claims, let in-flight work finish within the grace, close."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_grace.total_seconds()

        def left() -> float:
            return max(0.0, deadline - loop.time())

        if self.outcomes is not None:
            # Streams never end by themselves: told to end now, their clients resume
            # elsewhere instead of holding the grace period.
            self.outcomes.stop()
        if self.server is not None:
            await self.server.stop(left())
            self.server = None
        if self.dispatcher is not None:
            await self.dispatcher.stop(left())
            self.dispatcher = None
        if self.recorder is not None:
            # Outcomes of the attempts that finished are written before the pool closes;
            # whatever is left keeps its lease and is attempted again after a restart.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.recorder.drain(), max(left(), 1.0))
            self.recorder = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.admin is not None:
            await self.admin.stop()
            self.admin = None
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.database is not None:
            await self.database.close()
            self.database = None
        if self.tracing is not None:
            # Spans still buffered are exported before the process ends (off the loop:
            # the exporter blocks).
            await asyncio.to_thread(self.tracing.shutdown)


def check_listen(listen: str) -> None:
    """Raise `errors.Unavailable` naming why `listen` (host:port) cannot be bound.

    gRPC would log the same failure through its own logger, in its own format; a
    trial bind first gives the operator one line that says why.
    """
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(
            host or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, address in infos:
            with socket.socket(family, kind, proto) as trial:
                trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                trial.bind(address)
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise errors.Unavailable(f"cannot listen on {listen}: {reason}") from None


async def supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a background loop; if it ever fails, log why and start it again."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s stopped unexpectedly; restarting it in 1 s", name)
            await asyncio.sleep(1.0)


async def bootstrap_key(database: store_db.Database, settings: Settings) -> str | None:
    """On a fresh embedded database: workspace `default` and a console key, written to a file."""
    keys = KeyStore(database)
    if await keys.any_keys():
        return None
    key = await keys.create("default", domain.Scope.CONSOLE)
    path = settings.data_dir / "api-key"
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
