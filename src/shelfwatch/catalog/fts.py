"""The SQLite full-text table over Product.search_text and the triggers that keep it in sync.

SQLite cannot alter most columns in place: Django rebuilds the table (create, copy, drop,
rename), and dropping the old table drops its triggers. So every migration that alters
`catalog_product` must end with `reinstall_sqlite_triggers` (tests search through the
index, so a forgotten one fails them).

Next to the index: `catalog_product_fts_vocab`, the index's own list of distinct words
(fts5vocab, so it can never disagree with the index), and `catalog_product_fts_stamp`, a
random number every trigger replaces. Reading the whole vocabulary means a pass over the
index, so `vocabulary.py` keeps a copy per process and rereads it when the stamp differs
(random rather than a counter: a rolled-back change must not leave a stamp that a later
change reuses).
"""

from __future__ import annotations

TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS catalog_product_fts USING fts5(
    search_text, content='catalog_product', content_rowid='id',
    tokenize="unicode61 remove_diacritics 0 categories 'L* N* Co M*'"
)
"""
VOCABULARY = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_product_fts_vocab "
    "USING fts5vocab(catalog_product_fts, row)"
)
STAMP = [
    """
    CREATE TABLE IF NOT EXISTS catalog_product_fts_stamp (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        stamp INTEGER NOT NULL
    )
    """,
    "INSERT OR IGNORE INTO catalog_product_fts_stamp (id, stamp) VALUES (1, random())",
]
# Every trigger below ends with this statement too.
_RESTAMP = "UPDATE catalog_product_fts_stamp SET stamp = random();"
TRIGGERS = [
    """
    CREATE TRIGGER catalog_product_fts_insert AFTER INSERT ON catalog_product BEGIN
        INSERT INTO catalog_product_fts(rowid, search_text) VALUES (new.id, new.search_text);
        UPDATE catalog_product_fts_stamp SET stamp = random();
    END
    """,
    """
    CREATE TRIGGER catalog_product_fts_delete AFTER DELETE ON catalog_product BEGIN
        INSERT INTO catalog_product_fts(catalog_product_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        UPDATE catalog_product_fts_stamp SET stamp = random();
    END
    """,
    """
    CREATE TRIGGER catalog_product_fts_update AFTER UPDATE OF search_text ON catalog_product
    BEGIN
        INSERT INTO catalog_product_fts(catalog_product_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO catalog_product_fts(rowid, search_text) VALUES (new.id, new.search_text);
        UPDATE catalog_product_fts_stamp SET stamp = random();
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
    """Migration step: (re)create the table, its vocabulary, the stamp and the triggers,
    and rebuild the index (SQLite)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    statements = [TABLE, VOCABULARY, *STAMP, *DROP_TRIGGERS, *TRIGGERS, REBUILD, _RESTAMP]
    for statement in statements:
        schema_editor.execute(statement)


def drop_sqlite_index(apps, schema_editor) -> None:
    """Migration step: drop the search triggers, the stamp, the vocabulary and the index table
    (SQLite); other databases are left alone."""
    if schema_editor.connection.vendor != "sqlite":
        return
    statements = [
        *DROP_TRIGGERS,
        "DROP TABLE IF EXISTS catalog_product_fts_stamp",
        "DROP TABLE IF EXISTS catalog_product_fts_vocab",
        "DROP TABLE IF EXISTS catalog_product_fts",
    ]
    for statement in statements:
        schema_editor.execute(statement)
