"""The SSRF guard: every spelling of a forbidden address is refused, with a reason."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from hooksmith_server.config import parse_networks
from hooksmith_server.delivery import egress
from hooksmith_server.rendering import urls

NO_ALLOW = egress.EgressGuard()


def url_host(host: str) -> str:
    """The host as the sender sees it: parsed from a URL by yarl, as aiohttp does."""
    raw = URL(f"http://{host}:8080/").raw_host
    assert raw is not None
    return raw


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("2130706433", "loopback address"),
        ("0x7f000001", "loopback address"),
        ("0177.0.0.1", "loopback address"),
        ("127.1", "loopback address"),
        ("0x7f.1", "loopback address"),
        ("127.0.0.1.", "loopback address"),
        ("0.0.0.0", "unspecified address"),
        ("[::1]", "loopback address"),
        ("[::]", "unspecified address"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped form of 127.0.0.1 (loopback address)"),
        ("[::ffff:7f00:1]", "IPv4-mapped form of 127.0.0.1 (loopback address)"),
        ("[::7f00:1]", "IPv4-compatible form of 127.0.0.1 (loopback address)"),
        ("[64:ff9b::7f00:1]", "NAT64 form of 127.0.0.1 (loopback address)"),
        ("[64:ff9b:1::808:808]", "NAT64 local-use prefix"),
        ("[2002:7f00:1::]", "6to4 form of 127.0.0.1 (loopback address)"),
        ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "Teredo form of 127.0.0.1 (loopback address)"),
        ("[fe80::1]", "link-local address"),
        ("[fec0::1]", "site-local address"),
        ("[fd00:ec2::254]", "cloud metadata address (unique local)"),
        ("[fc00::1]", "unique local address"),
        ("[ff02::1]", "multicast address"),
        ("[2001:db8::1]", "documentation address"),
        ("[4000::1]", "reserved address"),
        ("169.254.169.254", "cloud metadata address (link-local)"),
        ("169.254.1.1", "link-local address"),
        ("10.0.0.1", "private address"),
        ("172.16.0.1", "private address"),
        ("192.168.1.1", "private address"),
        ("100.64.0.1", "shared address space (CGNAT)"),
        ("224.0.0.1", "multicast address"),
        ("240.0.0.1", "reserved address"),
        ("255.255.255.255", "broadcast address"),
        ("192.0.2.1", "documentation address"),
        ("198.51.100.1", "documentation address"),
        ("203.0.113.1", "documentation address"),
        ("198.18.0.1", "benchmarking address"),
        ("168.63.129.16", "Azure WireServer"),
    ],
)
def test_forbidden_literal_is_blocked_with_its_reason(host: str, reason: str) -> None:
    with pytest.raises(egress.EgressBlocked) as caught:
        NO_ALLOW.check_host(url_host(host))
    assert reason in caught.value.reason
    assert str(caught.value).startswith("egress to ")
    assert str(caught.value).endswith(f"is blocked: {caught.value.reason}; {caught.value.hint}")
    assert caught.value.hint.endswith("to HOOKSMITH_EGRESS_ALLOW")


def test_message_names_the_normalised_address() -> None:
    with pytest.raises(egress.EgressBlocked, match=r"^egress to 127\.0\.0\.1 is blocked: loopback"):
        NO_ALLOW.check_host("2130706433")


@pytest.mark.parametrize(
    ("host", "network"),
    [
        ("2130706433", "127.0.0.1/32"),
        ("[::ffff:10.0.0.1]", "10.0.0.1/32"),
        ("[fd00::1]", "fd00::1/128"),
        ("[2002:a00:1::1]", "2002:a00:1::1/128"),
    ],
)
def test_the_refusal_says_which_network_to_allow_and_allowing_it_works(
    host: str, network: str
) -> None:
    with pytest.raises(egress.EgressBlocked) as caught:
        NO_ALLOW.check_host(url_host(host))
    assert str(caught.value).endswith(
        f"; to allow it, add {network} (or its network) to HOOKSMITH_EGRESS_ALLOW"
    )
    # The network the hint names, set as HOOKSMITH_EGRESS_ALLOW, lets the host through.
    assert egress.EgressGuard(parse_networks(network)).check_host(url_host(host)) is not None


def test_a_malformed_host_gets_no_allow_hint() -> None:
    # No allow-list entry would help: the host itself is refused.
    with pytest.raises(egress.EgressBlocked) as caught:
        NO_ALLOW.check_host(url_host("[fe80::1%25eth0]"))
    assert caught.value.hint == ""
    assert "HOOKSMITH_EGRESS_ALLOW" not in str(caught.value)


@pytest.mark.parametrize(
    "host",
    ["8.8.8.8", "[2606:4700::1111]", "[::ffff:8.8.8.8]", "[64:ff9b::808:808]", "[2002:808:808::1]"],
)
def test_public_address_is_allowed(host: str) -> None:
    address = NO_ALLOW.check_host(url_host(host))
    assert address is not None


def test_ipv6_zone_id_is_refused_even_when_allowed() -> None:
    guard = egress.EgressGuard(parse_networks("fe80::/10"))
    with pytest.raises(egress.EgressBlocked, match="zone id"):
        guard.check_host(url_host("[fe80::1%25eth0]"))


def test_invalid_ipv6_literal_is_refused() -> None:
    with pytest.raises(egress.EgressBlocked, match="not a valid IP address"):
        NO_ALLOW.check_host("zz::1")


@pytest.mark.parametrize(
    "spelling",
    ["127.0.0.1", "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1", "017700000001",
     "127.1", "0x7f.1", "127.0.1", "127.0.0.1.", "0x7f.0.0.0x1"],
)  # fmt: skip
def test_ipv4_spellings_normalise_to_one_address(spelling: str) -> None:
    assert urls.literal_address(spelling) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    ("spelling", "address"),
    [("[::1]", "::1"), ("::ffff:127.0.0.1", "::ffff:7f00:1"), ("fe80::1%eth0", "fe80::1")],
)
def test_ipv6_literals_parse_without_brackets_or_zone(spelling: str, address: str) -> None:
    assert urls.literal_address(spelling) == ipaddress.IPv6Address(address)


@pytest.mark.parametrize(
    "name", ["localhost", "example.com", "0x.example.com", "cafe.be", "deadbeef", "1.2.3.4.5"]
)
def test_dns_names_are_not_literals(name: str) -> None:
    assert urls.literal_address(name) is None
    assert NO_ALLOW.check_host(name) is None


def test_allow_list_exempts_loopback_in_every_spelling() -> None:
    guard = egress.EgressGuard(parse_networks("127.0.0.0/8"))
    for host in ["127.0.0.1", "127.1", "2130706433", "[::ffff:127.0.0.1]"]:
        assert guard.check_host(url_host(host)) is not None


def test_allow_list_exempts_nothing_else() -> None:
    guard = egress.EgressGuard(parse_networks("127.0.0.0/8"))
    # ::1 is another family; the NAT64 form leaves through a gateway, not to our loopback.
    for host in ["10.0.0.1", "[::1]", "[64:ff9b::7f00:1]", "169.254.169.254"]:
        with pytest.raises(egress.EgressBlocked):
            guard.check_host(url_host(host))


def test_parse_allow_reads_comma_and_space_separated_cidrs() -> None:
    networks = parse_networks(" 127.0.0.0/8, ::1/128 10.1.2.3 ")
    assert networks == (
        ipaddress.IPv4Network("127.0.0.0/8"),
        ipaddress.IPv6Network("::1/128"),
        ipaddress.IPv4Network("10.1.2.3/32"),
    )
    assert parse_networks("") == ()


def test_parse_allow_names_the_bad_cidr() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks("127.0.0.0/8, 10.0.0.0/33")


# --- embeddings: the IPv6 forms of a blocked IPv4 address are blocked too ----------------

blocked_ipv4 = st.sampled_from([net for net, _ in egress.BLOCKED_IPV4]).flatmap(
    lambda net: st.integers(int(net.network_address), int(net.broadcast_address))
)


def embeddings(v4: int, suffix: int, server: int) -> dict[str, ipaddress.IPv6Address]:
    return {
        "IPv4-mapped": ipaddress.IPv6Address((0xFFFF << 32) | v4),
        "IPv4-compatible": ipaddress.IPv6Address(v4),
        "NAT64": ipaddress.IPv6Address((0x0064_FF9B << 96) | v4),
        "6to4": ipaddress.IPv6Address((0x2002 << 112) | (v4 << 80) | suffix),
        # Teredo: 2001:0000:<server v4>:<flags>:<port ^ ffff>:<client v4 ^ ffffffff>
        "Teredo": ipaddress.IPv6Address(
            (0x2001_0000 << 96)
            | (server << 64)
            | ((suffix & 0xFFFF_FFFF) << 32)
            | (v4 ^ 0xFFFF_FFFF)
        ),
    }


@given(
    v4=blocked_ipv4,
    suffix=st.integers(0, 2**80 - 1),
    server=st.integers(0, 2**32 - 1),
)
def test_blocked_ipv4_is_blocked_in_every_ipv6_embedding(v4: int, suffix: int, server: int) -> None:
    address = ipaddress.IPv4Address(v4)
    assert NO_ALLOW.reason(address) is not None
    for kind, embedded in embeddings(v4, suffix, server).items():
        reason = NO_ALLOW.reason(embedded)
        assert reason is not None, f"{kind} {embedded} of {address} was allowed"


@given(v4=st.integers(0, 2**32 - 1), suffix=st.integers(0, 2**80 - 1))
def test_public_ipv4_is_as_reachable_in_its_mapped_nat64_and_6to4_forms(
    v4: int, suffix: int
) -> None:
    allowed = NO_ALLOW.reason(ipaddress.IPv4Address(v4)) is None
    forms = embeddings(v4, suffix, 0)
    for kind in ("IPv4-mapped", "NAT64", "6to4"):
        assert (NO_ALLOW.reason(forms[kind]) is None) == allowed, kind


@given(st.integers(0, 2**80 - 1))
def test_nat64_local_use_prefix_is_blocked_whatever_it_embeds(rest: int) -> None:
    assert NO_ALLOW.reason(ipaddress.IPv6Address((0x0064_FF9B_0001 << 80) | rest)) is not None


# --- the resolver ------------------------------------------------------------------------


class CannedResolver(AbstractResolver):
    """A resolver answering from a fixed table, counting lookups."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        self.closed = True


TABLE = {
    "localhost": ["127.0.0.1", "::1"],
    "mixed.example": ["93.184.216.34", "10.0.0.1"],
    "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "scoped.example": ["fe80::1%eth0"],
    "garbage.example": ["not-an-address"],
}


async def test_resolver_blocks_localhost() -> None:
    resolver = egress.GuardedResolver(NO_ALLOW, CannedResolver(TABLE))
    with pytest.raises(
        egress.EgressBlocked, match=r"^egress to localhost \(127\.0\.0\.1\) is blocked: loopback"
    ):
        await resolver.resolve("localhost", 443, socket.AF_UNSPEC)


async def test_one_blocked_address_fails_the_whole_resolution() -> None:
    inner = CannedResolver(TABLE)
    resolver = egress.GuardedResolver(NO_ALLOW, inner)
    with pytest.raises(egress.EgressBlocked, match=r"mixed\.example \(10\.0\.0\.1\).*private"):
        await resolver.resolve("mixed.example", 443, socket.AF_UNSPEC)
    assert inner.lookups == ["mixed.example"]


async def test_public_name_resolves_once_to_the_checked_addresses() -> None:
    inner = CannedResolver(TABLE)
    resolver = egress.GuardedResolver(NO_ALLOW, inner)
    results = await resolver.resolve("public.example", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in results] == TABLE["public.example"]
    assert all(r["hostname"] == "public.example" for r in results)
    assert inner.lookups == ["public.example"]


async def test_resolver_blocks_scoped_link_local_and_non_addresses() -> None:
    resolver = egress.GuardedResolver(NO_ALLOW, CannedResolver(TABLE))
    with pytest.raises(egress.EgressBlocked, match="link-local"):
        await resolver.resolve("scoped.example", 80, socket.AF_UNSPEC)
    with pytest.raises(egress.EgressBlocked, match="not an address"):
        await resolver.resolve("garbage.example", 80, socket.AF_UNSPEC)


async def test_resolver_honours_the_allow_list_and_closes_its_inner_resolver() -> None:
    inner = CannedResolver({"localhost": ["127.0.0.1"]})
    guard = egress.EgressGuard(parse_networks("127.0.0.0/8"))
    resolver = egress.GuardedResolver(guard, inner)
    assert [r["host"] for r in await resolver.resolve("localhost", 80)] == ["127.0.0.1"]
    await resolver.close()
    assert inner.closed
