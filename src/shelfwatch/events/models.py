"""The events table: the outbox every state change writes in its own transaction."""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    """One domain event. `topics` says who may hear it (e.g. `product:7`, `store:2`)."""

    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    topics = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_undispatched_idx",
                condition=models.Q(dispatched_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"


class EventTopic(models.Model):
    """One (topic, event) pair, so "events on these topics after id N" is an index range scan.

    `Event.topics` stays the source of truth for messages; this table exists because a JSON
    list cannot be searched by index on SQLite, and replay must be exact on both databases.
    """

    # No database constraint: a topic row is an index of its event's `topics`, written only
    # with its event, in the same INSERT statements, so the check could never fail, and on
    # PostgreSQL each row's deferred check cost a look-up at COMMIT (three rows a stock
    # move). Deleting an event still deletes its rows: Django applies CASCADE itself.
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="topic_rows", db_constraint=False
    )
    topic = models.CharField(max_length=120)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "event"], name="event_topic_unique")
        ]

    def __str__(self) -> str:
        return f"{self.topic} -> #{self.event_id}"
