"""Settings from HOOKSMITH_* variables: defaults, parsing and clear errors."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import pytest

from hooksmith_server.config import ConfigError, Settings, parse_duration


def test_defaults_without_variables() -> None:
    s = Settings.from_env({})
    assert s.listen == "127.0.0.1:50051"
    assert s.database_url is None
    assert s.data_dir == Path(".hooksmith")
    assert s.workers == 512
    assert s.host_concurrency is None
    assert s.lane_limit == 256, "half the workers when HOOKSMITH_HOST_CONCURRENCY is unset"
    assert (s.breaker_threshold, s.breaker_cooldown) == (20, timedelta(seconds=30))
    assert s.history_retention == timedelta(days=30)
    assert s.retention_interval == timedelta(seconds=60)
    assert s.egress_allow == ()


def test_every_variable_is_read() -> None:
    s = Settings.from_env(
        {
            "HOOKSMITH_LISTEN": "0.0.0.0:6000",
            "HOOKSMITH_DATABASE_URL": "postgresql://db/hooks",
            "HOOKSMITH_DATA_DIR": "/var/lib/hooksmith",
            "HOOKSMITH_WORKERS": "0",
            "HOOKSMITH_HOST_CONCURRENCY": "8",
            "HOOKSMITH_BREAKER_THRESHOLD": "0",
            "HOOKSMITH_BREAKER_COOLDOWN": "2m",
            "HOOKSMITH_ALERT_WINDOW": "30m",
            "HOOKSMITH_EGRESS_ALLOW": "10.1.0.0/16, ::1/128",
            "HOOKSMITH_HISTORY_RETENTION": "12h",
            "HOOKSMITH_RETENTION_INTERVAL": "500ms",
            "HOOKSMITH_LEASE_MARGIN": "5s",
            "HOOKSMITH_POLL_INTERVAL": "250ms",
            "HOOKSMITH_SHUTDOWN_GRACE": "3s",
            "HOOKSMITH_DB_POOL_SIZE": "4",
            "HOOKSMITH_LOG_LEVEL": "debug",
        }
    )
    assert s.listen == "0.0.0.0:6000"
    assert s.database_url == "postgresql://db/hooks"
    assert s.data_dir == Path("/var/lib/hooksmith")
    assert s.workers == 0
    assert s.host_concurrency == 8
    assert s.breaker_threshold == 0
    assert s.breaker_cooldown == timedelta(minutes=2)
    assert s.alert_window == timedelta(minutes=30)
    assert s.egress_allow == (
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("::1/128"),
    )
    assert s.history_retention == timedelta(hours=12)
    assert s.retention_interval == timedelta(milliseconds=500)
    assert s.lease_margin == timedelta(seconds=5)
    assert s.poll_interval == timedelta(milliseconds=250)
    assert s.shutdown_grace == timedelta(seconds=3)
    assert s.db_pool_size == 4
    assert s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("WORKERS", "many", "whole number"),
        ("WORKERS", "-1", "at least 0"),
        ("HOST_CONCURRENCY", "0", "at least 1"),
        ("EGRESS_ALLOW", "10.0.0.0/33", "CIDR"),
        ("HISTORY_RETENTION", "a month", "duration"),
        ("RETENTION_INTERVAL", "hourly", "duration"),
        ("RETENTION_INTERVAL", "0s", "more than 0"),
        ("ALERT_WINDOW", "0s", "more than 0"),
        ("LOG_LEVEL", "loud", "unknown level"),
        ("LISTEN", "50051", "host:port"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=f"HOOKSMITH_{name}") as caught:
        Settings.from_env({f"HOOKSMITH_{name}": value})
    assert fragment in str(caught.value)


def test_durations() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("1.5m") == timedelta(seconds=90)


def test_host_concurrency_never_exceeds_the_workers() -> None:
    assert Settings(workers=10, host_concurrency=50).lane_limit == 10
    assert Settings(workers=10, host_concurrency=3).lane_limit == 3
    assert Settings(workers=1).lane_limit == 1
