"""The composition root: every long-lived object is made here and passed in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from hooksmith.v1 import webhooks_pb2
from hooksmith_server import breaker, domain, errors, rendering
from hooksmith_server.api import registration
from hooksmith_server.api.auth import Authenticator
from hooksmith_server.api.servicer import WebhookServicer
from hooksmith_server.config import Settings
from hooksmith_server.delivery import egress, signing
from hooksmith_server.delivery.deliverer import Deliverer
from hooksmith_server.delivery.dispatcher import Dispatcher
from hooksmith_server.delivery.recorder import Recorder
from hooksmith_server.delivery.sender import HttpSender
from hooksmith_server.service.messages import Messages
from hooksmith_server.service.retention import Retention
from hooksmith_server.service.versions import Versions
from hooksmith_server.service.webhooks import Webhooks
from hooksmith_server.store import db as store_db
from hooksmith_server.store import embedded, migrations
from hooksmith_server.store.catalog import Clock, WebhookStore, utc_now
from hooksmith_server.store.destinations import DestinationStore
from hooksmith_server.store.history import HistoryStore
from hooksmith_server.store.intake import Intake
from hooksmith_server.store.keys import KeyStore
from hooksmith_server.store.queue import QueueStore

log = logging.getLogger(__name__)

SERVICE_NAME = webhooks_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name


async def resolve_database(settings: Settings) -> tuple[str, bool]:
    """The DSN to use, and whether it is the embedded server."""
    if settings.database_url:
        return settings.database_url, False
    admin = await asyncio.to_thread(embedded.start, settings.data_dir)
    return await embedded.ensure_database(admin), True


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
    port: int = 0
    clock: Clock = utc_now
    """The time the catalog stamps rows with and expires rotated secrets by."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """Open the pool, start delivery and serve; on failure, close what was opened."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = self.settings
        await migrate(self.dsn)
        self.database = await store_db.Database.connect(self.dsn, max_size=settings.db_pool_size)
        renderer = rendering.Renderer()
        catalog = WebhookStore(self.database, clock=self.clock)
        breakers = breaker.Policy(settings.breaker_threshold, settings.breaker_cooldown)
        queue = QueueStore(self.database, breakers)
        history = HistoryStore(self.database)
        versions = Versions(catalog, renderer)
        secrets = signing.SigningSecrets(catalog)
        guard = egress.EgressGuard(settings.egress_allow)
        self.session = HttpSender.create_session(guard, limit=max(64, settings.workers + 20))
        deliverer = Deliverer(versions, secrets, HttpSender(self.session, guard))

        if settings.workers > 0:
            self.recorder = recorder = Recorder(queue)
            self.dispatcher = Dispatcher(
                queue,
                deliverer,
                recorder,
                concurrency=settings.workers,
                lane_limit=settings.lane_limit,
                poll_interval=settings.poll_interval,
                lease_margin=settings.lease_margin,
            )
            retention = Retention(
                history,
                settings.history_retention,
                interval=settings.retention_interval.total_seconds(),
            )
            self._tasks += [
                asyncio.create_task(supervise("recorder", recorder.run)),
                asyncio.create_task(supervise("dispatcher", self.dispatcher.run)),
                asyncio.create_task(supervise("retention", retention.run)),
            ]
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
            )
            servicer = WebhookServicer(Authenticator(KeyStore(self.database)), webhooks, messages)
            await self._serve(servicer)

    async def _serve(self, servicer: WebhookServicer) -> None:
        # Without SO_REUSEPORT a second server on a taken port fails to start instead of
        # silently sharing the port and answering half of the calls.
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        registration.add_to_server(servicer, server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        check_listen(self.settings.listen)
        try:
            self.port = server.add_insecure_port(self.settings.listen)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise errors.Unavailable(
                f"cannot listen on {self.settings.listen}: the address is in use or not available"
            )
        await server.start()
        self.server = server
        for name in ("", SERVICE_NAME):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving hooksmith.v1.WebhookService on port %d", self.port)

    async def stop(self) -> None:
        """Stop taking calls and claims, let in-flight work finish within the grace, close."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_grace.total_seconds()

        def left() -> float:
            return max(0.0, deadline - loop.time())

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
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.database is not None:
            await self.database.close()
            self.database = None


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
