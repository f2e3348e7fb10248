"""Demo loyalty data: the bakery runs a program and the demo customer holds some points."""

from __future__ import annotations

from decimal import Decimal

from shelfwatch.accounts.models import User
from shelfwatch.inventory.models import Store
from shelfwatch.loyalty.ledger import adjust
from shelfwatch.loyalty.models import Entry, Program

WELCOME_POINTS = 120


def load_demo_loyalty(*, store: Store, customer: User, admin: User) -> bool:
    """Give `store` a program and `customer` welcome points there, once; True if created."""
    _, created = Program.objects.get_or_create(
        store=store,
        defaults={
            "earn_points": 1,
            "earn_per_amount": Decimal("10.00"),
            "point_value": Decimal("0.10"),
            "max_redeem_percent": 25,
            "expiry_months": 12,
        },
    )
    if not Entry.objects.filter(account__user=customer, account__store=store).exists():
        adjust(
            user=customer,
            store_id=store.pk,
            points=WELCOME_POINTS,
            reason="welcome bonus",
            actor=admin,
        )
    return created
