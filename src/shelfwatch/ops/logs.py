"""The request id: taken from X-Request-ID or generated, and stamped on every log line.

Log output itself is configured in settings.LOGGING: JSON lines (LOG_FORMAT=json, the default
off the embedded setup) or readable text, both carrying the request id.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# Accept only ids that are safe to echo and to write into logs.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id(incoming: str | None) -> str:
    """The caller's X-Request-ID when it is safe to reuse, else a fresh random one."""
    if incoming and VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record: the current request's, or "-" outside requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the record's `request_id` from the current context unless it already has one; never
        drops a record."""
        # An explicit `extra={"request_id": ...}` (e.g. from a task) wins over the context.
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


# Lines every task run writes at INFO: the task worker's start and finish of each task
# (django_tasks logs both with this one format; a failure is logged at ERROR).
ROUTINE_FORMATS = {
    "django_tasks": frozenset({"Task id=%s path=%s state=%s"}),
    "django.tasks": frozenset({"Task id=%s path=%s state=%s"}),
}


class RoutineLinesFilter(logging.Filter):
    """Demotes routine INFO lines (ROUTINE_FORMATS) to DEBUG, and drops them unless the
    configured `level` is DEBUG: a `serve` log at INFO shows what people need (verification
    codes printed by the console email backend, warnings, failures), not one line per task.

    A handler filter, because the task worker sets its logger's level to INFO itself.
    """

    def __init__(self, level: str | int = "INFO") -> None:
        super().__init__()
        self.threshold = level if isinstance(level, int) else logging.getLevelName(level.upper())
        if not isinstance(self.threshold, int):
            self.threshold = logging.INFO

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote a routine INFO line to DEBUG, and keep it only when the threshold is DEBUG; other
        records pass unchanged."""
        formats = ROUTINE_FORMATS.get(record.name)
        if record.levelno == logging.INFO and formats is not None and record.msg in formats:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.threshold <= logging.DEBUG
        return True


def granian_log_config(logging_settings: dict[str, Any]) -> dict[str, Any]:
    """granian's `log_dictconfig`: its server messages go through our root handler and format.

    granian's access logger is routed the same way but stays disabled (log_access=False):
    the access line is written by RequestMiddleware, which knows the route and request id.
    """
    config = copy.deepcopy(logging_settings)
    config["loggers"] = {
        **config.get("loggers", {}),
        "_granian": {"handlers": [], "propagate": True, "level": "INFO"},
        "granian.access": {"handlers": [], "propagate": True, "level": "INFO"},
    }
    return config
