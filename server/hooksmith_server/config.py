"""Settings, read once from `HOOKSMITH_*` environment variables at start-up."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    alert_window: timedelta = timedelta(minutes=10)
    """HOOKSMITH_ALERT_WINDOW: messages of a webhook that fail for good within this long
    (from the first) share one `webhook.messages_failed` alert; more than 0."""
    egress_allow: tuple[Network, ...] = ()
    """HOOKSMITH_EGRESS_ALLOW: CIDRs (comma- or space-separated) exempt from the SSRF guard."""
    history_retention: timedelta = timedelta(days=30)
    """HOOKSMITH_HISTORY_RETENTION: how long messages are kept after they finished (e.g.
    `30d`, `12h`); a workspace may have its own (`hooksmith-server workspaces
    set-retention`)."""
    idempotency_retention: timedelta = timedelta(days=90)
    """HOOKSMITH_IDEMPOTENCY_RETENTION: how long a Send's idempotency keys are kept (hashed),
    even after their messages are removed; more than 0."""
    retention_interval: timedelta = timedelta(seconds=60)
    """HOOKSMITH_RETENTION_INTERVAL: how often each delivering process deletes the messages
    past retention; more than 0."""
    lease_margin: timedelta = timedelta(seconds=30)
    """HOOKSMITH_LEASE_MARGIN: added to the attempt timeout to make a worker's lease."""
    poll_interval: timedelta = timedelta(seconds=1)
    """HOOKSMITH_POLL_INTERVAL: how often idle workers look for due messages without a NOTIFY."""
    shutdown_grace: timedelta = timedelta(seconds=10)
    """HOOKSMITH_SHUTDOWN_GRACE: how long in-flight calls get on SIGTERM/SIGINT."""
    tls_cert: Path | None = None
    """HOOKSMITH_TLS_CERT: PEM certificate chain of the gRPC port; with HOOKSMITH_TLS_KEY it
    turns TLS on. Unset serves plaintext."""
    tls_key: Path | None = None
    """HOOKSMITH_TLS_KEY: PEM private key of HOOKSMITH_TLS_CERT."""
    tls_client_ca: Path | None = None
    """HOOKSMITH_TLS_CLIENT_CA: PEM certificates of the CAs that sign client certificates;
    when set, every caller must present a certificate one of them signed (mutual TLS)."""
    max_message_size: int = 4 * 1024 * 1024
    """HOOKSMITH_MAX_MESSAGE_SIZE: the largest request accepted, in bytes (`4MiB`, `512KiB`
    and plain bytes are understood); a larger one is RESOURCE_EXHAUSTED."""
    max_concurrent_rpcs: int = 256
    """HOOKSMITH_MAX_CONCURRENT_RPCS: calls in progress in this process; one more is
    RESOURCE_EXHAUSTED. With the message size it bounds the memory calls hold."""
    max_connections: int = 10_000
    """HOOKSMITH_MAX_CONNECTIONS: open client connections to this process; more are refused."""
    idle_timeout: timedelta = timedelta(minutes=5)
    """HOOKSMITH_IDLE_TIMEOUT: a client connection without a call for this long is closed."""
    secret_key: bytes | None = field(default=None, repr=False)
    """HOOKSMITH_SECRET_KEY: the key that seals secrets at rest (signing secrets and header
    values marked secret), the base64 of 32 random bytes (`openssl rand -base64 32`).
    Required with HOOKSMITH_DATABASE_URL; with the embedded database and no key, one is
    made in `<data dir>/secret-key` (mode 0600) on the first start."""
    secret_keys_old: tuple[bytes, ...] = field(default=(), repr=False)
    """HOOKSMITH_SECRET_KEYS_OLD: earlier keys (same format, comma- or space-separated) that
    still open values sealed before a key rotation, until `hooksmith-server secrets
    rotate-key` has sealed everything under HOOKSMITH_SECRET_KEY."""
    db_pool_size: int = 10
    """HOOKSMITH_DB_POOL_SIZE: connections in this process's pool."""
    log_level: str = "INFO"
    """HOOKSMITH_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR."""
    log_format: str = "text"
    """HOOKSMITH_LOG_FORMAT: `text` (readable lines) or `json` (one object per line)."""
    admin_listen: str | None = None
    """HOOKSMITH_ADMIN_LISTEN: host:port of the admin HTTP server (`/metrics`, and the
    console at `/console/` in `serve`); unset means no admin server."""

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

        def path(name: str) -> Path | None:
            raw = get(name)
            return Path(raw).expanduser() if raw is not None else None

        allow_raw = get("EGRESS_ALLOW")
        try:
            allow = parse_networks(allow_raw) if allow_raw else ()
        except ValueError as e:
            raise ConfigError(f"HOOKSMITH_EGRESS_ALLOW: {e}") from None
        retention_interval = duration("RETENTION_INTERVAL", d.retention_interval)
        idempotency_retention = duration("IDEMPOTENCY_RETENTION", d.idempotency_retention)
        if idempotency_retention <= timedelta(0):
            raise ConfigError("HOOKSMITH_IDEMPOTENCY_RETENTION: must be more than 0")
        if retention_interval <= timedelta(0):
            # Zero would sweep in a loop without pause.
            raise ConfigError("HOOKSMITH_RETENTION_INTERVAL: must be more than 0")
        alert_window = duration("ALERT_WINDOW", d.alert_window)
        if alert_window <= timedelta(0):
            raise ConfigError("HOOKSMITH_ALERT_WINDOW: must be more than 0")
        level = (get("LOG_LEVEL") or d.log_level).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"HOOKSMITH_LOG_LEVEL: unknown level {level!r}")
        listen = get("LISTEN") or d.listen
        if ":" not in listen:
            raise ConfigError(f"HOOKSMITH_LISTEN: {listen!r} is not host:port")
        log_format = (get("LOG_FORMAT") or d.log_format).lower()
        if log_format not in ("text", "json"):
            raise ConfigError(f"HOOKSMITH_LOG_FORMAT: {log_format!r} is not `text` or `json`")
        admin_listen = get("ADMIN_LISTEN")
        if admin_listen is not None:
            try:
                parse_host_port(admin_listen)
            except ValueError as e:
                raise ConfigError(f"HOOKSMITH_ADMIN_LISTEN: {e}") from None
        tls_cert, tls_key = path("TLS_CERT"), path("TLS_KEY")
        tls_client_ca = path("TLS_CLIENT_CA")
        if (tls_cert is None) != (tls_key is None):
            raise ConfigError("HOOKSMITH_TLS_CERT and HOOKSMITH_TLS_KEY: set both, or neither")
        if tls_client_ca is not None and tls_cert is None:
            raise ConfigError(
                "HOOKSMITH_TLS_CLIENT_CA: mutual TLS needs HOOKSMITH_TLS_CERT and HOOKSMITH_TLS_KEY"
            )
        size_raw = get("MAX_MESSAGE_SIZE")
        try:
            max_message_size = parse_size(size_raw) if size_raw else d.max_message_size
        except ValueError as e:
            raise ConfigError(f"HOOKSMITH_MAX_MESSAGE_SIZE: {e}") from None
        idle_timeout = duration("IDLE_TIMEOUT", d.idle_timeout)
        if idle_timeout <= timedelta(0):
            raise ConfigError("HOOKSMITH_IDLE_TIMEOUT: must be more than 0")
        try:
            secret_key = parse_secret_key(raw) if (raw := get("SECRET_KEY")) else None
        except ValueError as e:
            raise ConfigError(f"HOOKSMITH_SECRET_KEY: {e}") from None
        old_raw = get("SECRET_KEYS_OLD")
        try:
            secret_keys_old = tuple(
                parse_secret_key(part) for part in re.split(r"[\s,]+", old_raw or "") if part
            )
        except ValueError as e:
            raise ConfigError(f"HOOKSMITH_SECRET_KEYS_OLD: {e}") from None
        if secret_keys_old and secret_key is None:
            raise ConfigError(
                "HOOKSMITH_SECRET_KEYS_OLD: set HOOKSMITH_SECRET_KEY too (the key to seal with)"
            )
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
            alert_window=alert_window,
            egress_allow=allow,
            history_retention=duration("HISTORY_RETENTION", d.history_retention),
            retention_interval=retention_interval,
            idempotency_retention=idempotency_retention,
            lease_margin=duration("LEASE_MARGIN", d.lease_margin),
            poll_interval=duration("POLL_INTERVAL", d.poll_interval),
            shutdown_grace=duration("SHUTDOWN_GRACE", d.shutdown_grace),
            secret_key=secret_key,
            secret_keys_old=secret_keys_old,
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_client_ca=tls_client_ca,
            max_message_size=max_message_size,
            max_concurrent_rpcs=integer("MAX_CONCURRENT_RPCS", d.max_concurrent_rpcs, 1),
            max_connections=integer("MAX_CONNECTIONS", d.max_connections, 1),
            idle_timeout=idle_timeout,
            db_pool_size=integer("DB_POOL_SIZE", d.db_pool_size, 2),
            log_level=level,
            log_format=log_format,
            admin_listen=admin_listen,
        )


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `5m`, `90s`, `250ms` or plain seconds."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration (examples: 30d, 12h, 5m, 90s, 250ms)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_host_port(text: str) -> tuple[str, int]:
    """`host:port` (`[::1]:9090` for IPv6) with a port from 0 to 65535; 0 picks a free one."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:8080)")
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{port!r} in {text!r} is not a port number from 0 to 65535")
    return host.strip("[]"), int(port)


_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_MAX_SIZE = 2**31 - 1  # gRPC keeps message lengths in a signed 32-bit integer


def parse_size(text: str) -> int:
    """`4MiB`, `512KiB`, `1GiB` or plain bytes; at least 1 and below 2 GiB."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a size (examples: 4MiB, 512KiB, 1048576)")
    value = int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    if not 1 <= value <= _MAX_SIZE:
        raise ValueError(f"{text!r} must be from 1 byte to 2 GiB less one byte")
    return value


SECRET_KEY_BYTES = 32
"""A secret key is 32 bytes: AES-256."""


def parse_secret_key(text: str) -> bytes:
    """A secret key from its base64 (standard alphabet, padded): 32 bytes, not all alike."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != SECRET_KEY_BYTES or len(set(key)) == 1:
        raise ValueError(
            f"not the base64 of {SECRET_KEY_BYTES} random bytes; "
            "make a key with `openssl rand -base64 32`"
        )
    return key


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
