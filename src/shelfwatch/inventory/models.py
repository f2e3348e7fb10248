"""Stores. Stock items and the movement ledger join them when the catalog lands."""

from __future__ import annotations

from django.db import models


class Store(models.Model):
    """A shop that keeps its own inventory of catalog products."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    city = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
