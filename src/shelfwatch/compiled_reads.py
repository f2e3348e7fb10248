"""Reads of a fixed shape whose SQL is compiled once, for the hottest request paths.

Building and compiling a queryset (joins, `select_related` columns, ordering, converters)
costs far more CPU than running its SQL on a small indexed read: on the flash-sale path
it was about a third of a request's CPU. A `CompiledRead` compiles its queryset the first
time a thread runs it on a connection, keeps the SQL text and what turning rows into model
instances needs, and afterwards only runs the SQL with the new values and builds the same
instances (with their `select_related` rows and annotations) that the queryset would.

The caller gives the parameter values in the order the SQL takes them; the first compile
checks them against the ORM's own, and a read whose values do not line up is never
cached (it simply runs as a queryset every time), so a wrong order costs speed, not
correctness. Plans are kept per thread, since a compiler holds its thread's connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


class _Plan:
    """One compiled read on one connection: its SQL and how its rows become instances."""

    def __init__(self, compiler, sql: str, adapters: list[Callable | None], db: str) -> None:
        klass_info = compiler.klass_info
        select = compiler.select
        fields = klass_info["select_fields"]
        self.sql, self.adapters, self.db = sql, adapters, db
        self.model = klass_info["model"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, db)
        self.annotations = dict(compiler.annotation_col_map or {})
        self.converters = list(
            compiler.get_converters([column[0] for column in select[: compiler.col_count]]).items()
        )
        self.width = compiler.col_count

    def run(self, params: Sequence[Any]) -> list[Model]:
        connection = connections[self.db]
        values = [
            value if adapt is None else adapt(value)
            for value, adapt in zip(params, self.adapters, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, values)
            rows = cursor.fetchall()
        found = []
        for raw in rows:
            row = list(raw[: self.width])
            for position, (converters, expression) in self.converters:
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
            instance = self.model.from_db(self.db, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, instance)
            for name, position in self.annotations.items():
                setattr(instance, name, row[position])
            found.append(instance)
        return found


def _adapter(connection, expected: Any, compiled: Any) -> Callable | bool | None:
    """How a caller's value becomes the value the ORM passed to the driver: None when as
    it is, a function for a datetime the backend sends as text, False when neither."""
    if expected == compiled and type(expected) is type(compiled):
        return None
    if isinstance(expected, datetime):
        adapt = connection.ops.adapt_datetimefield_value
        if adapt(expected) == compiled:
            return adapt
    return False


class CompiledRead(Generic[M]):
    """`build(*args)` returns a queryset of `model` (always of the same shape: the same
    filters, joins and ordering, only the values differ); `rows(*args, params=...)` runs
    it, with `params` the values in the order the SQL takes them. `for_update`: the
    queryset locks its rows, so it is routed as a write."""

    def __init__(
        self, model: type[M], build: Callable[..., QuerySet], *, for_update: bool = False
    ) -> None:
        self.model, self._build, self.for_update = model, build, for_update
        self._local = threading.local()

    def rows(self, *args: Any, params: Sequence[Any]) -> list[M]:
        """The instances the queryset `build(*args)` would give, in its order."""
        route = router.db_for_write if self.for_update else router.db_for_read
        alias = route(self.model)
        plans = self._local.__dict__.setdefault("plans", {})
        plan = plans.get(alias)
        if plan is None:
            queryset = self._build(*args)
            plan = self._compile(queryset, params)
            if plan is None:  # the values do not line up: the ORM runs it, every time
                return list(queryset)
            plans[alias] = plan
        return plan.run(params)

    def compiled(self) -> bool:
        """Whether this thread runs the read from compiled SQL (its values lined up)."""
        route = router.db_for_write if self.for_update else router.db_for_read
        return route(self.model) in self._local.__dict__.get("plans", {})

    def _compile(self, queryset: QuerySet, params: Sequence[Any]) -> _Plan | None:
        connection = connections[queryset.db]
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, compiled = compiler.as_sql()  # also fills select, klass_info, annotations
        if len(compiled) != len(params):
            return None
        adapters = [
            _adapter(connection, mine, theirs)
            for mine, theirs in zip(params, compiled, strict=True)
        ]
        if any(adapter is False for adapter in adapters):
            return None
        return _Plan(compiler, sql, adapters, queryset.db)
