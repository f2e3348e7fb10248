"""Open Food Facts records as catalog products: what maps to what (docs/openfoodfacts.md).

One function reads the three shapes a record comes in: a product of the API, a line of
the JSONL dump (the same object) and a row of the CSV export (every value a string, tag
lists comma-separated). Text is cleaned of control characters and cut to what the catalog's
columns hold, so a record never fails on its length.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.text import slugify

from shelfwatch.catalog.bulk import MAX_NET_QUANTITY, ProductData
from shelfwatch.catalog.models import Category
from shelfwatch.catalog.normalize import parse_quantity
from shelfwatch.errors import Invalid

# Language of a `product_name_<lang>` field -> the region its regional name is filed under.
# None: a language of many countries, filed under OFF_REGION. Languages not listed are left
# out (the catalog keys names by language and region, and a guess would mislead).
LANGUAGE_REGIONS: dict[str, str | None] = {
    **dict.fromkeys(
        ["hi", "mr", "ta", "te", "bn", "gu", "kn", "ml", "pa", "or", "as", "ur", "sa", "kok"],
        "IN",
    ),
    "ne": "NP",
    "si": "LK",
    **{"fr": "FR", "de": "DE", "it": "IT", "es": "ES", "pt": "PT", "nl": "NL", "pl": "PL"},
    **{"cs": "CZ", "sk": "SK", "hu": "HU", "ro": "RO", "bg": "BG", "el": "GR", "hr": "HR"},
    **{"sl": "SI", "sr": "RS", "lt": "LT", "lv": "LV", "et": "EE", "fi": "FI", "sv": "SE"},
    **{"da": "DK", "nb": "NO", "no": "NO", "is": "IS", "ru": "RU", "uk": "UA", "tr": "TR"},
    **{"he": "IL", "fa": "IR", "ja": "JP", "ko": "KR", "zh": "CN", "th": "TH", "vi": "VN"},
    **{"id": "ID", "ms": "MY"},
    "en": None,
    "ar": None,
}
_NAME_FIELD = re.compile(r"product_name_([a-z]{2,3})")
_TAG = re.compile(r"[^\s,:]{1,20}:[^\s,]{1,120}")
_SPACES = re.compile(r"\s+")
# US sizes, for labels that give no metric size: "16 oz", "12 fl oz", "1 lb".
_IMPERIAL = re.compile(
    r"(?<![\w.])(?:(\d{1,3})\s*[x\u00d7*]\s*)?(\d+(?:[.,]\d+)?)\s*"
    r"(fl\.?\s*oz|ounces?|oz|lbs?|pounds?)(?![^\W\d_])",
    re.IGNORECASE,
)
_IMPERIAL_UNITS = {
    "fl": ("ml", Decimal("29.5735")),
    "ou": ("g", Decimal("28.3495")),
    "oz": ("g", Decimal("28.3495")),
    "lb": ("g", Decimal("453.592")),
    "po": ("g", Decimal("453.592")),
}
MAX_TAGS_KEPT = 20


class InvalidFilter(Invalid):
    code = "invalid_filter"


def clean_text(value: Any, limit: int) -> str:
    """`value` as one line of text without control characters, at most `limit` long."""
    if not isinstance(value, str):
        return ""
    if not value.isprintable():
        value = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in value)
    return _SPACES.sub(" ", value).strip()[:limit].strip()


def tags(raw: Mapping[str, Any], key: str) -> list[str]:
    """The tag list `key` of a record, from a JSON list or the CSV's comma-separated text."""
    value = raw.get(key)
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    return [tag.lower() for item in value if (tag := clean_text(item, 120))]


def filter_tag(value: str) -> str:
    """A filter as Open Food Facts writes its tags: "India" -> "en:india"."""
    tag = _SPACES.sub("-", (value or "").strip().lower())
    if ":" not in tag:
        tag = f"en:{tag}"
    if not _TAG.fullmatch(tag):
        raise InvalidFilter(f"{value!r} is not a tag such as en:india or en:biscuits")
    return tag


@dataclass(frozen=True)
class Filters:
    """Which records a dump import keeps: any of the countries, and any of the categories
    (an empty list keeps every record)."""

    countries: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @classmethod
    def of(cls, countries: Iterable[str] = (), categories: Iterable[str] = ()) -> Filters:
        """Filters from what a person typed; InvalidFilter for something that is no tag."""
        return cls(
            tuple(dict.fromkeys(filter_tag(c) for c in countries)),
            tuple(dict.fromkeys(filter_tag(c) for c in categories)),
        )

    def admits(self, raw: Mapping[str, Any]) -> bool:
        """True when the record passes both filters."""
        if self.countries and not set(self.countries) & set(tags(raw, "countries_tags")):
            return False
        return not self.categories or bool(set(self.categories) & set(tags(raw, "categories_tags")))

    def as_options(self) -> dict[str, list[str]]:
        """The filters as a job's options store them."""
        return {"countries": list(self.countries), "categories": list(self.categories)}


class CategoryIndex:
    """The leaves of the category tree by slug and by name, to file a record under the
    most specific of its categories that the tree has."""

    def __init__(self, leaves: Iterable[tuple[int, str, str]]) -> None:
        self.by_key: dict[str, int] = {}
        for pk, slug, name in leaves:
            for key in (slug, slugify(name)):
                # Plural and singular both find a leaf ("en:biscuit", "Biscuits").
                for variant in (key, key[:-1] if key.endswith("s") else key + "s"):
                    self.by_key.setdefault(variant, pk)

    @classmethod
    def load(cls) -> CategoryIndex:
        """The current leaves of the tree."""
        leaves = Category.objects.filter(children__isnull=True).values_list("pk", "slug", "name")
        return cls(leaves.order_by("pk"))

    def match(self, category_tags: list[str]) -> int | None:
        """The leaf named by the last (most specific) tag the tree knows, if any."""
        for tag in reversed(category_tags):
            pk = self.by_key.get(slugify(tag.partition(":")[2] or tag))
            if pk is not None:
                return pk
        return None


def net_quantity(text: str, amount: Any = None, unit: Any = None) -> tuple[Decimal, str] | None:
    """The net quantity of a record in grams, millilitres or pieces: from its label text
    ("500 g", "1 L", "6 x 330 ml" is 1980 ml, "16 oz"), else from its numeric fields."""
    found = parse_quantity(text)
    value: tuple[Decimal, str] | None = (found.amount, found.unit) if found else None
    if value is None and (match := _IMPERIAL.search(text or "")):
        count, number, unit_text = match.groups()
        base, factor = _IMPERIAL_UNITS[unit_text.lower()[:2]]
        value = (Decimal(number.replace(",", ".")) * factor * int(count or 1), base)
    if value is None and isinstance(unit, str) and unit.strip().lower() in ("g", "ml"):
        try:
            value = (Decimal(str(amount)), unit.strip().lower())
        except InvalidOperation:
            value = None
    if value is None or not value[0].is_finite():
        return None
    quantity = value[0].quantize(Decimal("0.001"))
    return (quantity, value[1]) if 0 < quantity < MAX_NET_QUANTITY else None


def regional_names(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """`product_name_<lang>` fields as regional names keyed by language and region."""
    names: dict[str, list[str]] = {}
    for key, value in raw.items():
        match = _NAME_FIELD.fullmatch(key)
        if match is None or match.group(1) not in LANGUAGE_REGIONS:
            continue
        region = LANGUAGE_REGIONS[match.group(1)] or settings.OFF_REGION
        name = clean_text(value, 300)
        if name and re.fullmatch(r"[A-Z]{2}", region):
            names[f"{match.group(1)}-{region}"] = [name]
    return names


def _name(raw: Mapping[str, Any]) -> str:
    language = clean_text(raw.get("lang") or raw.get("lc"), 3)
    keys = ["product_name", f"product_name_{language}", "product_name_en"]
    keys += sorted(key for key in raw if _NAME_FIELD.fullmatch(key))
    keys.append("abbreviated_product_name")
    return next((name for key in keys if (name := clean_text(raw.get(key), 300))), "")


def _image_url(raw: Mapping[str, Any]) -> str:
    for key in ("image_url", "image_front_url"):
        url = clean_text(raw.get(key), 500)
        if url.startswith(("https://", "http://")):
            return url
    return ""


def _timestamp(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # JSON allows 1e999, which is infinity
        return None


def _brand(value: Any) -> str:
    """The first brand of a comma-separated list (or of a JSON list)."""
    parts = value if isinstance(value, list) else str(value or "").split(",")
    return next((brand for part in parts if (brand := clean_text(part, 120))), "")


@dataclass
class Mapped:
    """A record as a catalog product, or why it cannot be one (`code`, `message`)."""

    data: ProductData | None
    code: str = ""
    message: str = ""


def to_product(raw: Mapping[str, Any], categories: CategoryIndex) -> Mapped:
    """The catalog product an Open Food Facts record describes."""
    code = raw.get("code")
    code = clean_text(str(code) if isinstance(code, (str, int)) else "", 40)
    if not code:
        return Mapped(None, "barcode_required", "the record has no code")
    name = _name(raw)
    if not name:
        return Mapped(None, "no_name", f"Open Food Facts has no name for {code}")
    quantity_text = clean_text(raw.get("quantity"), 100)
    size = net_quantity(
        quantity_text, raw.get("product_quantity"), raw.get("product_quantity_unit")
    )
    brand = _brand(raw.get("brands"))
    category_tags = tags(raw, "categories_tags")
    facts = {
        "code": code,
        "url": f"{settings.OFF_BASE_URL}/product/{code}",
        "image_url": _image_url(raw),
        "quantity": quantity_text,
        "categories": category_tags[:MAX_TAGS_KEPT],
        "countries": tags(raw, "countries_tags")[:MAX_TAGS_KEPT],
        "last_modified_t": _timestamp(raw.get("last_modified_t")),
    }
    return Mapped(
        ProductData(
            barcode=code,
            name=name,
            brand=brand,
            category_id=categories.match(category_tags),
            net_quantity=size[0] if size else None,
            net_unit=size[1] if size else "",
            description=clean_text(raw.get("generic_name"), 1000),
            regional_names=regional_names(raw),
            attributes={"openfoodfacts": facts},
        )
    )
