"""Injected faults, as every fake keeps them: each answers the next `remaining` matching requests
(``None``: until cleared) and is used up one request at a time, first added first used."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar


class _Counted(Protocol):
    remaining: int | None


C = TypeVar("C", bound=_Counted)


def use(faults: list[C], fault: C) -> None:
    """Count one use of `fault`; it leaves `faults` when used up."""
    if fault.remaining is not None:
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.remove(fault)


def take_first(faults: list[C], accept: Callable[[C], bool]) -> C | None:
    """The first of `faults` that `accept` allows, with one use counted (or None)."""
    for fault in faults:
        if accept(fault):
            use(faults, fault)
            return fault
    return None


@dataclass
class Fault:
    """One injected fault: `kind` says what it does, `params` how."""

    kind: str
    remaining: int | None  # None = until cleared
    params: dict[str, Any] = field(default_factory=dict)
    path: str | None = None  # only requests whose path starts with this
    match: Callable[[Any], bool] | None = None  # only requests it returns true for

    def matches(self, request: Any) -> bool:
        """Whether `request` (anything with a `path`) is one this fault applies to; a `match`
        that raises does not match."""
        if self.path is not None and not request.path.startswith(self.path):
            return False
        if self.match is not None:
            try:
                return bool(self.match(request))
            except Exception:
                return False
        return True


class FaultQueue:
    """Thread-safe faults for a threaded fake: a ``"slow"`` fault delays an answer, any other
    kind replaces it; one request uses at most one of each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, request: Any) -> tuple[Fault | None, Fault | None]:
        """(delay, answer): the first matching slow fault and the first matching other fault,
        each with one use counted."""
        delay = answer = None
        with self._lock:
            for fault in list(self._faults):
                if fault.kind == "slow":
                    if delay is not None or not fault.matches(request):
                        continue
                    delay = fault
                else:
                    if answer is not None or not fault.matches(request):
                        continue
                    answer = fault
                use(self._faults, fault)
        return delay, answer
