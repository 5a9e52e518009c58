"""The database as stored: every row of every table as text, and the sealed columns."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def dump(database_url: str) -> str:
    """Every row of every table of the schema, as PostgreSQL prints it."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        out = []
        for table in tables:
            # Names come from the catalog, never from input.
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table["tablename"]}" t')
            out += [f"{table['tablename']}: {r['row']}" for r in rows]
        return "\n".join(out)
    finally:
        await conn.close()


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def execute(database_url: str, query: str, *args: Any) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def signing_secrets(database_url: str) -> list[str]:
    return [r["secret"] for r in await fetch(database_url, "SELECT secret FROM signing_secrets")]


async def secret_headers(database_url: str) -> list[dict[str, Any]]:
    """Every header marked secret of every stored version, as stored."""
    rows = await fetch(
        database_url,
        "SELECT h::text AS header FROM webhook_versions v, "
        "jsonb_array_elements(v.spec -> 'headers') h WHERE (h ->> 'secret')::boolean",
    )
    return [json.loads(r["header"]) for r in rows]


async def key_ids(database_url: str) -> list[str]:
    return [r["key_id"] for r in await fetch(database_url, "SELECT key_id FROM secret_keys")]


async def auth_secrets(database_url: str) -> list[dict[str, Any]]:
    """The `auth` of every stored version that has one, as stored."""
    rows = await fetch(
        database_url,
        "SELECT (spec -> 'auth')::text AS auth FROM webhook_versions WHERE spec ? 'auth'",
    )
    return [json.loads(r["auth"]) for r in rows]
