"""Pictures for products that came from Open Food Facts.

A record names its front image by URL; the import keeps that URL in the product's
`attributes["openfoodfacts"]["image_url"]`, and a periodic job fetches a few at a time
through the guarded client (public addresses only, a size cap, the contact User-Agent)
and stores each like an upload: checked, stripped of metadata, rendered. What happened is
noted in `attributes["image_fetch"]` with the URL it is about, so a picture that is gone
or is not a picture is not asked for again (until a later import names another URL), and
one that failed for a passing reason is tried again a few times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import F, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.throttling import hit
from shelfwatch.catalog.image_files import ImageRejected
from shelfwatch.catalog.images import attach_image, store_image
from shelfwatch.catalog.models import Product
from shelfwatch.errors import Conflict
from shelfwatch.http.outbound import FetchError, GuardedClient
from shelfwatch.imports.openfoodfacts.client import NotConfigured, user_agent

logger = logging.getLogger("shelfwatch.imports")

# Transient failures (timeouts, 5xx, 429) are retried on later runs up to this many times.
MAX_ATTEMPTS = 3


@dataclass
class ImageRun:
    """What one run did."""

    fetched: int = 0
    failed: int = 0
    retry_later: int = 0
    stopped_by_limit: bool = False


def waiting(limit: int) -> list[Product]:
    """Products with an Open Food Facts image URL, no picture and no final outcome yet,
    oldest first."""
    rows = (
        Product.objects.filter(
            attributes__openfoodfacts__image_url__startswith="http",
            images__isnull=True,
            merged_into__isnull=True,
            created_by__isnull=False,
        )
        # As plain text (a lookup on the JSON key itself would read "done" as JSON), and
        # never NULL, which would make the NOT below drop products without a note.
        .annotate(
            wanted_url=Cast(KT("attributes__openfoodfacts__image_url"), TextField()),
            noted_url=Coalesce(
                Cast(KT("attributes__image_fetch__url"), TextField()),
                Value("", output_field=TextField()),
            ),
            noted_state=Coalesce(
                Cast(KT("attributes__image_fetch__state"), TextField()),
                Value("", output_field=TextField()),
            ),
        )
        # A final outcome stands for the URL it was about; a new URL is tried afresh.
        .exclude(noted_state="done", noted_url=F("wanted_url"))
        .select_related("created_by")
        .order_by("pk")
    )
    return list(rows[:limit])


def _note(product: Product, *, done: bool, reason: str, attempts: int = 0) -> None:
    """Record the outcome for the URL it is about (re-read, to keep concurrent edits)."""
    fresh = Product.objects.filter(pk=product.pk).values_list("attributes", flat=True).first()
    if fresh is None:
        return
    note = {
        "url": product.attributes["openfoodfacts"]["image_url"],
        "state": "done" if done else "retry",
        "reason": reason,
        "attempts": attempts,
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    Product.objects.filter(pk=product.pk).update(attributes={**fresh, "image_fetch": note})


def _allowed(url: str) -> bool:
    parts = urlsplit(url)
    hosts = settings.OFF_IMAGE_HOSTS
    return parts.scheme in ("http", "https") and (not hosts or parts.hostname in hosts)


def fetch_one(product: Product, *, client: GuardedClient, agent: str) -> str:
    """Fetch and attach `product`'s image; returns "fetched", "failed" or "retry"."""
    url = product.attributes["openfoodfacts"]["image_url"]
    note = product.attributes.get("image_fetch") or {}
    attempts = (int(note.get("attempts") or 0) if note.get("url") == url else 0) + 1
    if not _allowed(url):
        _note(product, done=True, reason="host_not_allowed")
        return "failed"
    try:
        result = client.get(url, headers={"User-Agent": agent, "Accept": "image/*"})
    except FetchError as exc:
        if exc.code in ("url_not_allowed", "address_not_allowed", "response_too_large"):
            _note(product, done=True, reason=exc.code)
            return "failed"
        _note(product, done=attempts >= MAX_ATTEMPTS, reason=exc.code, attempts=attempts)
        return "retry" if attempts < MAX_ATTEMPTS else "failed"
    if result.status in (404, 410):
        _note(product, done=True, reason=f"http_{result.status}")
        return "failed"
    if result.status != 200:
        done = attempts >= MAX_ATTEMPTS or (400 <= result.status < 500 and result.status != 429)
        _note(product, done=done, reason=f"http_{result.status}", attempts=attempts)
        return "failed" if done else "retry"
    try:
        blob = store_image(data=result.content)
        attach_image(
            product=product,
            blob=blob,
            principal=Principal(user=product.created_by, method="import"),
        )
    except (ImageRejected, Conflict) as exc:
        _note(product, done=True, reason=exc.code)
        return "failed"
    _note(product, done=True, reason="fetched")
    return "fetched"


def fetch_waiting_images(*, limit: int | None = None) -> ImageRun:
    """Fetch the pictures of up to `limit` waiting products (OFF_IMAGES_PER_RUN), stopping
    early at the OFF_IMAGE_RATE_LIMIT shared by every process. Nothing happens until
    OFF_CONTACT_EMAIL is set: Open Food Facts asks every client to name a contact."""
    run = ImageRun()
    try:
        agent = user_agent()
    except NotConfigured:
        return run
    products = waiting(limit or settings.OFF_IMAGES_PER_RUN)
    if not products:
        return run
    with GuardedClient(
        timeout=settings.OFF_TIMEOUT, max_bytes=settings.IMAGE_MAX_BYTES, max_redirects=3
    ) as client:
        for product in products:
            if hit("openfoodfacts", "images", settings.OFF_IMAGE_RATE_LIMIT) is not None:
                run.stopped_by_limit = True
                break
            outcome = fetch_one(product, client=client, agent=agent)
            if outcome == "fetched":
                run.fetched += 1
            elif outcome == "retry":
                run.retry_later += 1
            else:
                run.failed += 1
    if run.failed or run.retry_later:
        logger.info(
            "open food facts images: %s fetched, %s failed, %s to try again",
            run.fetched,
            run.failed,
            run.retry_later,
        )
    return run
