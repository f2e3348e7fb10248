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
# Rows per VALUES statement on SQLite at most (a power of two; see `chunk_sizes`).
_SQLITE_ROWS = 128
# Rows per UNNEST statement on PostgreSQL (no parameter limit there; this bounds memory).
_UNNEST_ROWS = 10_000


class JsonText(str):
    """A JSON column's value already encoded as JSON text: `insert_values` writes it as it
    is, where the field would encode its value again."""


def _json_reader(field: models.Field, connection: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    """How `insert_values` prepares a JSON column's value: JsonText as it is, any other
    value through the field."""
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        def raw(text: str) -> Any:
            return Jsonb(text, dumps=str)
    else:

        def raw(text: str) -> Any:
            return str(text)

    last: list[Any] = [None, None]  # the last JsonText given and its value for the driver

    def read(value: Any) -> Any:
        if type(value) is JsonText:
            # One object for a text repeated row after row (an empty list), so `_insert`
            # sees the column as one value.
            if value is not last[0]:
                last[:] = [value, raw(value)]
            return last[1]
        return field.get_db_prep_save(value, connection)

    return read


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
        shared = _shared(field, connection)
        return lambda obj: shared(getattr(obj, attname))
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def binary_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor of `connection` (PostgreSQL) that sends `%b` parameters in binary form, as
    Django's wrapper (query logging, execute wrappers) sees it.

    Django's own cursors bind on the client, writing every value into the SQL text: an
    array parameter is then written element by element with a regex escape each, which for
    a batch's text and JSON columns costs more than the insert itself.
    """
    import psycopg

    class _Unprepared(psycopg.Cursor):
        # Never a server-side prepared statement, as with Django's own cursors: a pooler
        # in transaction mode would not find it on the next transaction's connection.
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, **{**kwargs, "prepare": False})

    connection.ensure_connection()
    return connection._prepare_cursor(_Unprepared(connection.connection))


def _shared(field: models.Field, connection: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    """`field`'s preparation of a value, made once per distinct value: batch rows share
    their timestamps and prices."""
    prepared: dict[Any, Any] = {}

    def read(value: Any) -> Any:
        try:
            return prepared[value]
        except KeyError:
            prepared[value] = ready = field.get_db_prep_save(value, connection)
            return ready

    return read


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
    ids = _insert(connection, meta, fields, [[read(obj) for read in readers] for obj in objs])
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias


def _insert(
    connection: BaseDatabaseWrapper,
    meta: Any,
    fields: list[models.Field],
    rows: list[list[Any]],
) -> list[int]:
    """INSERT `rows` (values ready for the driver, in the order of `fields`); their new ids,
    in order.

    PostgreSQL gets one array per column through UNNEST, as Django's bulk_create does:
    psycopg turns a query's placeholders into the driver's in Python, one regex match at a
    time, which for a multi-row VALUES list costs more than the database's insert. Both
    databases return the ids in the order of the rows given.
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    tail = f" RETURNING {quote(meta.pk.column)}"
    ids: list[int] = []
    if connection.vendor == "postgresql":
        types = [field.db_type(connection).split("(")[0] for field in fields]
        with binary_cursor(connection) as cursor:
            for start in range(0, len(rows), _UNNEST_ROWS):
                chunk = rows[start : start + _UNNEST_ROWS]
                sql, params = _unnest(types, [list(c) for c in zip(*chunk, strict=True)])
                cursor.execute(head + sql + tail, params)
                ids += [pk for (pk,) in cursor.fetchall()]
        return ids
    with connection.cursor() as cursor:
        marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
        start = 0
        for size in chunk_sizes(len(rows), len(fields)):
            chunk = rows[start : start + size]
            start += size
            params = [value for row in chunk for value in row]
            cursor.execute(head + "VALUES " + ", ".join([marks] * size) + tail, params)
            ids += [pk for (pk,) in cursor.fetchall()]
    return ids


def _unnest(types: list[str], columns: list[list[Any]]) -> tuple[str, list[Any]]:
    """The SELECT of an insert's rows (PostgreSQL) and its parameters: a column holding one
    value in every row is sent once, as that value, and only the others as arrays.

    Dumping an array costs the driver Python work per element; a batch's rows share many
    of their values (the store, the job, the reason, blank texts), and sending those once
    halves what a batch import hands to the driver.
    """
    constant = [
        all(value is first or (type(value) is type(first) and value == first) for value in column)
        for column in columns
        for first in (column[0],)
    ]
    if all(constant):
        constant[0] = False  # UNNEST needs one array to give the number of rows
    values: list[str] = []
    names: list[str] = []
    params: list[Any] = []
    arrays: list[Any] = []
    for i, (kind, column, same) in enumerate(zip(types, columns, constant, strict=True)):
        if same:
            values.append(f"(%b)::{kind}")
            params.append(column[0])
        else:
            values.append(f"u.c{i}")
            names.append(f"c{i}")
            arrays.append(column)
    unnest = ", ".join(
        f"(%b)::{kind}[]" for kind, same in zip(types, constant, strict=True) if not same
    )
    sql = f"SELECT {', '.join(values)} FROM UNNEST({unnest}) AS u({', '.join(names)})"  # noqa: S608
    return sql, params + arrays


def chunk_sizes(rows: int, columns: int) -> list[int]:
    """How many rows each VALUES statement of an insert of `rows` rows takes (SQLite): full
    chunks of a power of two, then the rest in smaller powers of two.

    SQLite's driver keeps each connection's last 128 statement texts prepared, about 115
    bytes a value each: a VALUES list as long as a batch's rows is a text of its own at
    every batch, and an import worker held 30 MiB of them, none used again. With these
    sizes a table has a few statement texts, each prepared once and reused.
    """
    full = 1 << (max(1, min(_SQLITE_ROWS, _CHUNK_PARAMS // max(1, columns))).bit_length() - 1)
    sizes = [full] * (rows // full)
    rest = rows % full
    while rest:
        piece = 1 << (rest.bit_length() - 1)
        sizes.append(piece)
        rest -= piece
    return sizes


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
        elif isinstance(field, models.JSONField):
            json_read = _json_reader(field, connection)
            getters.append(lambda row, index=index, read=json_read: read(row[index]))
        elif isinstance(field, (models.DateField, models.DecimalField)):
            shared = _shared(field, connection)
            getters.append(lambda row, index=index, read=shared: read(row[index]))
        else:
            getters.append(
                lambda row, index=index, field=field: field.get_db_prep_save(row[index], connection)
            )
    return _insert(connection, meta, fields, [[get(row) for get in getters] for row in rows])
