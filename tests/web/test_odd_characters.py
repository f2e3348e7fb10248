"""No page answers 500 to odd text in any query parameter or form field the pages read: a
NUL byte (PostgreSQL refuses it in any text), a very long value, a digit of another
script, or a number no column holds."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

ODD = ["a\x00b", "x" * 5000, "٣", "-1", "1e309"]
FIELDS = [
    "q",
    "category",
    "cursor",
    "source",
    "item",
    "page",
    "store",
    "from",
    "to",
    "next",
    "low",
    "product",
    "quantity",
    "username",
    "password",
    "email",
    "name",
    "address",
    "channel",
    "action",
    "subscription",
    "target_price",
    "code",
    "message",
    "status",
    "reason",
    "frequency",
    "mode",
    "kind",
    "idempotency_key",
    "fulfilment",
    "customer_name",
    "customer_phone",
    "note",
    "payment",
    "points",
    "language",
]


def _page_paths(patterns, prefix: str = "") -> list[str]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _page_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            if route.startswith(("^", "api/")) or "admin/" in route or route.endswith(".js"):
                continue
            path = re.sub(r"<int:\w+>", "1", route)
            found.append("/" + re.sub(r"<(\w+:)?\w+>", "word", path))
    return sorted(set(found))


PATHS = _page_paths(get_resolver().url_patterns)


@pytest.mark.parametrize("path", PATHS)
def test_odd_text_in_any_field_is_never_a_500(client, make_user, store_a, path):
    from shelfwatch.accounts.models import StoreMembership

    user = make_user("owner@example.com", admin=True)
    StoreMembership.objects.create(user=user, store=store_a, role="owner")
    client.force_login(user)
    for value in ODD:
        data = dict.fromkeys(FIELDS, value)
        query = client.get(path, data)
        assert query.status_code < 500, ("get", path, value)
        form = client.post(path, data)
        assert form.status_code < 500, ("post", path, value)
