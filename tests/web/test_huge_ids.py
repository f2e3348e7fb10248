"""No page answers 500 to an id in its path too large for the database: the same 404 as an
id that names nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

HUGE = str(10**25)


def _page_paths(patterns, prefix: str = "") -> list[str]:
    """Every route below `patterns` that takes an `<int:...>` part, with each part HUGE and
    any other part a plain word."""
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _page_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and "<int:" in route:
            if route.startswith(("^", "api/")) or "admin/" in route:
                continue  # the API has its own test; the admin is Django's
            path = re.sub(r"<int:\w+>", HUGE, route)
            found.append("/" + re.sub(r"<(\w+:)?\w+>", "word", path))
    return found


PATHS = _page_paths(get_resolver().url_patterns)


def test_there_are_page_routes_with_ids_to_try():
    assert len(PATHS) >= 5, PATHS


@pytest.mark.parametrize("path", PATHS)
def test_a_page_given_an_id_too_large_for_the_database_is_not_found(client, make_user, path):
    make_user("owner@example.com", admin=True)
    for signed_in in (False, True):
        if signed_in:
            client.login(email="owner@example.com", password="a-long-test-passphrase-42")
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code < 500, (method, path, signed_in)
