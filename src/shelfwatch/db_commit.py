"""A transaction's last statement and its COMMIT in one round trip, on PostgreSQL.

A statement that locks a hot row (a flash sale's stock item) keeps it locked until the
commit. Sent on its own, the COMMIT follows one more round trip later, after the web
thread has taken the GIL back; under load that wait, not the statement, was most of the
time every other buyer queued on the row. `execute_and_commit` sends the statement and
the COMMIT together: the row is then locked only while the server runs the statement and
flushes the commit.

The statement must be the caller's last write in the transaction, and must fail (raise)
rather than return when its change cannot be made whole: the COMMIT then never runs, the
transaction is aborted and Django's atomic block rolls it back as usual. The block's own
COMMIT at its end finds the transaction already committed and sends nothing (psycopg
skips a commit on an idle connection); its on-commit hooks still run.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper


def commits_with_statement(connection: BaseDatabaseWrapper) -> bool:
    """Whether `execute_and_commit` would commit: PostgreSQL, inside an outermost atomic
    block with no savepoint open (nested blocks without savepoints are fine) and nothing
    marked for rollback. Elsewhere (SQLite, a test's wrapping transaction) it only runs
    the statement."""
    return (
        connection.vendor == "postgresql"
        and connection.in_atomic_block
        and not connection.needs_rollback
        and all(sid is None for sid in connection.savepoint_ids)
    )


def execute_and_commit(
    connection: BaseDatabaseWrapper, sql: str, params: Sequence[object]
) -> list[tuple]:
    """Run `sql` and, where `commits_with_statement` holds, COMMIT in the same round trip;
    the statement's rows. The caller writes nothing more in this transaction."""
    with connection.cursor() as cursor:
        if not commits_with_statement(connection):
            cursor.execute(sql, params)
            return cursor.fetchall()
        if _server_side_binding(connection):
            # One statement per message with server-side parameters: both go in a
            # pipeline, and an error in the first skips the COMMIT.
            raw = connection.connection
            with connection.wrap_database_errors, raw.pipeline():
                cursor.execute(sql, params)
                raw.execute("COMMIT")
            return cursor.fetchall()
        # Client-side binding sends the simple query protocol, which runs both
        # statements of one message in order and stops at the first error.
        cursor.execute(f"{sql}; COMMIT", params)
        return cursor.fetchall()


def _server_side_binding(connection: BaseDatabaseWrapper) -> bool:
    return bool(connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"))
