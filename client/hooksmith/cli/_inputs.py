"""Reading what the user types or points at: spec files (JSON or YAML), JSON objects,
NAME=VALUE pairs and times. Every problem is a `UsageError` naming the input."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from hooksmith.v1 import webhooks_pb2 as pb


class UsageError(Exception):
    """Bad input on the command line or in a file it names; printed as one line."""


YAML_SUFFIXES = (".yaml", ".yml")


def read_text(path: str) -> str:
    """The text of `path`, or of standard input for `-`."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None


def _parse_yaml(text: str, source: str) -> object:
    try:
        import yaml
    except ImportError:
        raise UsageError(
            f"{source}: reading YAML needs PyYAML; install the command with "
            "pip install 'hooksmith[cli]'"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UsageError(f"{source}: not valid YAML: {e}".replace("\n", " ")) from None


def _parse_json(text: str, source: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(
            f"{source}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None


def load_document(path: str) -> dict[str, Any]:
    """A JSON or YAML object from a file (`-` for standard input). `.yaml` and `.yml` files
    are YAML, `.json` files JSON; anything else is read as JSON, or as YAML if it is not."""
    text = read_text(path)
    source = "standard input" if path == "-" else path
    if path.endswith(YAML_SUFFIXES):
        value = _parse_yaml(text, source)
    elif path.endswith(".json"):
        value = _parse_json(text, source)
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = _parse_yaml(text, source)
    if not isinstance(value, dict):
        raise UsageError(f"{source}: expected an object (field: value, ...) at the top")
    return value


def load_spec(path: str) -> pb.WebhookSpec:
    """A `WebhookSpec` from its JSON or YAML form (proto or camelCase field names)."""
    document = load_document(path)
    source = "standard input" if path == "-" else path
    policy = document.get("policy")
    if isinstance(policy, dict):
        document = {**document, "policy": _policy_durations(policy, source)}
    try:
        return json_format.ParseDict(document, pb.WebhookSpec())
    except json_format.ParseError as e:
        raise UsageError(f"{source}: not a webhook spec: {e}") from None


def _proto_duration(value: object, where: str) -> object:
    """`90s`, `5m`, `2h`, `1d` or a number of seconds, as the proto's JSON form ("300s")."""
    if isinstance(value, bool):
        return value  # left for the parser to refuse
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.match(value.strip()):
        seconds = duration(value, where).total_seconds()
    else:
        return value
    if seconds.is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.9f}".rstrip("0") + "s"


def _policy_durations(policy: dict[str, Any], source: str) -> dict[str, Any]:
    """The spec's policy with its durations in any of the forms `_proto_duration` takes."""
    result = dict(policy)
    if "timeout" in result:
        result["timeout"] = _proto_duration(result["timeout"], f"{source}: policy.timeout")
    for name in ("retry_schedule", "retrySchedule"):
        delays = result.get(name)
        if isinstance(delays, list):
            result[name] = [
                _proto_duration(d, f"{source}: policy.{name}[{i}]") for i, d in enumerate(delays)
            ]
    return result


def json_object(value: str, option: str) -> dict[str, Any]:
    """A JSON object given inline or as `@FILE`."""
    source = option
    if value.startswith("@"):
        source = f"{option} {value}"
        value = read_text(value[1:])
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as e:
        raise UsageError(f"{source}: not valid JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(parsed, dict):
        raise UsageError(f'{source}: expected a JSON object such as \'{{"name": "value"}}\'')
    return parsed


def put(target: dict[str, Any], dotted: str, value: object, source: str) -> None:
    """Set `a.b.c` in nested dicts."""
    parts = dotted.split(".")
    if not all(parts):
        raise UsageError(f"{source}: {dotted!r} is not a name (empty part between dots)")
    node = target
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"{source}: {dotted!r} goes inside {part!r}, which is a value")
        node = child
    if isinstance(node.get(parts[-1]), dict):
        raise UsageError(f"{source}: {dotted!r} is already an object")
    node[parts[-1]] = value


def assignments(items: Iterable[str], option: str) -> dict[str, Any]:
    """`NAME=VALUE` pairs as a dict of strings; dotted names nest (`a.b=1`)."""
    result: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE")
        put(result, name, value, option)
    return result


def merged(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; nested objects are merged key by key."""
    result: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            current = result.get(key)
            if isinstance(current, dict) and isinstance(value, Mapping):
                result[key] = merged(current, value)
            else:
                result[key] = value
    return result


def labels(items: Iterable[str]) -> dict[str, str]:
    """`--label KEY=VALUE` pairs; a key may appear once."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--label {item!r}: expected KEY=VALUE")
        if key in result:
            raise UsageError(f"--label {key!r} is given twice")
        result[key] = value
    return result


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(value: str, option: str) -> timedelta:
    """`90s`, `15m`, `2h`, `7d`."""
    match = _DURATION.match(value.strip())
    if not match:
        raise UsageError(f"{option} {value!r}: expected a duration such as 90s, 15m, 2h or 7d")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def point_in_time(value: str, option: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise), or a duration meaning that long ago."""
    if _DURATION.match(value.strip()):
        return now - duration(value, option)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r}: expected an ISO 8601 time (2025-06-01T09:00:00Z) "
            "or a duration ago (30m, 2h, 7d)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
