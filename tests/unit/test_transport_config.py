"""The transport variables: TLS files, message size, calls, connections, idle timeout."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hooksmith_server.config import ConfigError, Settings, parse_size


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.tls_cert, s.tls_key, s.tls_client_ca) == (None, None, None)
    assert s.max_message_size == 4 * 1024 * 1024
    assert s.max_concurrent_rpcs == 256
    assert s.max_connections == 10_000
    assert s.idle_timeout == timedelta(minutes=5)


def test_values_are_read() -> None:
    s = Settings.from_env(
        {
            "HOOKSMITH_TLS_CERT": "/etc/hs/cert.pem",
            "HOOKSMITH_TLS_KEY": "/etc/hs/key.pem",
            "HOOKSMITH_TLS_CLIENT_CA": "/etc/hs/ca.pem",
            "HOOKSMITH_MAX_MESSAGE_SIZE": "512KiB",
            "HOOKSMITH_MAX_CONCURRENT_RPCS": "32",
            "HOOKSMITH_MAX_CONNECTIONS": "100",
            "HOOKSMITH_IDLE_TIMEOUT": "90s",
        }
    )
    assert s.tls_cert == Path("/etc/hs/cert.pem")
    assert s.tls_client_ca == Path("/etc/hs/ca.pem")
    assert s.max_message_size == 512 * 1024
    assert (s.max_concurrent_rpcs, s.max_connections) == (32, 100)
    assert s.idle_timeout == timedelta(seconds=90)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOOKSMITH_TLS_CERT": "c.pem"}, "HOOKSMITH_TLS_CERT and HOOKSMITH_TLS_KEY: set both"),
        ({"HOOKSMITH_TLS_KEY": "k.pem"}, "HOOKSMITH_TLS_CERT and HOOKSMITH_TLS_KEY: set both"),
        ({"HOOKSMITH_TLS_CLIENT_CA": "ca.pem"}, "HOOKSMITH_TLS_CLIENT_CA: mutual TLS needs"),
        ({"HOOKSMITH_MAX_MESSAGE_SIZE": "4 MB"}, "HOOKSMITH_MAX_MESSAGE_SIZE: '4 MB' is not a"),
        ({"HOOKSMITH_MAX_MESSAGE_SIZE": "0"}, "HOOKSMITH_MAX_MESSAGE_SIZE: '0' must be from"),
        ({"HOOKSMITH_MAX_MESSAGE_SIZE": "2GiB"}, "HOOKSMITH_MAX_MESSAGE_SIZE: '2GiB' must be"),
        ({"HOOKSMITH_MAX_CONCURRENT_RPCS": "0"}, "HOOKSMITH_MAX_CONCURRENT_RPCS: must be at least"),
        ({"HOOKSMITH_MAX_CONNECTIONS": "many"}, "HOOKSMITH_MAX_CONNECTIONS: 'many' is not a whole"),
        ({"HOOKSMITH_IDLE_TIMEOUT": "0s"}, "HOOKSMITH_IDLE_TIMEOUT: must be more than 0"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Settings.from_env(env)


def test_sizes() -> None:
    assert parse_size("1048576") == 1024 * 1024
    assert parse_size("4MiB") == parse_size("4 mib") == 4 * 1024 * 1024
    assert parse_size("1GiB") == 1024**3
