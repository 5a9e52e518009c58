"""One compiled webhook rendered from many threads and tasks at once."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from hooksmith_server.rendering import CompiledWebhook

from .support import compile_spec, render

BODY = (
    '{"user": "{{ userId }}", "name": "{{ tags.name | default(\'anon\') }}", '
    '"text": "{% set n = tags.n %}{% for i in range(n) %}{{ i }}{% endfor %}{{ text }}"}'
)


def _check(webhook: CompiledWebhook, i: int) -> None:
    tags = {"name": f"name-{i}", "n": float(i % 5)} if i % 2 else {"n": float(i % 5)}
    rendered = render(webhook, user_id=f"u{i}", tags=tags, data={"text": f"t{i}"})
    expected_name = f"name-{i}" if i % 2 else "anon"
    assert json.loads(rendered.request.body) == {
        "user": f"u{i}",
        "name": expected_name,
        "text": "".join(str(k) for k in range(i % 5)) + f"t{i}",
    }
    assert rendered.request.url == f"https://example.com/u{i}"
    assert rendered.missing_variables == (() if i % 2 else ("tags.name",))


def test_renders_from_many_threads_do_not_interfere() -> None:
    webhook = compile_spec(url="https://example.com/{{ userId }}", body=BODY)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: _check(webhook, i), range(2000)))


async def test_renders_from_many_tasks_do_not_interfere() -> None:
    webhook = compile_spec(url="https://example.com/{{ userId }}", body=BODY)

    async def one(i: int) -> None:
        await asyncio.sleep(0)
        _check(webhook, i)

    await asyncio.gather(*(one(i) for i in range(500)))
