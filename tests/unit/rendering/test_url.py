"""URLs: rendered values are percent-encoded; scheme and host are checked."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Limits, Renderer, urls

from .support import compile_spec, render, violations


def test_user_id_cannot_change_the_path_or_query() -> None:
    webhook = compile_spec(url="https://api.example.com/users/{{ userId }}/coupons?src=journey")

    url = render(webhook, user_id="a/b?c=d#e").request.url

    assert url == "https://api.example.com/users/a%2Fb%3Fc%3Dd%23e/coupons?src=journey"
    parts = urlsplit(url)
    assert parts.path.split("/") == ["", "users", "a%2Fb%3Fc%3Dd%23e", "coupons"]
    assert parts.query == "src=journey"
    assert parts.fragment == ""


def test_literal_parts_of_the_url_are_kept() -> None:
    webhook = compile_spec(url="https://example.com/a%20b/x?y=1&z={{ tags.z }}&w=2")

    url = render(webhook, tags={"z": "1&2 3"}).request.url

    assert url == "https://example.com/a%20b/x?y=1&z=1%262%203&w=2"


def test_whole_numbers_render_without_fraction_in_the_url() -> None:
    webhook = compile_spec(url="https://example.com/page/{{ page }}?ratio={{ ratio }}")

    url = render(webhook, data={"page": 2.0, "ratio": 0.25}).request.url

    assert url == "https://example.com/page/2?ratio=0.25"


def test_scheme_check_ignores_case() -> None:
    webhook = compile_spec(url="HTTPS://Example.com/{{ x }}")

    assert render(webhook, data={"x": "y"}).request.url == "HTTPS://Example.com/y"


@pytest.mark.parametrize(
    "url",
    ["{{ base }}/hook", "ftp://example.com/x", "example.com/x", "", " https://example.com"],
)
def test_url_must_start_with_http_or_https(url: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url=url)

    assert violations(error) == {"url": "the URL must start with http:// or https://"}


def test_rendered_url_without_a_host_is_refused() -> None:
    webhook = compile_spec(url="https://{{ host }}/hook")

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"host": ""})

    assert violations(error) == {"url": "the URL has no host"}


def test_host_can_come_from_data_when_it_needs_no_encoding() -> None:
    webhook = compile_spec(url="https://{{ host }}/hook")

    assert render(webhook, data={"host": "api.example.com"}).request.url == (
        "https://api.example.com/hook"
    )


def test_literal_url_with_a_space_is_refused_when_compiled() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url="https://example.com/a b")

    assert violations(error) == {
        "url": "the URL contains a space or control character (space at position 21)"
    }


def test_url_that_cannot_be_parsed_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url="https://[::1/x")

    assert violations(error)["url"].startswith("the URL cannot be parsed:")


def test_url_syntax_error_names_url_and_line() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url="https://example.com/{{ x }")

    assert violations(error) == {"url": "template syntax error at line 1: unexpected '}'"}


def test_url_source_longer_than_the_limit_is_refused() -> None:
    limits = Limits(max_url_chars=40)

    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(limits, url="https://example.com/" + "a" * 21)

    assert violations(error) == {"url": "URL is 41 characters; the limit is 40"}


def test_rendered_url_longer_than_the_limit_is_refused() -> None:
    webhook = compile_spec(Limits(max_url_chars=40), url="https://example.com/{{ x }}")

    assert render(webhook, data={"x": "a" * 20}).request.url.endswith("a" * 20)
    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"x": "/" * 7})

    assert violations(error) == {"url": "rendered URL is 41 characters; the limit is 40"}


@pytest.mark.parametrize(
    ("user_id", "segment"),
    [("..", "%2E%2E"), (".", "%2E"), ("...", "..."), ("a/b", "a%2Fb"), ("%2e%2e", "%252e%252e")],
)
def test_a_value_cannot_be_a_dot_segment(user_id: str, segment: str) -> None:
    webhook = compile_spec(url="https://api.example.com/users/{{ userId }}/coupons")

    url = render(webhook, user_id=user_id).request.url

    assert url == f"https://api.example.com/users/{segment}/coupons"


def test_literal_url_with_a_backslash_is_refused_when_compiled() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url="http://evil.example.com\\@api.example.com/")

    assert violations(error) == {"url": "the URL contains a backslash"}


def test_rendered_url_with_a_backslash_is_refused() -> None:
    webhook = compile_spec(url="https://evil.example.com\\@{{ host }}/")

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"host": "api.example.com"})

    assert violations(error) == {"url": "the URL contains a backslash"}


def test_a_backslash_from_a_value_is_percent_encoded() -> None:
    webhook = compile_spec(url="https://api.example.com/{{ x }}")

    assert render(webhook, data={"x": "a\\b"}).request.url == "https://api.example.com/a%5Cb"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        # urlsplit reads host `::1`; the sender's parser refuses the URL.
        ("https://[::1]x/hook", "Invalid IPv6 URL"),
        # No IDNA spelling exists for an empty label.
        ("https://a..bü.example/hook", "idna"),
    ],
)
def test_url_the_sender_cannot_parse_is_refused(url: str, fragment: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url=url)
    literal = violations(error)["url"]
    webhook = compile_spec(url=url.replace("/hook", "/{{ x }}"))
    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"x": "hook"})

    assert violations(error)["url"] == literal
    assert literal.startswith("the URL cannot be parsed:")
    assert fragment in literal


def test_the_wire_url_keeps_dot_segments_and_encoded_slashes() -> None:
    wire = urls.wire_url("https://api.example.com/a/../b/./%2e%2e/c%2Fd?x=%2F&y=..")

    assert wire.raw_path_qs == "/a/../b/./%2e%2e/c%2Fd?x=%2F&y=.."


def test_the_wire_url_maps_non_ascii_text_like_an_iri() -> None:
    wire = urls.wire_url("https://usér@bücher.example:8443/café/%2F?q=é#frag")

    assert str(wire) == ("https://us%C3%A9r@xn--bcher-kva.example:8443/caf%C3%A9/%2F?q=%C3%A9#frag")


LABEL_63 = "a" * 63
HOST_253 = ".".join(["a" * 49] * 5) + ".abc"


@pytest.mark.parametrize(
    ("url", "description"),
    [
        ("http://a..b/", "the URL host 'a..b' has an empty label"),
        ("http://./", "the URL host '.' has an empty label"),
        ("http://.example.com/", "the URL host '.example.com' has an empty label"),
        ("http://256.256.256.256/", "the URL host '256.256.256.256' is not a valid IP address"),
        ("http://1.2.3.4.5/", "the URL host '1.2.3.4.5' is not a valid IP address"),
        # A leading 0 means octal to inet_aton, where 9 is no digit.
        ("http://09.1.1.1/", "the URL host '09.1.1.1' is not a valid IP address"),
        (
            f"http://{LABEL_63}b.example/",
            "the URL host has a label of 64 characters (aaaaaaaaaaaaaaaaaaaa…); the limit is 63",
        ),
        (f"http://{HOST_253}d/", "the URL host is 254 characters; the limit is 253"),
        ("http://example.com:0/", "the URL port must be a number from 1 to 65535"),
        ("http://example.com:65536/", "the URL port must be a number from 1 to 65535"),
        ("http://example.com:+80/", "the URL port must be a number from 1 to 65535"),
    ],
)
def test_a_url_the_sender_can_never_reach_is_refused_when_compiled(
    url: str, description: str
) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url=url)

    assert violations(error) == {"url": description}


@pytest.mark.parametrize(
    ("host", "description"),
    [
        ("a..b", "the URL host 'a..b' has an empty label"),
        ("256.256.256.256", "the URL host '256.256.256.256' is not a valid IP address"),
        ("example.com:0", "the URL port must be a number from 1 to 65535"),
    ],
)
def test_a_rendered_url_the_sender_can_never_reach_is_refused(host: str, description: str) -> None:
    # `{{ host }}` is percent-encoded, which leaves dots alone; `:` needs a literal.
    name, _, port = host.partition(":")
    webhook = compile_spec(url="http://{{ host }}" + (f":{port}" if port else "") + "/hook")

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"host": name})

    assert violations(error) == {"url": description}


@pytest.mark.parametrize(
    "url",
    [
        # Every spelling the egress guard reads as an address, which the sender sends.
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://127.0.0.1./",
        "http://93.184.216.34:65535/",
        "http://[::1]/",
        "http://[2001:db8::1]:8080/",
        "http://example.com./",
        f"http://{LABEL_63}.example/",
        f"http://{HOST_253}/",
        "https://bücher.example/",
        "http://under_score.example/",
    ],
)
def test_urls_the_sender_can_reach_are_accepted(url: str) -> None:
    assert render(compile_spec(url=url)).request.url == url


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("1.2.3.4", "1.2.3.4"),
        ("256.256.256.256", None),
        ("1.2.3.4.5", None),
        ("09.1.1.1", None),
        ("0x", None),
        ("cafe", None),
        ("dead.beef", None),
        ("example.com", None),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[::1", None),
        ("1:2", None),
    ],
)
def test_ip_literals_are_read_as_the_sender_connects_to_them(
    host: str, address: str | None
) -> None:
    expected = ipaddress.ip_address(address) if address is not None else None
    assert urls.literal_address(host) == expected
    assert urls.is_ip_literal(host) is (expected is not None)


@pytest.mark.parametrize(
    "url",
    [
        "https://x.example.com/{% set u %}{{ userId }}{% endset %}{{ u }}",
        "https://x.example.com/{% macro m() %}{{ userId }}{% endmacro %}{{ m() }}",
        "https://x.example.com/{% filter upper %}{{ userId }}{% endfilter %}",
    ],
)
def test_url_blocks_that_capture_output_are_refused(url: str) -> None:
    spec = domain.WebhookSpec(name="u", url=url)
    with pytest.raises(errors.InvalidArgument) as caught:
        Renderer().compile(spec)
    (violation,) = caught.value.violations
    assert violation.field == "url"
    assert "capture output" in violation.description


def test_url_set_without_a_block_is_encoded_once() -> None:
    spec = domain.WebhookSpec(
        name="u", url="https://x.example.com/{% set u = userId %}{{ u }}/{{ u }}"
    )
    rendered = Renderer().compile(spec).render(domain.Recipient("a/b"), {}, require_data=True)
    assert rendered.request.url == "https://x.example.com/a%2Fb/a%2Fb"


@pytest.mark.parametrize(
    ("source", "host"),
    [
        ("https://SMS.example.com/v1/{{ userId }}", "sms.example.com"),
        ("https://user:pw@api.example:8443/x?y={{ z }}", "api.example"),
        ("http://[::1]:8080/hook", "[::1]"),
        ("https://{{ region }}.api.example/x", None),
        ("https://api.example{{ port }}/x", None),
        ("{{ base }}/x", None),
        ("https:///x", None),
    ],
)
def test_the_static_host_is_the_destination_when_no_template_can_change_it(
    source: str, host: str | None
) -> None:
    assert urls.static_host(source) == host
