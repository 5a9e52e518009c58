"""Settings, read once from `HOOKSMITH_*` environment variables at start-up."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class ConfigError(ValueError):
    """A `HOOKSMITH_*` variable has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Everything the server can be told; each field has its variable in `from_env`."""

    listen: str = "127.0.0.1:50051"
    """HOOKSMITH_LISTEN: host:port the gRPC server binds."""
    database_url: str | None = None
    """HOOKSMITH_DATABASE_URL: PostgreSQL DSN; unset starts an embedded PostgreSQL."""
    data_dir: Path = Path(".hooksmith")
    """HOOKSMITH_DATA_DIR: embedded database files and the bootstrap API key."""
    workers: int = 512
    """HOOKSMITH_WORKERS: deliveries in flight in this process; 0 disables delivery here."""
    host_concurrency: int | None = None
    """HOOKSMITH_HOST_CONCURRENCY: the most deliveries in flight to one destination (a
    receiver's host within a workspace) in this process; unset means half the workers."""
    breaker_threshold: int = 20
    """HOOKSMITH_BREAKER_THRESHOLD: failed attempts in a row that pause a destination;
    0 turns the breaker off."""
    breaker_cooldown: timedelta = timedelta(seconds=30)
    """HOOKSMITH_BREAKER_COOLDOWN: the first pause; it doubles on each trip in a row, up to
    10 minutes."""
    egress_allow: tuple[Network, ...] = ()
    """HOOKSMITH_EGRESS_ALLOW: CIDRs (comma- or space-separated) exempt from the SSRF guard."""
    history_retention: timedelta = timedelta(days=30)
    """HOOKSMITH_HISTORY_RETENTION: how long messages are kept (e.g. `30d`, `12h`)."""
    retention_interval: timedelta = timedelta(seconds=60)
    """HOOKSMITH_RETENTION_INTERVAL: how often each delivering process deletes the messages
    past retention; more than 0."""
    lease_margin: timedelta = timedelta(seconds=30)
    """HOOKSMITH_LEASE_MARGIN: added to the attempt timeout to make a worker's lease."""
    poll_interval: timedelta = timedelta(seconds=1)
    """HOOKSMITH_POLL_INTERVAL: how often idle workers look for due messages without a NOTIFY."""
    shutdown_grace: timedelta = timedelta(seconds=10)
    """HOOKSMITH_SHUTDOWN_GRACE: how long in-flight calls get on SIGTERM/SIGINT."""
    db_pool_size: int = 10
    """HOOKSMITH_DB_POOL_SIZE: connections in this process's pool."""
    log_level: str = "INFO"
    """HOOKSMITH_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR."""

    @property
    def lane_limit(self) -> int:
        """Deliveries one destination may have in flight here (at least 1)."""
        if self.host_concurrency is not None:
            return min(self.host_concurrency, max(1, self.workers))
        return max(1, self.workers // 2)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Settings from an environment mapping (pass `os.environ`)."""
        d = cls()

        def get(name: str) -> str | None:
            value = env.get(f"HOOKSMITH_{name}")
            return value if value not in (None, "") else None

        def integer(name: str, default: int, minimum: int) -> int:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"HOOKSMITH_{name}: {raw!r} is not a whole number") from None
            if value < minimum:
                raise ConfigError(f"HOOKSMITH_{name}: must be at least {minimum}, got {value}")
            return value

        def duration(name: str, default: timedelta) -> timedelta:
            raw = get(name)
            if raw is None:
                return default
            try:
                return parse_duration(raw)
            except ValueError as e:
                raise ConfigError(f"HOOKSMITH_{name}: {e}") from None

        allow_raw = get("EGRESS_ALLOW")
        try:
            allow = parse_networks(allow_raw) if allow_raw else ()
        except ValueError as e:
            raise ConfigError(f"HOOKSMITH_EGRESS_ALLOW: {e}") from None
        retention_interval = duration("RETENTION_INTERVAL", d.retention_interval)
        if retention_interval <= timedelta(0):
            # Zero would sweep in a loop without pause.
            raise ConfigError("HOOKSMITH_RETENTION_INTERVAL: must be more than 0")
        level = (get("LOG_LEVEL") or d.log_level).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"HOOKSMITH_LOG_LEVEL: unknown level {level!r}")
        listen = get("LISTEN") or d.listen
        if ":" not in listen:
            raise ConfigError(f"HOOKSMITH_LISTEN: {listen!r} is not host:port")
        return cls(
            listen=listen,
            database_url=get("DATABASE_URL"),
            data_dir=Path(get("DATA_DIR") or d.data_dir),
            workers=integer("WORKERS", d.workers, 0),
            host_concurrency=(
                integer("HOST_CONCURRENCY", 0, 1) if get("HOST_CONCURRENCY") else None
            ),
            breaker_threshold=integer("BREAKER_THRESHOLD", d.breaker_threshold, 0),
            breaker_cooldown=duration("BREAKER_COOLDOWN", d.breaker_cooldown),
            egress_allow=allow,
            history_retention=duration("HISTORY_RETENTION", d.history_retention),
            retention_interval=retention_interval,
            lease_margin=duration("LEASE_MARGIN", d.lease_margin),
            poll_interval=duration("POLL_INTERVAL", d.poll_interval),
            shutdown_grace=duration("SHUTDOWN_GRACE", d.shutdown_grace),
            db_pool_size=integer("DB_POOL_SIZE", d.db_pool_size, 2),
            log_level=level,
        )


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `5m`, `90s`, `250ms` or plain seconds."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration (examples: 30d, 12h, 5m, 90s, 250ms)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_networks(text: str) -> tuple[Network, ...]:
    """CIDRs separated by commas or spaces, e.g. `127.0.0.0/8, ::1/128`."""
    networks = []
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not a network in CIDR form (e.g. 10.0.0.0/8)") from None
    return tuple(networks)
