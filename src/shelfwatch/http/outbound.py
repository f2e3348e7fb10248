"""The one HTTP client for URLs that users supply: watch sources, webhooks, feed sources.

Only http and https. The host is resolved once per connection and EVERY address it resolves
to must be public; the connection then goes to an address that was checked, so a DNS answer
that changes between check and connect (rebinding) cannot slip through. Redirects are
followed hop by hop, each hop through the same check. Bodies are read with a size cap and
the whole exchange with a deadline. `OUTBOUND_ALLOWED_NETWORKS` (CIDRs) opens chosen
ranges, e.g. 127.0.0.0/8 for tests against local fakes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import httpcore
import httpx
from django.conf import settings
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from shelfwatch.whole_numbers import plain_whole_number

DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 3600.0
USER_AGENT = "Shelfwatch/0.1 (+stock and price watcher)"
_tracer = trace.get_tracer("shelfwatch.http")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """A fetch that did not produce a response; `code` is stable for API problems and logs."""

    code = "fetch_failed"
    transient = True  # worth retrying later (a refused address or a bad URL is not)

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class UrlNotAllowed(FetchError):
    code = "url_not_allowed"
    transient = False


class AddressNotAllowed(FetchError):
    code = "address_not_allowed"
    transient = False


class ResponseTooLarge(FetchError):
    code = "response_too_large"
    transient = False


class FetchTimeout(FetchError):
    code = "fetch_timeout"


class ConnectFailed(FetchError):
    code = "connect_failed"


class TooManyRedirects(FetchError):
    code = "too_many_redirects"
    transient = False


@dataclass(frozen=True)
class FetchResult:
    """A response read whole (within the size cap)."""

    status: int
    url: str  # after redirects
    headers: httpx.Headers
    content: bytes
    elapsed: float

    @property
    def text(self) -> str:
        """The body decoded with the charset the response declares, undecodable bytes
        replaced; UTF-8 when none is declared or the declared one cannot decode text."""
        try:
            return self.content.decode(_charset(self.headers), errors="replace")
        except (LookupError, UnicodeError):
            # The charset is the remote server's word: one Python does not know, a codec
            # that is no text encoding (base64, rot13) or one that cannot replace bad
            # bytes (idna, undefined) reads as UTF-8, as a browser would fall back.
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON (or nests deeper
        than the parser can follow)."""
        import json

        try:
            return json.loads(self.content)
        except RecursionError:
            raise ValueError("the JSON nests too deeply") from None


@dataclass(frozen=True)
class StreamedResponse:
    """A response whose body is read as it arrives: `chunks` yields it within the caps."""

    status: int
    url: str  # after redirects
    headers: httpx.Headers
    chunks: Iterator[bytes]


def _charset(headers: httpx.Headers) -> str:
    for part in headers.get("content-type", "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"') or "utf-8"
    return "utf-8"


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in spec)


def allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The networks OUTBOUND_ALLOWED_NETWORKS opens despite the public-address rule."""
    return _networks(tuple(getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())))


def address_refusal(ip: IPAddress, allowed: Iterable = ()) -> str | None:
    """Why `ip` may not be contacted (a short word), or None when it may."""
    if any(ip in network for network in allowed if ip.version == network.version):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 dressed as IPv6 is judged as the IPv4 address it carries.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refusal(embedded, allowed)
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "wildcard (unspecified)"  # messages say "a <reason> address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "shared (CGNAT)"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def check_url(url: str) -> httpx.URL:
    """Parse `url` and refuse what the client never fetches: other schemes, no host,
    credentials in the URL. Addresses are checked at connect time."""
    try:
        parsed = httpx.URL(url)
        # Decoded on access: punycode holding what no host name may hold fails only here.
        host = parsed.host
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UrlNotAllowed(f"not a valid URL: {exc}", url=url) from None
    if parsed.scheme not in ("http", "https"):
        raise UrlNotAllowed(f"only http and https URLs are fetched, not {parsed.scheme!r}", url=url)
    if not host:
        raise UrlNotAllowed("the URL has no host", url=url)
    if parsed.userinfo:
        raise UrlNotAllowed("credentials in the URL are not accepted", url=url)
    return parsed


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses of `host`, all of them allowed, or AddressNotAllowed naming the first
    refused one. A name that resolves to one private address among public ones is refused
    as a whole: we would not know which one a later connection gets."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectFailed(f"cannot resolve {host}: {exc.strerror}") from None
    addresses: list[str] = []
    allowed = allowed_networks()
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]
        ip = ipaddress.ip_address(text)
        reason = address_refusal(ip, allowed)
        if reason:
            raise AddressNotAllowed(f"{host} resolves to {ip}, a {reason} address")
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise ConnectFailed(f"{host} has no address")
    return addresses


class _CheckedNetwork(httpcore.NetworkBackend):
    """Connects only to checked addresses; TLS still verifies the original host name."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in resolve_checked(host, port):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or ConnectFailed(f"cannot connect to {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise AddressNotAllowed("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _Stream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """The checked connection pool under a GuardedClient; several clients may share one
    (each keeping its own cookies) to reuse connections to the same host."""

    def __init__(self, *, max_connections: int) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=max_connections,
            network_backend=_CheckedNetwork(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request through the checked pool; raises UrlNotAllowed for a non-http(s) URL,
        AddressNotAllowed for a refused address, FetchTimeout or ConnectFailed."""
        url = request.url
        if url.scheme not in ("http", "https"):
            raise UrlNotAllowed(f"redirected to a {url.scheme!r} URL", url=str(url))
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core_request)
        except (httpcore.ConnectTimeout, httpcore.ReadTimeout, httpcore.WriteTimeout) as exc:
            raise FetchTimeout(f"timed out: {exc}", url=str(url)) from None
        except httpcore.PoolTimeout as exc:
            raise FetchTimeout(f"no free connection: {exc}", url=str(url)) from None
        except (httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise ConnectFailed(f"{type(exc).__name__}: {exc}", url=str(url)) from None
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class GuardedClient:
    """An httpx client that only reaches public addresses (see the module docstring).

    Keeps cookies between requests (shops that need a session) and connections per host.
    Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        max_connections: int = 10,
        headers: Mapping[str, str] | None = None,
        transport: GuardedTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        # A shared transport belongs to whoever made it: closing this client leaves it open.
        self._owns_transport = transport is None
        self._client = httpx.Client(
            transport=transport or GuardedTransport(max_connections=max_connections),
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=max_redirects,
            trust_env=False,  # no proxy from the environment: it would bypass the checks
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookies this client keeps between requests."""
        return self._client.cookies

    def request(self, method: str, url: str, **options: Any) -> FetchResult:
        """Send one request; the whole body is read, at most `max_bytes` of it.

        `options` are those of `stream` (headers, params, json, content).

        Raises FetchError (a subclass saying what went wrong) instead of returning.
        HTTP error statuses are returned, not raised: callers decide what 304 or 429 mean.
        """
        started = time.monotonic()
        with self.stream(method, url, **options) as response:
            body = b"".join(response.chunks)
        return FetchResult(
            status=response.status,
            url=response.url,
            headers=response.headers,
            content=body,
            elapsed=time.monotonic() - started,
        )

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> Iterator[StreamedResponse]:
        """The response with its body still to read, for bodies too large to hold whole.

        The same checks and caps as `request`: iterating `chunks` past `max_bytes` or past
        the deadline raises, and so does any transport failure while reading.
        """
        checked = check_url(url)
        deadline = time.monotonic() + self.timeout
        # A client span (a no-op unless tracing is on); the query string stays out of it,
        # as it may carry someone's key.
        with (
            _tracer.start_as_current_span(
                method,
                kind=SpanKind.CLIENT,
                attributes={
                    "http.request.method": method,
                    "server.address": checked.host,
                    "url.full": str(checked.copy_with(query=None, fragment=None)),
                },
            ) as span,
            self._open(method, url, deadline, headers, params, json, content) as response,
        ):
            span.set_attribute("http.response.status_code", response.status)
            yield response

    @contextlib.contextmanager
    def _open(
        self,
        method: str,
        url: str,
        deadline: float,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | None,
    ) -> Iterator[StreamedResponse]:
        try:
            with self._client.stream(
                method, url, headers=headers, params=params, json=json, content=content
            ) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise ResponseTooLarge(
                        f"{declared} bytes announced, the limit is {self.max_bytes}", url=url
                    )
                yield StreamedResponse(
                    status=response.status_code,
                    url=str(response.url),
                    headers=response.headers,
                    chunks=self._capped_chunks(response, deadline=deadline),
                )
        except httpx.TooManyRedirects:
            raise TooManyRedirects("too many redirects", url=url) from None
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out: {exc}", url=url) from None
        except httpx.DecodingError as exc:
            raise ConnectFailed(f"undecodable body: {exc}", url=url) from None
        except httpx.HTTPError as exc:
            raise ConnectFailed(f"{type(exc).__name__}: {exc}", url=url) from None

    def _capped_chunks(self, response: httpx.Response, *, deadline: float) -> Iterator[bytes]:
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise ResponseTooLarge(f"more than {self.max_bytes} bytes", url=str(response.url))
            if time.monotonic() > deadline:
                raise FetchTimeout(f"body not read within {self.timeout} s", url=str(response.url))
            yield chunk

    def get(self, url: str, **kwargs: Any) -> FetchResult:
        """A GET, as `request` sends it: the body read whole, error statuses returned."""
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        """Close the client; a transport passed in by the caller is left open."""
        if self._owns_transport:
            self._client.close()

    def __enter__(self) -> GuardedClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (delta or HTTP date), capped at an hour; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    # A plain number of seconds past the cap is the cap; one of more than 18 digits is
    # nonsense (and int() refuses thousands of digits), so it counts as no hint.
    seconds = plain_whole_number(value, max_digits=18)
    if seconds is not None:
        return min(float(seconds), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER))
