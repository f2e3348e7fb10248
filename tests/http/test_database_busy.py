"""A transaction the database aborted over locks is answered 503 `busy_retry` with
Retry-After, never a 500; any other database failure still surfaces as an error."""

from __future__ import annotations

import json

import psycopg.errors
import pytest
from django.db import OperationalError
from django.test import RequestFactory

from shelfwatch.config.api import on_database_busy


def _raised_by(cause: Exception) -> OperationalError:
    try:
        try:
            raise cause
        except Exception as inner:
            raise OperationalError(str(inner)) from inner
    except OperationalError as exc:
        return exc


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.LockNotAvailable("could not obtain lock"),
        Exception("database is locked"),
    ],
)
def test_lock_contention_asks_the_client_to_send_again(cause):
    request = RequestFactory().post("/api/v1/cart/items")
    response = on_database_busy(request, _raised_by(cause))
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["Content-Type"].startswith("application/problem+json")
    assert json.loads(response.content)["code"] == "busy_retry"


def test_other_database_failures_are_not_hidden():
    request = RequestFactory().get("/api/v1/products")
    with pytest.raises(OperationalError):
        on_database_busy(request, _raised_by(psycopg.errors.AdminShutdown("shutting down")))
