"""Saved webhook versions with their compiled templates, cached per process."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

from hooksmith_server import domain, rendering
from hooksmith_server.store.catalog import WebhookStore

HEAD_TTL = 1.0
"""Seconds a webhook's current version and state are reused for Send.

A change made in this process is seen at once (`forget`); one made in another process
within this time: a Send in that second pins the version current a moment before, and
a Send accepted just after an archive is failed at its claim without a request."""


class Versions:
    """Saved versions with their compiled templates, cached: versions never change.

    Also each webhook's current version, briefly: Send reads it on every call.
    """

    def __init__(
        self, store: WebhookStore, renderer: rendering.Renderer, *, cache_size: int = 2048
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._cache_size = cache_size
        # Compiling costs about a millisecond a field; a version is compiled once per process.
        self._cache: OrderedDict[tuple[uuid.UUID, uuid.UUID, int], rendering.CompiledWebhook]
        self._cache = OrderedDict()
        self._heads: OrderedDict[tuple[uuid.UUID, uuid.UUID], tuple[float, domain.Webhook]]
        self._heads = OrderedDict()

    def _cached(self, key: tuple[uuid.UUID, uuid.UUID, int]) -> rendering.CompiledWebhook | None:
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    def compiled(
        self, workspace_id: uuid.UUID, webhook: domain.Webhook
    ) -> rendering.CompiledWebhook:
        key = (workspace_id, uuid.UUID(webhook.id), webhook.version)
        found = self._cached(key)
        if found is not None:
            return found
        compiled = self._renderer.compile(webhook.spec)
        self._cache[key] = compiled
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return compiled

    async def load(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, version: int
    ) -> rendering.CompiledWebhook:
        """The compiled templates of one saved version (`version` > 0)."""
        found = self._cached((workspace_id, webhook_id, version))
        if found is not None:
            return found
        webhook = await self._store.get(workspace_id, webhook_id, version)
        return self.compiled(workspace_id, webhook)

    async def current(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, *, fresh: bool = False
    ) -> domain.Webhook:
        """The webhook's latest version; read within `HEAD_TTL` unless `fresh`."""
        key = (workspace_id, webhook_id)
        now = time.monotonic()
        cached = self._heads.get(key)
        if cached is not None and not fresh and now - cached[0] < HEAD_TTL:
            return cached[1]
        webhook = await self._store.get(workspace_id, webhook_id, 0)
        self._heads[key] = (now, webhook)
        self._heads.move_to_end(key)
        if len(self._heads) > self._cache_size:
            self._heads.popitem(last=False)
        return webhook

    def forget(self, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
        """The webhook changed in this process: read its current version again."""
        self._heads.pop((workspace_id, webhook_id), None)
