"""What a periodic job is: a task enqueued on a fixed interval by the scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class PeriodicJob:
    """Enqueue the task at `task` (dotted path) every `every`; `name` keys its schedule state."""

    name: str
    task: str  # dotted path of a django-tasks task
    every: timedelta

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise ValueError(f"periodic job {self.name}: the interval must be positive")
