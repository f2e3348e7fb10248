"""Scheduler state: the lease that elects one scheduler, and when each periodic job runs next."""

from __future__ import annotations

from django.db import models


class SchedulerLease(models.Model):
    """Who may enqueue periodic work right now.

    Taken and renewed only through a conditional UPDATE (holder is me, or the lease expired),
    so two schedulers can never both hold it. Used when Redis is not configured.
    """

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at}"


class PeriodicJobState(models.Model):
    """When one periodic job (config/periodic.py) is next due, and what it last enqueued."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_result_id = models.CharField(max_length=64, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} next at {self.next_run_at}"
