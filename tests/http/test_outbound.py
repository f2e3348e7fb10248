"""The guarded client: only public addresses, every redirect hop checked, bounded bodies."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from shelfwatch.http.outbound import (
    AddressNotAllowed,
    GuardedClient,
    ResponseTooLarge,
    UrlNotAllowed,
    address_refusal,
)
from tests.fakes.shopify import ShopifyShop


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "shared (CGNAT)"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "wildcard (unspecified)"),  # noqa: S104 - an address to refuse, not to bind
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address, reason):
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_allow_list_opens_only_its_range():
    allowed = [ipaddress.ip_network("127.0.0.0/8")]
    assert address_refusal(ipaddress.ip_address("127.0.0.5"), allowed) is None
    assert address_refusal(ipaddress.ip_address("10.0.0.1"), allowed) == "private"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
        "http:///x",
        # Punycode that decodes to characters no host name may hold (an emoji).
        "http://xn--ls8h.la/",
    ],
)
def test_other_schemes_and_credentials_are_refused(url):
    with GuardedClient() as client, pytest.raises(UrlNotAllowed):
        client.get(url)


def test_loopback_is_refused_without_the_allow_list(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with ShopifyShop() as shop, GuardedClient() as client:
        with pytest.raises(AddressNotAllowed, match="loopback"):
            client.get(shop.url("/products.json"))
        assert shop.log() == []  # refused before any connection


def test_a_redirect_to_a_refused_address_is_stopped(settings):
    # Only 127.0.0.1 is opened; the shop redirects to 127.0.0.2, which stays closed.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with ShopifyShop() as shop, ShopifyShop(host="127.0.0.2") as inner, GuardedClient() as client:
        shop.redirect_to(inner.url("/products.json"))
        with pytest.raises(AddressNotAllowed, match=r"127\.0\.0\.2"):
            client.get(shop.url("/products.json"))
        assert inner.log() == []


def test_bodies_over_the_limit_are_cut_off(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with ShopifyShop() as shop, GuardedClient(max_bytes=10_000) as client:
        shop.oversized_next(1, 1_000_000)
        with pytest.raises(ResponseTooLarge):
            client.get(shop.url("/products.json"))
        assert client.get(shop.url("/products.json")).status == 200


def test_json_nested_deeper_than_the_parser_follows_is_not_json():
    from shelfwatch.http.outbound import FetchResult

    deep = FetchResult(
        status=200,
        url="https://shop.example/api",
        headers=httpx.Headers({"content-type": "application/json"}),
        content=b"[" * 100_000 + b"]" * 100_000,
        elapsed=0.0,
    )
    with pytest.raises(ValueError, match="nests too deeply"):
        deep.json()


@pytest.mark.parametrize("charset", ["idna", "undefined", "rot13", "base64", "no-such-charset"])
def test_a_charset_that_cannot_decode_text_reads_as_utf8(charset):
    from shelfwatch.http.outbound import FetchResult

    page = FetchResult(
        status=200,
        url="https://shop.example/p/ghee",
        headers=httpx.Headers({"content-type": f"text/html; charset={charset}"}),
        content="<title>Desi ghee ₹650</title>".encode() + b"\xff",
        elapsed=0.0,
    )
    assert page.text.startswith("<title>Desi ghee ₹650</title>")


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", "\uff11", "", "soon"])
def test_a_retry_after_that_is_no_ascii_number_or_date_is_ignored(value):
    from shelfwatch.http.outbound import retry_after_seconds

    assert retry_after_seconds(value) is None


def test_a_retry_after_in_seconds_is_read_and_capped():
    from shelfwatch.http.outbound import MAX_RETRY_AFTER, retry_after_seconds

    assert retry_after_seconds(" 30 ") == 30.0
    assert retry_after_seconds("999999999") == MAX_RETRY_AFTER


def test_a_retry_after_of_thousands_of_digits_is_no_hint_not_a_crash():
    from shelfwatch.http.outbound import retry_after_seconds

    # int() refuses digit strings past 4300 characters; the reader stops long before.
    assert retry_after_seconds("9" * 5000) is None
