"""Input bounds taken from the columns that will hold the values.

An API schema declares a field as `column(Model, "field")` and gets the column's limits:
the length of a CharField, the range of an IntegerField (32-bit on PostgreSQL), the digits
of a DecimalField, the key range of a ForeignKey. `BoundedSchema` adds what holds for every
input: no NUL byte or lone surrogate in any string (nested ones included), integers within
64 bits, decimals finite and times storable as UTC (a time sent without an offset is read in
the default time zone, as Django would store it), so out-of-range input is a 422 naming
the field, never a database error or a value SQLite would store and choke on later.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.db import models
from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, Field, field_validator

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# TextFields have no column limit; the request body cap bounds them anyway.
TEXT_MAX_LENGTH = 20_000

_INTEGER_RANGES: dict[type[models.Field], tuple[int, int]] = {
    models.SmallIntegerField: (-(2**15), 2**15 - 1),
    models.PositiveSmallIntegerField: (0, 2**15 - 1),
    models.IntegerField: (INT32_MIN, INT32_MAX),
    models.PositiveIntegerField: (0, INT32_MAX),
    models.BigIntegerField: (INT64_MIN, INT64_MAX),
    models.PositiveBigIntegerField: (0, INT64_MAX),
    models.AutoField: (1, INT32_MAX),
    models.BigAutoField: (1, INT64_MAX),
    models.SmallAutoField: (1, 2**15 - 1),
}


def clean_text(value: str) -> str:
    """`value` unchanged, or ValueError when it holds a NUL byte or a lone surrogate,
    which no database column can store."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def _check_nested(value: Any) -> Any:
    if isinstance(value, str):
        clean_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_nested(key)
            _check_nested(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_nested(item)
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("is out of range")
    elif isinstance(value, (float, Decimal)) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    elif isinstance(value, datetime):
        _storable_moment(value)
    return value


def _storable_moment(value: datetime) -> None:
    # Stored as UTC: "9999-12-31T23:00-08:00" is a valid ISO time whose UTC is past the
    # last year a datetime holds, and the conversion would fail at save time instead.
    try:
        moment = value if value.tzinfo else timezone.make_aware(value)
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _integer_range(field: models.Field) -> tuple[int, int]:
    if isinstance(field, models.ForeignKey):
        return _integer_range(field.target_field)
    for kind in type(field).__mro__:
        if kind in _INTEGER_RANGES:
            return _INTEGER_RANGES[kind]
    return INT64_MIN, INT64_MAX


def column(model: type[models.Model], name: str, **constraints: Any) -> Any:
    """The input type of a value bound for `model.name`, limited as that column is.

    `constraints` are added (e.g. `min_length`); `ge`/`le` replace an integer column's own
    range, where a domain rule refuses the rest with a code of its own (a negative quantity
    the service reports as `invalid_quantity`). A ForeignKey gives the referenced key's
    type and range.
    """
    field = model._meta.get_field(name)
    if isinstance(field, models.DecimalField):
        digits = field.max_digits - field.decimal_places
        bound = Decimal(10) ** digits - Decimal(1).scaleb(-field.decimal_places)
        limits = {"ge": -bound, "le": bound, **constraints}
        return Annotated[
            Decimal,
            Field(allow_inf_nan=False, **limits),
            AfterValidator(_finite),
        ]
    if isinstance(field, (models.IntegerField, models.AutoField, models.ForeignKey)):
        low, high = _integer_range(field)
        low, high = constraints.pop("ge", low), constraints.pop("le", high)
        return Annotated[int, Field(ge=max(low, INT64_MIN), le=min(high, INT64_MAX), **constraints)]
    if isinstance(field, models.CharField):
        length = min(
            field.max_length or TEXT_MAX_LENGTH, constraints.pop("max_length", TEXT_MAX_LENGTH)
        )
        return Annotated[str, Field(max_length=length, **constraints), AfterValidator(clean_text)]
    if isinstance(field, models.TextField):
        length = constraints.pop("max_length", TEXT_MAX_LENGTH)
        return Annotated[str, Field(max_length=length, **constraints), AfterValidator(clean_text)]
    raise TypeError(f"no input bounds for {type(field).__name__} {model.__name__}.{name}")


Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A key of a row in a path or query: any id a BigAutoField can hold."""

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX_LENGTH), AfterValidator(clean_text)]


class BoundedSchema(Schema):
    """A request body whose every string is storable and every number within 64 bits."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        value = _check_nested(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            # Made aware here, so a naive time never meets an aware one in a comparison.
            return timezone.make_aware(value)
        return value
