"""Every internal address form is refused without a connection, with a real listener
on each address inside a network namespace of the test's own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Assigned to the namespace's loopback, so a listener on them would see a connection.
ADDRESSES = [
    "10.0.0.1/32",
    "172.16.0.1/32",
    "192.168.1.1/32",
    "169.254.169.254/32",
    "100.64.0.1/32",
    "192.0.2.1/32",
    "198.51.100.1/32",
    "203.0.113.1/32",
    "198.18.0.1/32",
    "240.0.0.1/32",
    "fd00:ec2::254/128",
    "fc00::1/128",
    "2001:db8::1/128",
    "64:ff9b::a00:1/128",
    "2002:a00:1::1/128",
]
# Hosts as written in URLs: each assigned address, plus the other spellings and
# embeddings of internal addresses, loopback and the unspecified address.
TARGETS = [
    *(a.split("/")[0] if ":" not in a else f"[{a.split('/')[0]}]" for a in ADDRESSES),
    "127.0.0.1",
    "localhost",
    "[::1]",
    "0.0.0.0",
    "[::]",
    "167772161",  # 10.0.0.1 as one integer
    "012.0.0.1",  # octal
    "0xa000001",  # hex
    "10.1",  # short form
    "[::ffff:10.0.0.1]",  # IPv4-mapped
    "[::ffff:a00:1]",
    "[64:ff9b::127.0.0.1]",  # NAT64 of loopback
    "[2002:7f00:1::1]",  # 6to4 of loopback
]


def _can_make_namespaces() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("ip") is not None


@pytest.fixture
def namespace() -> Iterator[str]:
    if not _can_make_namespaces():
        pytest.skip("needs root and iproute2 to create a network namespace")
    name = f"hooksmith-ssrf-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        for address in ADDRESSES:
            subprocess.run(["ip", "-n", name, "addr", "add", address, "dev", "lo"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_no_internal_form_reaches_a_listener(namespace: str) -> None:
    probe = Path(__file__).with_name("netns_probe.py")
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, str(probe), json.dumps(TARGETS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    results = json.loads(done.stdout.strip().splitlines()[-1])

    for host in TARGETS:
        result = results[host]
        assert result["blocked_connections"] == 0, host
        assert "blocked" in (result["error"] or ""), (host, result["error"])
    # The listener was reachable: with everything allowed, these connect.
    reachable = [host for host in TARGETS if results[host]["allowed_connections"]]
    must_reach = {
        *TARGETS[: len(ADDRESSES)],
        "127.0.0.1",
        "localhost",
        "[::1]",
        "0.0.0.0",
        "[::]",
        "167772161",
        "012.0.0.1",
        "0xa000001",
        "10.1",
        "[::ffff:10.0.0.1]",
    }
    assert must_reach <= set(reachable), sorted(must_reach - set(reachable))
