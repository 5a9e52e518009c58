"""The admin HTTP server (`HOOKSMITH_ADMIN_LISTEN`): `/metrics`, and room for more pages.

`AdminServer.web` is a plain `aiohttp.web.Application`: the composition root adds
the routes of other pages to it before `start`, after which aiohttp freezes it.
"""

from __future__ import annotations

import logging

from aiohttp import web

from hooksmith_server import errors
from hooksmith_server.config import parse_host_port
from hooksmith_server.observability.metrics import CONTENT_TYPE, Metrics, QueueGauges

log = logging.getLogger(__name__)


class AdminServer:
    """Serves `/metrics` for `metrics`; reads `gauges` (when given) at each scrape."""

    def __init__(self, listen: str, metrics: Metrics, gauges: QueueGauges | None = None) -> None:
        self.listen = listen
        self.host, self._port = parse_host_port(listen)
        self.metrics = metrics
        self.gauges = gauges
        self.web = web.Application()
        self.web.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self.port = 0
        """The port it listens on once started (the one the system chose for port 0)."""

    async def start(self) -> None:
        """Bind and serve; `errors.Unavailable` naming the address when it cannot be bound."""
        runner = web.AppRunner(self.web, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port, reuse_port=False)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            reason = e.strerror or str(e)
            raise errors.Unavailable(
                f"cannot listen on {self.listen} (HOOKSMITH_ADMIN_LISTEN): {reason}"
            ) from None
        self._runner = runner
        # (host, port) for IPv4, (host, port, flow, scope) for IPv6.
        ports = [a[1] for a in runner.addresses if isinstance(a, tuple)]
        self.port = ports[0] if ports else self._port
        log.info("admin HTTP server on %s port %d (/metrics)", self.host, self.port)

    @property
    def address(self) -> str:
        """`host:port` it listens on (IPv6 hosts in brackets), for printing."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.gauges is not None:
            try:
                self.metrics.queue(await self.gauges.read())
            except errors.Unavailable as e:
                # The counters are still worth having; the gauges keep their last values.
                self.metrics.queue_read_failures.inc()
                log.warning("queue gauges not read for /metrics: %s", e)
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
