"""Fixtures for the loyalty tests: a bakery with a program and a customer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.loyalty.models import Program


@pytest.fixture
def program(store_a):
    """1 point per ₹100 delivered, a point is worth ₹1, at most 20% of an order, 12 months."""
    return Program.objects.create(
        store=store_a,
        earn_points=1,
        earn_per_amount=Decimal("100"),
        point_value=Decimal("1.00"),
        max_redeem_percent=20,
        expiry_months=12,
    )


@pytest.fixture
def customer(make_user):
    return make_user("loyal@example.com")
