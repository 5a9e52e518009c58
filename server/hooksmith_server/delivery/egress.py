"""The SSRF guard: which addresses a webhook may reach, checked where the socket is opened.

Anything not globally routable is denied (loopback, private, link-local, CGNAT,
multicast, reserved, documentation, benchmarking, ULA, site-local, ...), and so are
the IPv6 forms that embed a denied IPv4 address (IPv4-mapped, IPv4-compatible, NAT64,
6to4, Teredo). An explicit allow-list of networks exempts on-premise receivers and tests.

Names are resolved once by `GuardedResolver`; every returned address is checked and
aiohttp connects to one of those checked addresses. aiohttp does not call the resolver
for IP-literal hosts, so the sender checks those itself with `EgressGuard.check_host`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from hooksmith_server.rendering import urls

IPAddress = urls.IPAddress
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

BLOCKED_IPV4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    # First match wins, so the specific entries come before the networks holding them.
    (_V4("0.0.0.0/8"), "unspecified address"),
    (_V4("10.0.0.0/8"), "private address"),
    (_V4("100.64.0.0/10"), "shared address space (CGNAT)"),
    (_V4("127.0.0.0/8"), "loopback address"),
    (_V4("169.254.169.254/32"), "cloud metadata address (link-local)"),
    (_V4("169.254.0.0/16"), "link-local address"),
    (_V4("172.16.0.0/12"), "private address"),
    (_V4("192.0.0.0/24"), "IETF protocol assignment"),
    (_V4("192.0.2.0/24"), "documentation address"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast (deprecated)"),
    (_V4("192.168.0.0/16"), "private address"),
    (_V4("198.18.0.0/15"), "benchmarking address"),
    (_V4("198.51.100.0/24"), "documentation address"),
    (_V4("203.0.113.0/24"), "documentation address"),
    (_V4("224.0.0.0/4"), "multicast address"),
    (_V4("255.255.255.255/32"), "broadcast address"),
    (_V4("240.0.0.0/4"), "reserved address"),
    # A public address, but Azure's platform endpoint (DHCP, DNS, health) in every VM.
    (_V4("168.63.129.16/32"), "cloud platform address (Azure WireServer)"),
)
"""IPv4 networks no webhook may reach, each with the reason shown to the user."""

BLOCKED_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified address"),
    (_V6("::1/128"), "loopback address"),
    (_V6("64:ff9b:1::/48"), "NAT64 local-use prefix (embedded address cannot be decoded)"),
    (_V6("::/96"), "IPv4-compatible address (deprecated)"),
    (_V6("2001::/32"), "Teredo address (not globally routable)"),
    (_V6("2001:db8::/32"), "documentation address"),
    (_V6("3fff::/20"), "documentation address"),
    (_V6("2001:2::/48"), "benchmarking address"),
    (_V6("100::/64"), "discard-only address"),
    (_V6("fd00:ec2::254/128"), "cloud metadata address (unique local)"),
    (_V6("fc00::/7"), "unique local address (private)"),
    (_V6("fe80::/10"), "link-local address"),
    (_V6("fec0::/10"), "site-local address (deprecated)"),
    (_V6("ff00::/8"), "multicast address"),
)
"""IPv6 networks no webhook may reach (after embedded IPv4 forms are decoded)."""

_GLOBAL_UNICAST = _V6("2000::/3")
_MAPPED = _V6("::ffff:0:0/96")
_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")


ALLOW_VARIABLE = "HOOKSMITH_EGRESS_ALLOW"
"""The setting that exempts networks from the guard (for receivers on private networks)."""


def allow_hint(address: IPAddress) -> str:
    """How an operator lets a webhook reach `address`: the network to add to the allow-list."""
    normal = _normalised(address)
    return f"to allow it, add {normal}/{normal.max_prefixlen} (or its network) to {ALLOW_VARIABLE}"


class EgressBlocked(Exception):
    """The target address may not be reached from here.

    When the guard refused an address (rather than a malformed host), the message ends
    with `hint`: how to allow that address through `HOOKSMITH_EGRESS_ALLOW`.
    """

    def __init__(self, target: str, reason: str, address: IPAddress | None = None) -> None:
        self.target = target
        self.reason = reason
        self.hint = allow_hint(address) if address is not None else ""
        message = f"egress to {target} is blocked: {reason}"
        super().__init__(f"{message}; {self.hint}" if self.hint else message)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the name of its form."""
    if ip in _MAPPED:
        return [("IPv4-mapped", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))]
    if ip in _NAT64:
        return [("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))]
    if ip in _COMPATIBLE:
        return [("IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))]
    if ip in _SIX_TO_FOUR:
        return [("6to4", ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF))]
    if ip in _TEREDO:
        server = ipaddress.IPv4Address((int(ip) >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~int(ip) & 0xFFFFFFFF)
        return [("Teredo", client), ("Teredo", server)]
    return []


def _ipv4_reason(ip: ipaddress.IPv4Address) -> str | None:
    for network, reason in BLOCKED_IPV4:
        if ip in network:
            return reason
    if not ip.is_global:
        return "not globally routable"
    return None


def _ipv6_reason(ip: ipaddress.IPv6Address) -> str | None:
    # Before the embeddings: :: and ::1 are also IPv4-compatible forms of 0.0.0.0/8.
    if int(ip) <= 1:
        return "unspecified address" if int(ip) == 0 else "loopback address"
    embedded = _embedded_ipv4(ip)
    for kind, v4 in embedded:
        if (reason := _ipv4_reason(v4)) is not None:
            return f"{kind} form of {v4} ({reason})"
    # The mapped, NAT64 and 6to4 forms of a public IPv4 address are as good as it.
    if embedded and embedded[0][0] in ("IPv4-mapped", "NAT64", "6to4"):
        return None
    for network, reason in BLOCKED_IPV6:
        if ip in network:
            return reason
    if ip not in _GLOBAL_UNICAST:
        return "reserved address (outside global unicast 2000::/3)"
    if not ip.is_global:
        return "not globally routable"
    return None


def _without_scope(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        return ipaddress.IPv6Address(int(ip))
    return ip


def _normalised(ip: IPAddress) -> IPAddress:
    """The address the kernel really connects to: an IPv4-mapped address is its IPv4."""
    ip = _without_scope(ip)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class EgressGuard:
    """Decides whether an address may be reached; immutable, shared by all senders."""

    def __init__(self, allow: Sequence[IPNetwork] = ()) -> None:
        self._allow: tuple[IPNetwork, ...] = tuple(allow)

    def reason(self, ip: IPAddress) -> str | None:
        """Why `ip` is blocked, or None if it may be reached."""
        normal = _normalised(ip)
        if any(normal in net for net in self._allow if net.version == normal.version):
            return None
        if isinstance(normal, ipaddress.IPv4Address):
            reason = _ipv4_reason(normal)
            if reason is not None and isinstance(ip, ipaddress.IPv6Address):
                return f"IPv4-mapped form of {normal} ({reason})"
            return reason
        return _ipv6_reason(normal)

    def check_address(self, ip: IPAddress) -> None:
        """Raise `EgressBlocked` unless `ip` may be reached."""
        if (reason := self.reason(ip)) is not None:
            raise EgressBlocked(str(ip), reason, ip)

    def check_host(self, host: str) -> IPAddress | None:
        """Check an IP-literal host; return its address, or None for a DNS name.

        Raises `EgressBlocked` for a blocked literal, an IPv6 zone id, or a host that
        looks like an IPv6 literal but is not one.
        """
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        address = urls.literal_address(bare)
        if address is None:
            if ":" in bare:
                raise EgressBlocked(host, "not a valid IP address")
            return None
        if "%" in bare:
            raise EgressBlocked(host, "IPv6 zone ids are not allowed")
        self.check_address(address)
        return address


class GuardedResolver(AbstractResolver):
    """Resolves a name once and returns its addresses only if every one may be reached.

    If any address is blocked the whole resolution fails with `EgressBlocked`, which
    aiohttp lets through unwrapped (it wraps only `OSError`). aiohttp then connects to
    a returned, checked address and still verifies TLS against the original host name.
    """

    def __init__(self, guard: EgressGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        # Created lazily: aiohttp's ThreadedResolver needs a running event loop.
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                address = ipaddress.ip_address(result["host"])
            except ValueError:
                raise EgressBlocked(
                    f"{host} ({result['host']})", "resolved to something that is not an address"
                ) from None
            if (reason := self._guard.reason(address)) is not None:
                raise EgressBlocked(f"{host} ({address})", reason, address)
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
