"""Named SQL queries, kept in `.sql` files beside this module.

A file holds blocks that each start with a `-- name: <query_name>` line; the
text up to the next such line is the query. Queries are parameterised
(`$1`, `$2`, ...) and nothing is ever formatted into them.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse(text: str) -> dict[str, str]:
    """Split a `.sql` file into its named queries."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


class Queries:
    """The queries of one `.sql` file, as attributes: `queries.get_webhook`."""

    def __init__(self, filename: str) -> None:
        text = resources.files(__package__).joinpath("sql", filename).read_text("utf-8")
        self._queries = parse(text)

    def __getattr__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"no query named {name!r}") from None
