"""How the gRPC port is served: TLS credentials and the limits on connections and calls."""

from __future__ import annotations

from pathlib import Path

import grpc

from hooksmith_server import errors
from hooksmith_server.config import Settings

KEEPALIVE_TIME_MS = 60_000
"""The server pings a connection quiet for this long, to find peers that vanished."""
KEEPALIVE_TIMEOUT_MS = 20_000
"""A ping not answered within this closes the connection."""
MIN_CLIENT_PING_INTERVAL_MS = 10_000
"""Clients may ping at most this often; one that pings faster is told to go away
(HTTP/2 GOAWAY `too_many_pings`) after `MAX_PING_STRIKES` offences."""
MAX_PING_STRIKES = 2
STREAM_WINDOW = 256 * 1024
"""Bytes of a request gRPC takes off the connection before the handler reads it. gRPC's
bandwidth-delay probing would grow this window to megabytes per call, so a burst of
large calls that are then refused (a bad key, too many calls) was held in memory whole;
with a fixed window each holds at most this much until it is refused or read."""


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """Channel arguments of the gRPC server."""
    return [
        # Without SO_REUSEPORT a second server on a taken port fails to start instead of
        # silently sharing the port and answering half of the calls.
        ("grpc.so_reuseport", 0),
        # A larger request is refused from its length prefix, before it is read.
        ("grpc.max_receive_message_length", settings.max_message_size),
        ("grpc.http2.bdp_probe", 0),
        ("grpc.http2.lookahead_bytes", STREAM_WINDOW),
        ("grpc.max_allowed_incoming_connections", settings.max_connections),
        ("grpc.max_connection_idle_ms", _milliseconds(settings.idle_timeout.total_seconds())),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", MIN_CLIENT_PING_INTERVAL_MS),
        ("grpc.http2.max_ping_strikes", MAX_PING_STRIKES),
    ]


def _milliseconds(seconds: float) -> int:
    return max(1, min(int(seconds * 1000), 2**31 - 1))


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from the configured PEM files; None when TLS is off.

    Raises `errors.FailedPrecondition` naming the variable and the file when a file
    cannot be read or holds no PEM block of the expected kind.
    """
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    chain = _pem("HOOKSMITH_TLS_CERT", settings.tls_cert, b"CERTIFICATE")
    key = _pem("HOOKSMITH_TLS_KEY", settings.tls_key, b"PRIVATE KEY")
    roots = (
        _pem("HOOKSMITH_TLS_CLIENT_CA", settings.tls_client_ca, b"CERTIFICATE")
        if settings.tls_client_ca is not None
        else None
    )
    return grpc.ssl_server_credentials(
        [(key, chain)],
        root_certificates=roots,
        require_client_auth=roots is not None,
    )


def _pem(variable: str, path: Path, kind: bytes) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise errors.FailedPrecondition(f"{variable}: cannot read {path}: {reason}") from None
    # "-----BEGIN CERTIFICATE-----", "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN EC ...
    if b"-----BEGIN " not in data or kind + b"-----" not in data:
        label = kind.decode()
        raise errors.FailedPrecondition(f"{variable}: {path} holds no PEM {label}")
    return data
