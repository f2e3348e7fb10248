"""Precomputed recommendation lists: for each product, its best few partners of one kind,
rebuilt whole by the nightly refresh and read by one indexed query per page."""

from __future__ import annotations

from django.db import models


def list_constraints(prefix: str) -> list[models.BaseConstraint]:
    """What every list keeps true, named after `prefix`: one entry per rank, each other
    product once, never the product itself."""
    return [
        models.UniqueConstraint(fields=["product", "rank"], name=f"{prefix}_rank"),
        models.UniqueConstraint(fields=["product", "other"], name=f"{prefix}_pair"),
        models.CheckConstraint(
            condition=~models.Q(product=models.F("other")), name=f"{prefix}_not_self"
        ),
    ]


class RelatedList(models.Model):
    """One entry of a product's list: `other` at position `rank` (0 is best) with the score
    it was ranked by. A product never lists itself, and lists each other product once."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()

    class Meta:
        abstract = True


class Together(RelatedList):
    """Bought together: products in the same orders more often than their popularity says."""

    class Meta:
        verbose_name = "bought together"
        verbose_name_plural = "bought together"
        constraints = list_constraints("together")

    def __str__(self) -> str:
        return f"{self.product_id} with {self.other_id} (#{self.rank})"


class Similar(RelatedList):
    """Similar products: alike by name, brand, category and regional names."""

    class Meta:
        verbose_name = "similar product"
        constraints = list_constraints("similar")

    def __str__(self) -> str:
        return f"{self.product_id} like {self.other_id} (#{self.rank})"


class AlsoViewed(RelatedList):
    """Viewed together: products the same visitors looked at on the same day more often
    than their popularity says (from the analytics app's raw views)."""

    class Meta:
        verbose_name = "also viewed"
        verbose_name_plural = "also viewed"
        constraints = list_constraints("also_viewed")

    def __str__(self) -> str:
        return f"{self.product_id} viewed with {self.other_id} (#{self.rank})"
