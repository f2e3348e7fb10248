"""Inserting many new rows of one model with little per-value work, for batch jobs.

`QuerySet.bulk_create` prepares every value of every object through its field, compiles
the statement per call and checks each object on the way; for a bulk import that writes
several rows per line of a file, that preparation costs more than the database does.
`insert_all` keeps the contract that matters (the rows' defaults, `auto_now` stamps, their
ids set on the objects) and prepares through the field only the values that need it
(JSON, decimals, dates); plain numbers and text go to the driver as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

# Text and numbers the drivers take as they are.
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
    models.BooleanField,
    models.ForeignKey,
)
# Rows per statement: well inside every driver's limit on parameters.
_CHUNK_PARAMS = 20_000


def _stamped(field: models.Field) -> bool:
    return isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add)


def _reader(field: models.Field, connection: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    """How to get `field`'s value of an object, ready for the driver (made per call)."""
    attname = field.attname
    if _stamped(field):
        # One moment for the whole call, as one statement would stamp its rows; the
        # objects get it too, as save() would give it them.
        value = field.pre_save(_Stamp(), True)
        stamp = field.get_db_prep_save(value, connection)

        def stamped(obj: Any) -> Any:
            setattr(obj, attname, value)
            return stamp

        return stamped
    if isinstance(field, _PLAIN):
        return lambda obj: getattr(obj, attname)
    if isinstance(field, (models.DateField, models.DecimalField)):
        # Batch rows share their timestamps and prices: each distinct value is prepared once.
        prepared: dict[Any, Any] = {}

        def read(obj: Any) -> Any:
            value = getattr(obj, attname)
            try:
                return prepared[value]
            except KeyError:
                prepared[value] = ready = field.get_db_prep_save(value, connection)
                return ready

        return read
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


class _Stamp:
    """Stands in for an object when an auto_now field computes its stamp."""


def insert_all(objs: Sequence[models.Model], *, using: str | None = None) -> None:
    """Insert new objects of one model (with an auto-increment primary key) and set their
    ids; inside the caller's transaction. Signals are not sent, as with bulk_create."""
    if not objs:
        return
    model = type(objs[0])
    alias = using or router.db_for_write(model) or DEFAULT_DB_ALIAS
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert:
        model._default_manager.using(alias).bulk_create(objs)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    readers = [_reader(field, connection) for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
    tail = f" RETURNING {quote(meta.pk.column)}"
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_chunk = max(1, _CHUNK_PARAMS // max(1, len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_chunk):
            chunk = objs[start : start + per_chunk]
            params = [read(obj) for obj in chunk for read in readers]
            cursor.execute(head + ", ".join([row] * len(chunk)) + tail, params)
            # Both databases return the ids in the order of the VALUES rows.
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = alias


def insert_values(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    using: str | None = None,
) -> list[int]:
    """Insert rows given as tuples of the values of fields `names` (attribute names, such as
    `event_id`), the model's other fields taking their defaults and stamps; their new ids,
    in order. For batch rows nothing reads back as objects: no instance is made per row."""
    if not rows:
        return []
    alias = using or router.db_for_write(model) or DEFAULT_DB_ALIAS
    connection = connections[alias]
    meta = model._meta
    given = {meta.get_field(name).attname: i for i, name in enumerate(names)}
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    if not connection.features.can_return_rows_from_bulk_insert:
        objs = [model(**{name: row[i] for name, i in given.items()}) for row in rows]
        model._default_manager.using(alias).bulk_create(objs)
        return [obj.pk for obj in objs]
    getters: list[Callable[[Sequence[Any]], Any]] = []
    for field in fields:
        index = given.get(field.attname)
        if index is None:
            # Not given: the default (or stamp) is the same for every row, prepared once.
            value = field.pre_save(_Stamp(), True) if _stamped(field) else field.get_default()
            fixed = field.get_db_prep_save(value, connection)
            getters.append(lambda row, fixed=fixed: fixed)
        elif isinstance(field, _PLAIN):
            getters.append(lambda row, index=index: row[index])
        else:
            getters.append(
                lambda row, index=index, field=field: field.get_db_prep_save(row[index], connection)
            )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
    tail = f" RETURNING {quote(meta.pk.column)}"
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_chunk = max(1, _CHUNK_PARAMS // max(1, len(fields)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            params = [get(row) for row in chunk for get in getters]
            cursor.execute(head + ", ".join([marks] * len(chunk)) + tail, params)
            ids += [pk for (pk,) in cursor.fetchall()]
    return ids
