"""Operator alerts: the use cases behind GetAlertSettings and UpdateAlertSettings."""

from __future__ import annotations

from hooksmith_server import domain, errors
from hooksmith_server.delivery import signing
from hooksmith_server.rendering import checks
from hooksmith_server.rendering.limits import Limits
from hooksmith_server.store.alerts import AlertStore

_LIMITS = Limits()


def check_url(url: str) -> None:
    """An alert URL is a plain http(s) URL, checked as a webhook's rendered URL is. The
    egress guard checks where it points at send time, as for every delivery."""
    problem = checks.url_source_problem(url) or checks.rendered_url_problem(url, _LIMITS)
    if problem is not None:
        raise errors.InvalidArgument.field("settings.url", problem)


class Alerts:
    """Where a workspace's alerts go. Console keys only: the settings hold a secret."""

    def __init__(self, store: AlertStore) -> None:
        self._store = store

    async def get(self, caller: domain.Caller) -> domain.AlertSettings:
        return await self._store.settings(caller.workspace_id)

    async def update(self, caller: domain.Caller, url: str) -> domain.AlertSettings:
        """Set the alert URL (a signing secret is made on the first set); empty clears."""
        if url:
            check_url(url)
        return await self._store.update(caller.workspace_id, url, signing.new_secret())
