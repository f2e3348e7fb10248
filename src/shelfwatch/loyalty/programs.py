"""Reading and changing a store's loyalty program settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from shelfwatch.errors import Invalid
from shelfwatch.inventory.models import Store
from shelfwatch.loyalty.models import Program


class InvalidProgram(Invalid):
    code = "invalid_program"


EDITABLE = (
    "enabled",
    "earn_points",
    "earn_per_amount",
    "point_value",
    "max_redeem_percent",
    "expiry_months",
)


def program_of(store: Store) -> Program:
    """The store's program; an unsaved, disabled one with the defaults when it has none."""
    program = Program.objects.filter(store=store).first()
    return program or Program(store=store, enabled=False)


def save_program(*, store: Store, settings: dict[str, Any]) -> Program:
    """Create or replace the store's program settings with `settings` (the EDITABLE
    fields), validated by the model's own rules."""
    unknown = set(settings) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not program settings: {sorted(unknown)}")
    with transaction.atomic():
        program = Program.objects.select_for_update().filter(store=store).first()
        program = program or Program(store=store)
        for name, value in settings.items():
            setattr(program, name, value)
        try:
            program.full_clean(exclude=["store"])
        except ValidationError as exc:
            raise InvalidProgram(
                "; ".join(
                    f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
                )
            ) from None
        program.save()
    return program
