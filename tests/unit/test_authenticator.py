"""The authenticator's cache: used only while the revocation feed is open, emptied of a
key the moment its revocation arrives, and never filled by a look-up a revocation raced."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.api.auth import KEY_TTL, Authenticator

KEY_ID = uuid.uuid4()
CALLER = domain.Caller(uuid.uuid4(), "acme", domain.Scope.CONSOLE, KEY_ID)
METADATA = (("authorization", "Bearer hks_good"),)


class Keys:
    """Keys in memory: `hks_good` until revoked; counts look-ups; can hold one open."""

    def __init__(self) -> None:
        self.lookups = 0
        self.revoked = False
        self.hold: asyncio.Event | None = None
        self.looking = asyncio.Event()

    async def authenticate(self, key: str) -> domain.Caller | None:
        self.lookups += 1
        valid = key == "hks_good" and not self.revoked
        self.looking.set()
        if self.hold is not None:
            await self.hold.wait()
        return CALLER if valid else None


class Feed:
    def __init__(self) -> None:
        self.lost = asyncio.Event()

    async def wait_closed(self) -> None:
        await self.lost.wait()

    async def close(self) -> None:
        self.lost.set()


class Revocations:
    def __init__(self) -> None:
        self.announce: Callable[[uuid.UUID], None] | None = None
        self.feed = Feed()
        self.opened = asyncio.Event()

    async def watch_revocations(self, revoked: Callable[[uuid.UUID], None]) -> Feed:
        self.announce = revoked
        self.feed = Feed()
        self.opened.set()
        return self.feed


async def following(auth: Authenticator, revocations: Revocations) -> asyncio.Task[None]:
    task = asyncio.create_task(auth.follow(revocations))
    await asyncio.wait_for(revocations.opened.wait(), 5)
    assert auth.caching
    return task


async def test_nothing_is_cached_until_the_revocation_feed_is_open() -> None:
    keys = Keys()
    auth = Authenticator(keys)
    for _ in range(3):
        assert await auth.authenticate(METADATA) == CALLER
    assert keys.lookups == 3


async def test_a_revocation_drops_the_cached_key_at_once() -> None:
    keys, revocations = Keys(), Revocations()
    auth = Authenticator(keys)
    task = await following(auth, revocations)
    try:
        await auth.authenticate(METADATA)
        await auth.authenticate(METADATA)
        assert keys.lookups == 1, "the second call was answered from the cache"
        keys.revoked = True
        assert revocations.announce is not None
        revocations.announce(KEY_ID)
        with pytest.raises(errors.Unauthenticated):
            await auth.authenticate(METADATA)
    finally:
        task.cancel()


async def test_a_lookup_that_a_revocation_raced_is_not_cached() -> None:
    keys, revocations = Keys(), Revocations()
    auth = Authenticator(keys)
    task = await following(auth, revocations)
    try:
        keys.hold = asyncio.Event()
        pending = asyncio.create_task(auth.authenticate(METADATA))
        await asyncio.wait_for(keys.looking.wait(), 5)
        # The look-up read the key as valid; the revocation commits before it returns.
        keys.revoked = True
        assert revocations.announce is not None
        revocations.announce(KEY_ID)
        keys.hold.set()
        assert await pending == CALLER  # that call started before the revocation
        with pytest.raises(errors.Unauthenticated):
            await auth.authenticate(METADATA)
    finally:
        task.cancel()


async def test_losing_the_feed_empties_the_cache_and_stops_caching() -> None:
    keys, revocations = Keys(), Revocations()
    auth = Authenticator(keys)
    task = await following(auth, revocations)
    try:
        await auth.authenticate(METADATA)
        revocations.opened.clear()
        revocations.feed.lost.set()
        await asyncio.sleep(0)  # the follower sees the feed close
        assert not auth.caching
        before = keys.lookups
        await auth.authenticate(METADATA)
        await auth.authenticate(METADATA)
        assert keys.lookups == before + 2
    finally:
        task.cancel()


async def test_a_revocation_whose_notice_never_came_holds_for_the_ttl_at_most() -> None:
    # The feed looks open, but its connection died unnoticed: no notice arrives.
    keys, revocations = Keys(), Revocations()
    auth = Authenticator(keys, ttl=0.2)
    task = await following(auth, revocations)
    try:
        await auth.authenticate(METADATA)
        keys.revoked = True
        assert await auth.authenticate(METADATA) == CALLER  # still remembered
        await asyncio.sleep(0.25)
        with pytest.raises(errors.Unauthenticated):
            await auth.authenticate(METADATA)
    finally:
        task.cancel()


def test_a_remembered_key_is_asked_about_again_within_seconds() -> None:
    assert KEY_TTL <= 5.0
