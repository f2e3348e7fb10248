"""The shared catalog: categories, products, their regional names and images.

Models hold data and invariants; creating, reviewing and merging products are workflows
in `products.py` and `review.py`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower

UNITS = ("g", "kg", "ml", "l", "pcs")
# BCP 47 language with a region, as used for regional names: hi-IN, mr-IN, ta-IN, en-GB.
LANGUAGE_REGION_RE = r"^[a-z]{2,3}-[A-Z]{2}$"


class Category(models.Model):
    """A node of the category tree; products sit in leaves.

    `path` is the chain of ancestor ids ("/1/4/9/"), so a subtree is one indexed prefix
    query instead of a recursive walk.
    """

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "slug"], name="category_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """Save, then store the path of ids from the root ('/3/7/') taken from the parent's path;
        the paths of children are not rewritten."""
        super().save(*args, **kwargs)
        prefix = self.parent.path if self.parent_id else "/"
        path = f"{prefix}{self.pk}/"
        if path != self.path:
            self.path = path
            Category.objects.filter(pk=self.pk).update(path=path)


class VerificationStatus(models.TextChoices):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Product(models.Model):
    """One product of the shared catalog, which every store's inventory draws from."""

    name = models.CharField(max_length=300)
    brand = models.CharField(max_length=120, blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    # Normalised GTIN (see barcodes.py); NULL, not "", so uniqueness holds only when present.
    barcode = models.CharField(max_length=14, null=True, blank=True, unique=True)
    net_quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    net_unit = models.CharField(max_length=3, blank=True, choices=[(unit, unit) for unit in UNITS])
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10,
        choices=VerificationStatus.choices,
        default=VerificationStatus.PENDING,
    )
    review_notes = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    quality_score = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # Set when a duplicate was merged away: the row stays so old ids can be redirected.
    # Not indexed: nearly every row is NULL, and such an index only misleads the planners.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # Name, brand, regional names and barcode in one column: what the full-text index reads.
    search_text = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_products",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["brand"], name="product_brand"),
            # Bulk imports look up many rows' names at once before asking the matcher.
            models.Index(fields=["name"], name="product_name"),
            # ... and the rest by brand in any case and pack size (`block_matching`).
            models.Index(Lower("brand"), F("net_quantity"), name="product_brand_size"),
            # Only the review queue looks products up by status, and only pending ones: a
            # full status index would lure the planners away from better ones (most rows
            # are verified).
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="product_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(net_quantity__isnull=True) | models.Q(net_quantity__gt=0),
                name="product_quantity_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_merged(self) -> bool:
        """True once this product has been merged into another."""
        return self.merged_into_id is not None


class ReviewQueue(Product):
    """Pending products as a list of their own in the admin (the review queue)."""

    class Meta:
        proxy = True
        verbose_name = "product awaiting review"
        verbose_name_plural = "review queue"


class RegionalName(models.Model):
    """A name of a product in one language and region (`hi-IN` -> "अमूल मक्खन")."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="regional_names")
    language = models.CharField(max_length=12)
    name = models.CharField(max_length=300)

    class Meta:
        ordering = ["language", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "language", "name"], name="regional_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.language}: {self.name}"


class ImageBlob(models.Model):
    """Image bytes stored once under their SHA-256, whoever uploaded them and how often."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    format = models.CharField(max_length=8)  # jpeg, png, webp
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    # 64-bit difference hash, stored signed so it fits a BIGINT everywhere.
    phash = models.BigIntegerField(db_index=True)
    original = models.CharField(max_length=255)
    thumbnail = models.CharField(max_length=255, blank=True)
    medium = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256[:12]

    @property
    def renditions_ready(self) -> bool:
        """True when both the thumbnail and the medium rendition are stored."""
        return bool(self.thumbnail and self.medium)


class ProductImage(models.Model):
    """An image shown for a product, in display order."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    blob = models.ForeignKey(ImageBlob, on_delete=models.PROTECT, related_name="product_images")
    position = models.PositiveSmallIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "blob"], name="product_image_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.blob_id[:12]} of product {self.product_id}"
