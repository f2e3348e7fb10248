"""Creating, changing and detecting sources (service functions the API and admin call)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.errors import Invalid
from shelfwatch.http.outbound import FetchError, GuardedClient, check_url
from shelfwatch.watch.adapters import ADAPTERS, adapter_for
from shelfwatch.watch.adapters.base import Detection, NeedsConfiguration, SourceProblem
from shelfwatch.watch.adapters.page_data import extract_product, page_links
from shelfwatch.watch.adapters.shopify import item_from_product
from shelfwatch.watch.fetching import HostGate, SourceFetcher
from shelfwatch.watch.models import MIN_POLL_INTERVAL, Host, Source, SourceKind

PREVIEW_ITEMS = 20
_TITLE = re.compile(r"<title[^>]*>([^<]{1,200})</title>", re.IGNORECASE)


class InvalidSource(Invalid):
    code = "invalid_source"


class DetectionFailed(Invalid):
    code = "kind_not_detected"


def host_key(url: str) -> str:
    """`host:port` of the URL, the host lowercased and the port defaulted by scheme; raises
    UrlNotAllowed for a URL the outbound checks refuse."""
    parsed = check_url(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.host.lower()}:{port}"


def host_for(url: str) -> Host:
    """The Host row of `url`'s host:port, created on first use."""
    host, _ = Host.objects.get_or_create(key=host_key(url))
    return host


def clean_source_fields(
    *, kind: str, base_url: str, settings: dict[str, Any], poll_interval: int
) -> dict[str, Any]:
    """Validated settings for a polled source, or InvalidSource saying what is wrong."""
    if kind not in ADAPTERS:
        raise InvalidSource(
            f"kind must be one of {', '.join(sorted(ADAPTERS))}", code="unknown_source_kind"
        )
    if poll_interval < MIN_POLL_INTERVAL:
        raise InvalidSource(
            f"poll_interval is at least {MIN_POLL_INTERVAL} seconds", code="poll_interval_too_short"
        )
    try:
        check_url(base_url)
    except FetchError as exc:
        raise InvalidSource(str(exc), code=exc.code) from None
    try:
        return adapter_for(kind).clean_settings(settings or {}, base_url)
    except NeedsConfiguration as exc:
        raise InvalidSource(str(exc), code="invalid_source_settings") from None


def create_source(
    *,
    name: str,
    kind: str,
    base_url: str,
    settings: dict[str, Any] | None = None,
    poll_interval: int = 300,
    is_public: bool = True,
    created_by: User | None = None,
) -> Source:
    """A new polled source, due at once (its first poll records the baseline)."""
    cleaned = clean_source_fields(
        kind=kind, base_url=base_url, settings=settings or {}, poll_interval=poll_interval
    )
    with transaction.atomic():
        return Source.objects.create(
            name=name.strip()[:200] or host_key(base_url),
            kind=kind,
            base_url=base_url,
            settings=cleaned,
            host=host_for(base_url),
            poll_interval=poll_interval,
            is_public=is_public,
            created_by=created_by,
            next_run_at=timezone.now(),
        )


def update_source(source: Source, **changes: Any) -> Source:
    """Change name, settings, base_url, poll_interval, is_active or is_public."""
    if source.kind == SourceKind.INTERNAL:
        allowed = {"name", "is_active", "is_public"}
    else:
        allowed = {"name", "settings", "base_url", "poll_interval", "is_active", "is_public"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidSource(f"cannot change {', '.join(sorted(unknown))}", code="field_read_only")
    for field, value in changes.items():
        setattr(source, field, value)
    if source.kind != SourceKind.INTERNAL:
        source.settings = clean_source_fields(
            kind=source.kind,
            base_url=source.base_url,
            settings=source.settings,
            poll_interval=source.poll_interval,
        )
        if "base_url" in changes:
            source.host = host_for(source.base_url)
            source.validators, source.state = {}, {}
        if {"settings", "base_url"} & set(changes):
            source.next_run_at = timezone.now()
    source.save()
    return source


def request_poll(source: Source, *, now: datetime | None = None) -> None:
    """Make the source due now; the next dispatcher tick polls it (kicked at once)."""
    if source.kind == SourceKind.INTERNAL:
        raise InvalidSource(
            "internal sources follow our stock; they are never polled", code="source_not_polled"
        )
    Source.objects.filter(pk=source.pk).update(next_run_at=now or timezone.now())
    from shelfwatch.watch.tasks import kick_dispatcher

    kick_dispatcher()


def _origin(url: str) -> str:
    parsed = check_url(url)
    default = 443 if parsed.scheme == "https" else 80
    port = f":{parsed.port}" if parsed.port and parsed.port != default else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def detect_source(url: str) -> Detection:
    """Look at `url` and say what kind of source it is, with the products it shows now.

    Nothing is saved. Shopify storefronts and pages with a product offer are recognised;
    anything else raises DetectionFailed saying what was found.
    """
    try:
        check_url(url)
    except FetchError as exc:
        raise InvalidSource(str(exc), code=exc.code) from None
    gate = HostGate(min_interval=0.2, max_concurrency=1)
    with GuardedClient(timeout=15.0, max_bytes=5 * 1024 * 1024) as client:
        fetcher = SourceFetcher(client=client, gate=gate, validators={})
        try:
            page = fetcher.get(url)
            if page is None or page.status != 200:
                raise DetectionFailed(f"{url} answered {page.status if page else 304}")
            return _detect_from(url, page, fetcher)
        except FetchError as exc:
            raise DetectionFailed(f"could not fetch {url}: {exc}", code=exc.code) from None
        except SourceProblem as exc:
            raise DetectionFailed(str(exc)) from None


def _detect_from(url: str, page, fetcher: SourceFetcher) -> Detection:
    content_type = page.headers.get("content-type", "")
    text = page.text
    origin = _origin(page.url)
    title_match = _TITLE.search(text)
    title = title_match.group(1).strip() if title_match else origin.split("//", 1)[1]
    if "json" in content_type:
        try:
            body = page.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("products"), list):
            return _shopify_detection(origin, body["products"], title=origin.split("//")[1])
        raise DetectionFailed(
            "a JSON API: add it as kind 'json' with JMESPath expressions for its fields",
            code="json_needs_expressions",
        )
    if "cdn.shopify.com" in text or "Shopify.shop" in text or "shopify-digital-wallet" in text:
        listing = fetcher.get(f"{origin}/products.json?limit=250&page=1")
        if listing is not None and listing.status == 200:
            try:
                products = listing.json().get("products")
            except (ValueError, AttributeError):
                products = None
            if isinstance(products, list):
                return _shopify_detection(origin, products, title=title)
    product = extract_product(text)
    if product is not None:
        from shelfwatch.watch.adapters import jsonld

        settings = jsonld.clean_settings({"urls": [page.url]}, page.url)
        try:
            item = jsonld.item_from_page(text, url=page.url, settings=settings)
        except NeedsConfiguration as exc:
            raise DetectionFailed(str(exc), code="needs_configuration") from None
        return Detection(
            kind="jsonld",
            base_url=page.url,
            settings=settings,
            name=product.name or title,
            items=[item] if item else [],
        )
    links = [u for u in page_links(text, page.url) if re.search(r"/(products?|p|item)/", u)]
    if links:
        from shelfwatch.watch.adapters import jsonld

        settings = {"listing_url": page.url}
        items = []
        for link in links[:5]:
            linked = fetcher.get(link)
            if linked is not None and linked.status == 200:
                try:
                    found = jsonld.item_from_page(linked.text, url=link, settings=settings)
                except NeedsConfiguration:
                    found = None
                if found:
                    items.append(found)
        if items:
            return Detection(
                kind="jsonld", base_url=page.url, settings=settings, name=title, items=items
            )
    raise DetectionFailed(
        "no Shopify storefront and no product offer (JSON-LD, OpenGraph, microdata) found"
    )


def _shopify_detection(origin: str, products: list, *, title: str) -> Detection:
    listed_at = f"{origin}/products.json?limit=250&page=1"
    items = [
        item_from_product(p, base_url=origin, listed_at=listed_at)
        for p in products[:PREVIEW_ITEMS]
        if isinstance(p, dict)
    ]
    return Detection(kind="shopify", base_url=origin, settings={}, name=title, items=items)
