"""Property-based fuzzing of the whole JSON API from its OpenAPI document (Schemathesis).

Every operation gets generated requests, anonymous and as a store owner, with a fixed seed
(derandomized) and a bounded number of examples so the run fits CI (FUZZ_EXAMPLES raises
it). Each response must not be a 5xx and must match what the document says: its status
codes, content type and body schema.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# What the document promises. Not "schema-valid data is accepted": domain rules (an unknown
# product, a past date) rightly refuse requests the schema alone cannot rule out.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The provider's signed webhook is not an API a client calls; its own tests cover it.
SKIPPED = {"/api/v1/notify/whatsapp/webhook"}


@pytest.fixture
def openapi_schema(settings):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from shelfwatch.config.wsgi import application

    settings.THROTTLE_ENABLED = False
    # As Django's test client does: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def owner_headers(make_user, store_a):
    from shelfwatch.accounts.models import StoreMembership
    from shelfwatch.accounts.tokens import issue_access_token

    owner = make_user("owner@example.com")
    StoreMembership.objects.create(user=owner, store=store_a, role="owner")
    product = Product.objects.create(name="Amul Butter 500 g", brand="Amul")
    StockItem.objects.create(store=store_a, product=product, quantity=5)
    return {"Authorization": "Bearer " + issue_access_token(user=owner)[0]}


def fuzz(schema, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Run every operation's generated cases; (cases sent, one failure line per operation)."""
    sent = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue

        @hypothesis_settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            nonlocal sent
            sent += 1
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except BaseException as exc:  # Schemathesis reports a group of failures
            if isinstance(exc, KeyboardInterrupt):
                raise
            first = str(exc).strip().splitlines()
            failures.append(f"{operation.label}: {' | '.join(first[:6])}")
    return sent, failures


def test_anonymous_callers_get_documented_answers(openapi_schema):
    sent, failures = fuzz(openapi_schema, {})
    print(f"fuzzing, anonymous: {sent} requests, {len(failures)} operations failing")
    assert sent > 0
    assert failures == [], "\n".join(failures)


def test_a_store_owner_gets_documented_answers(openapi_schema, owner_headers):
    sent, failures = fuzz(openapi_schema, owner_headers)
    print(f"fuzzing, store owner: {sent} requests, {len(failures)} operations failing")
    assert sent > 0
    assert failures == [], "\n".join(failures)
