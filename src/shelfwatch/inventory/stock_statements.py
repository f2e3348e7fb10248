"""The SQL texts of stock moves, built once per database vendor from the models' metadata.

Only quoted identifiers from the models go into a text; every value is a parameter.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from shelfwatch.inventory.models import StockItem, StockMovement

# The statements `delta_statement` built, by (vendor, take): the model's table and
# columns do not change while the process runs, so each text is built once.
_DELTA_STATEMENTS: dict[tuple[str, bool], str] = {}


def delta_statement(connection: BaseDatabaseWrapper, *, take: bool) -> str:
    """The UPDATE ... RETURNING quantity, reorder_level of one stock item, built once per
    vendor; parameters: delta, updated_at, pk, and for a take (`take`) the amount taken."""
    key = (connection.vendor, take)
    sql = _DELTA_STATEMENTS.get(key)
    if sql is None:
        sql = _DELTA_STATEMENTS.setdefault(key, _build_delta_statement(connection, take=take))
    return sql


def _build_delta_statement(connection: BaseDatabaseWrapper, *, take: bool) -> str:
    """The text `delta_statement` returns, from StockItem's metadata, quoted for `connection`."""
    meta = StockItem._meta
    quote = connection.ops.quote_name
    quantity = quote(meta.get_field("quantity").column)
    updated_at = quote(meta.get_field("updated_at").column)
    reorder_level = quote(meta.get_field("reorder_level").column)
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {quantity} = {quantity} + %s, "  # noqa: S608
        f"{updated_at} = %s WHERE {quote(meta.pk.column)} = %s"
    )
    if take:
        # The condition that makes overselling impossible: the database checks it against
        # the row as it is when our UPDATE gets it, after any concurrent move committed.
        sql += f" AND {quantity} >= %s"
    return f"{sql} RETURNING {quantity}, {reorder_level}"


_DELTAS_STATEMENTS: dict[str, str] = {}


def deltas_statement(connection: BaseDatabaseWrapper) -> str:
    """The UPDATE ... FROM (VALUES ...) of `batch_moves.apply_deltas`, with `%(values)s` left
    for the rows; built once per vendor from StockItem's metadata. Parameters: updated_at, then
    (pk, delta) per row."""
    sql = _DELTAS_STATEMENTS.get(connection.vendor)
    if sql is None:
        meta = StockItem._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        pk = quote(meta.pk.column)
        quantity = quote(meta.get_field("quantity").column)
        updated = quote(meta.get_field("updated_at").column)
        level = quote(meta.get_field("reorder_level").column)
        # SQLite cannot name a VALUES list's columns; it calls them column1, column2.
        if connection.vendor == "sqlite":
            moves, item_id, delta = "moves", "moves.column1", "moves.column2"
        else:
            moves, item_id, delta = "moves (item_id, delta)", "moves.item_id", "moves.delta"
        # `%%` survives the `%` that fills in the values; every value is a parameter.
        sql = (
            f"UPDATE {table} SET {quantity} = {table}.{quantity} + {delta}, "  # noqa: S608
            f"{updated} = %%s FROM (VALUES %(values)s) AS {moves} "
            f"WHERE {table}.{pk} = {item_id} AND {table}.{quantity} + {delta} >= 0 "
            f"RETURNING {table}.{pk}, {table}.{quantity}, {table}.{level}"
        )
        _DELTAS_STATEMENTS[connection.vendor] = sql
    return sql


_RECORDED_STATEMENTS: dict[str, str] = {}


def recorded_deltas_statement(connection: BaseDatabaseWrapper) -> str:
    """PostgreSQL: `deltas_statement`'s conditional UPDATE and the ledger rows of the items
    it moved, in ONE statement (data-modifying CTEs), so a hot item's lock is held for one
    round trip fewer. `%(values)s` is left for the rows. Parameters: updated_at, (pk, delta)
    per row, then the ledger's reason, reference, actor id and created_at. Returns per moved
    item: pk, quantity after, reorder level, ledger row id."""
    sql = _RECORDED_STATEMENTS.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        item_meta, ledger_meta = StockItem._meta, StockMovement._meta
        table = quote(item_meta.db_table)
        pk = quote(item_meta.pk.column)
        quantity = quote(item_meta.get_field("quantity").column)
        updated = quote(item_meta.get_field("updated_at").column)
        level = quote(item_meta.get_field("reorder_level").column)
        columns = ", ".join(
            quote(ledger_meta.get_field(name).column)
            for name in ("item", "delta", "quantity_after", "reason", "reference", "actor")
        )
        created = quote(ledger_meta.get_field("created_at").column)
        ledger_item = quote(ledger_meta.get_field("item").column)
        sql = (
            f"WITH moved AS (UPDATE {table} SET {quantity} = {table}.{quantity} + "  # noqa: S608
            f"moves.delta, {updated} = %%s FROM (VALUES %(values)s) AS moves (item_id, delta) "
            f"WHERE {table}.{pk} = moves.item_id AND {table}.{quantity} + moves.delta >= 0 "
            f"RETURNING {table}.{pk} AS item_id, {table}.{quantity} AS q_after, "
            f"{table}.{level} AS q_level, moves.delta AS delta), "
            f"ledger AS (INSERT INTO {quote(ledger_meta.db_table)} ({columns}, {created}) "
            f"SELECT item_id, delta, q_after, %%s, %%s, %%s, %%s FROM moved "
            f"RETURNING {quote(ledger_meta.pk.column)} AS id, {ledger_item} AS item_id) "
            f"SELECT moved.item_id, moved.q_after, moved.q_level, ledger.id "
            f"FROM moved JOIN ledger ON ledger.item_id = moved.item_id"
        )
        _RECORDED_STATEMENTS[connection.vendor] = sql
    return sql


# What `recorded_deltas_statement` ends with; the version with events splits there.
_RECORDED_SELECT = " SELECT moved.item_id"


def recorded_deltas_with_events(connection: BaseDatabaseWrapper, events_sql: str) -> str:
    """`recorded_deltas_statement` with more CTEs (`events_sql`, from the events app, `ev`
    among them: event rows returning `id`) before its SELECT, which then also returns one
    row per written event: NULL, NULL, NULL, the event's id. `%(values)s` is left for the
    moves, and `events_sql` must hold no `%` of its own but its `%s` placeholders."""
    statement = recorded_deltas_statement(connection)
    ctes, _, select = statement.rpartition(_RECORDED_SELECT)
    # Identifiers and placeholders only: the events app passes every value as a parameter.
    return (
        f"{ctes}, {events_sql.replace('%', '%%')}{_RECORDED_SELECT}{select} "  # noqa: S608
        f"UNION ALL SELECT NULL, NULL, NULL, ev.id FROM ev"
    )


# The marker of a guarded statement's refusal, in the error PostgreSQL raises for it.
SHORT_MARKER = "shelfwatch: stock short"


def guarded(statement: str) -> str:
    """`recorded_deltas_with_events`'s statement (formatted: `%s` placeholders) failing
    as a whole unless every move applied: one more parameter, the number of moves. For a
    statement sent with its COMMIT, which a missing row could not stop. The condition sits
    in a branch of no rows that PostgreSQL evaluates once, whatever the moves returned;
    an unparsable integer is the error it raises."""
    return (
        f"{statement} UNION ALL SELECT NULL, NULL, NULL, NULL WHERE CAST(CASE WHEN "  # noqa: S608
        f"(SELECT count(*) FROM moved) = %s THEN '0' ELSE '{SHORT_MARKER}' END AS integer) <> 0"
    )
