"""Where a dataset's records come from: one module per source kind, looked up by kind.

Each source module offers `validate_config(config, *, owner) -> dict` (raises
SourceConfigError), `cursor_field(config) -> str | None` (the field `since=` filters on)
and `open_records(dataset, *, limit, bad_rows) -> Iterator[dict]`, a generator that
releases what it holds when closed early and raises SourceError subclasses for failures a
status should show. A source whose dataset may skip malformed rows counts them in
`bad_rows`; every other source leaves it alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shelfwatch.accounts.models import User
    from shelfwatch.feeds.models import Dataset


class SourceConfigError(ValueError):
    """A source configuration that can never work (caught when the dataset is saved)."""


class SourceError(Exception):
    """A refresh that could not read its source; `code` is stable for statuses and clients."""

    code = "source_failed"


class SourceTimeout(SourceError):
    code = "source_timeout"


class SourceUnreachable(SourceError):
    code = "source_unreachable"


class SourceForbidden(SourceError):
    code = "source_forbidden"


class QueryRejected(SourceError):
    code = "query_rejected"


class RowLimitExceeded(SourceError):
    code = "row_limit_exceeded"


class BadRecord(SourceError):
    """A row or line that is malformed (the message names its line) in a strict source."""

    code = "bad_record"


@dataclass
class BadRows:
    """The malformed rows a lenient source skipped: how many, and the first one's problem."""

    skipped: int = 0
    first: str = ""

    def skip(self, problem: str) -> None:
        """Count one skipped row; only the first problem is kept, cut to 300 characters."""
        self.skipped += 1
        if not self.first:
            self.first = problem[:300]


def _modules() -> dict[str, ModuleType]:
    from shelfwatch.feeds.sources import http_files, internal, sql

    return {
        "internal": internal,
        "sql": sql,
        "http_csv": http_files,
        "http_json": http_files,
    }


def source_module(kind: str) -> ModuleType:
    """The module implementing sources of `kind`; an unknown kind raises SourceConfigError."""
    try:
        return _modules()[kind]
    except KeyError:
        raise SourceConfigError(f"unknown source kind {kind!r}") from None


def validate_source(kind: str, config: dict[str, Any], *, owner: User) -> dict[str, Any]:
    """The cleaned configuration for a source of `kind`, or SourceConfigError."""
    if not isinstance(config, dict):
        raise SourceConfigError("the source configuration must be an object")
    return source_module(kind).validate_config({**config, "kind": kind}, owner=owner)


def cursor_field(dataset: Dataset) -> str | None:
    """The record field that orders the dataset's changes (for `since`), or None when it has
    none."""
    config = {**dataset.source_config, "kind": dataset.source_kind}
    return source_module(dataset.source_kind).cursor_field(config)


def open_records(
    dataset: Dataset, *, limit: int, bad_rows: BadRows | None = None
) -> Iterator[dict[str, Any]]:
    """The dataset's records, at most `limit` of them (RowLimitExceeded past that); rows a
    lenient dataset skipped are counted in `bad_rows`."""
    module = source_module(dataset.source_kind)
    return module.open_records(dataset, limit=limit, bad_rows=bad_rows or BadRows())
