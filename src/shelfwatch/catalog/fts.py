"""The SQLite full-text table over Product.search_text and the triggers that keep it in sync.

SQLite cannot alter most columns in place: Django rebuilds the table (create, copy, drop,
rename), and dropping the old table drops its triggers. So every migration that alters
`catalog_product` must end with `reinstall_sqlite_triggers` (tests search through the
index, so a forgotten one fails them).
"""

from __future__ import annotations

TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS catalog_product_fts USING fts5(
    search_text, content='catalog_product', content_rowid='id',
    tokenize="unicode61 remove_diacritics 0 categories 'L* N* Co M*'"
)
"""
TRIGGERS = [
    """
    CREATE TRIGGER catalog_product_fts_insert AFTER INSERT ON catalog_product BEGIN
        INSERT INTO catalog_product_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    """
    CREATE TRIGGER catalog_product_fts_delete AFTER DELETE ON catalog_product BEGIN
        INSERT INTO catalog_product_fts(catalog_product_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END
    """,
    """
    CREATE TRIGGER catalog_product_fts_update AFTER UPDATE OF search_text ON catalog_product
    BEGIN
        INSERT INTO catalog_product_fts(catalog_product_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO catalog_product_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
]
DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS catalog_product_fts_update",
    "DROP TRIGGER IF EXISTS catalog_product_fts_delete",
    "DROP TRIGGER IF EXISTS catalog_product_fts_insert",
]
REBUILD = "INSERT INTO catalog_product_fts(catalog_product_fts) VALUES ('rebuild')"


def reinstall_sqlite_triggers(apps, schema_editor) -> None:
    """Migration step: (re)create the table and triggers and rebuild the index (SQLite)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in [TABLE, *DROP_TRIGGERS, *TRIGGERS, REBUILD]:
        schema_editor.execute(statement)


def drop_sqlite_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in [*DROP_TRIGGERS, "DROP TABLE IF EXISTS catalog_product_fts"]:
        schema_editor.execute(statement)
