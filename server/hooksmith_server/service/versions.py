"""Saved webhook versions with their compiled templates, cached per process."""

from __future__ import annotations

import uuid
from collections import OrderedDict

from hooksmith_server import domain, rendering
from hooksmith_server.store.catalog import WebhookStore


class Versions:
    """Saved versions with their compiled templates, cached: versions never change."""

    def __init__(
        self, store: WebhookStore, renderer: rendering.Renderer, *, cache_size: int = 2048
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._cache_size = cache_size
        # Compiling costs about a millisecond a field; a version is compiled once per process.
        self._cache: OrderedDict[tuple[uuid.UUID, uuid.UUID, int], rendering.CompiledWebhook]
        self._cache = OrderedDict()

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
