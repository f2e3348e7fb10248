"""Who reacts to which events: the consumer registry apps fill from `AppConfig.ready`.

    from shelfwatch.events.consumers import register_consumer
    register_consumer("stock.*", match_stock_alerts, name="alerts.stock")

A pattern is an exact type (`stock.changed`), a prefix ending in `.*` (`stock.*` matches
`stock.changed` and `stock.level.low`) or `*` for every event. Handlers get the Event row
and must be idempotent: after a failure of any handler the whole event is dispatched again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from shelfwatch.events.models import Event

Handler = Callable[[Event], None]

_PATTERN_RE = re.compile(r"\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?")


@dataclass(frozen=True)
class Consumer:
    name: str
    pattern: str
    handler: Handler

    def matches(self, event_type: str) -> bool:
        """True if `event_type` matches the pattern: '*' matches all, 'a.*' every type under 'a.',
        else the exact type."""
        if self.pattern == "*":
            return True
        if self.pattern.endswith(".*"):
            return event_type.startswith(self.pattern[:-1])
        return event_type == self.pattern


_lock = threading.Lock()
_consumers: dict[str, Consumer] = {}


def register_consumer(pattern: str, handler: Handler, *, name: str | None = None) -> Consumer:
    """Run `handler` for events whose type matches `pattern`.

    `name` (default: the handler's dotted path) identifies the consumer in logs; registering
    the same name again replaces the earlier registration instead of running it twice.
    """
    if not _PATTERN_RE.fullmatch(pattern):
        raise ValueError(f"bad consumer pattern {pattern!r}; use 'a.b', 'a.*' or '*'")
    consumer_name = name or f"{handler.__module__}.{handler.__qualname__}"
    consumer = Consumer(name=consumer_name, pattern=pattern, handler=handler)
    with _lock:
        _consumers[consumer_name] = consumer
    return consumer


def consumer(pattern: str, *, name: str | None = None) -> Callable[[Handler], Handler]:
    """Decorator form of `register_consumer`."""

    def decorate(handler: Handler) -> Handler:
        register_consumer(pattern, handler, name=name)
        return handler

    return decorate


def unregister_consumer(name: str) -> None:
    """Remove the consumer registered as `name`; an unknown name is ignored."""
    with _lock:
        _consumers.pop(name, None)


def consumers_for(event_type: str) -> list[Consumer]:
    """Consumers of `event_type`, in registration order."""
    with _lock:
        registered = list(_consumers.values())
    return [item for item in registered if item.matches(event_type)]
