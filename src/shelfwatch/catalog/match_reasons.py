"""The matcher's reasons as codes with their values, so pages can word them for people.

The matcher (`pair_features.py`, `matching.py`) writes each reason as a short English
phrase with values in it ("quantity differs: 500 g vs 1000 g"): reviewers read those as
they are. A page for shop owners says the same in its own words and language instead, so
each phrase is split here into a stable code and the values written in it. A phrase no
pattern knows keeps the code "other" with the phrase itself as its value, so a page can
still show it as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OTHER = "other"

# (code, the phrase as the matcher writes it): first match wins, so a longer phrase comes
# before a shorter one it starts with.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern))
    for code, pattern in (
        ("same_barcode", r"same barcode"),
        ("different_barcodes", r"different barcodes"),
        ("same_image", r"same image(?: \((\d+) bits apart\))?"),
        ("regional_name", r"regional name matches"),
        ("sounds_alike", r"names sound alike across scripts"),
        ("name_similarity", r"name (\d+(?:\.\d+)?) similar"),
        ("same_model", r"same model number (.+)"),
        ("model_variants", r"variants of model (.+)"),
        ("different_models", r"model numbers differ: (.+?) vs (.+)"),
        ("model_suffixes_differ", r"model suffixes differ"),
        ("specifications_differ", r"specifications differ"),
        ("numbers_differ", r"numbers differ: (.+)"),
        ("edition_differs", r"edition words differ: (.+)"),
        ("platform_differs", r"platform differs: (.+)"),
        ("colour_differs", r"colour differs: (.+?) vs (.+)"),
        ("accessory", r"an accessory against the product it fits"),
        ("same_brand", r"same brand"),
        ("different_brands", r"different brands: (.+?) vs (.+)"),
        ("brand_not_in_name", r"brand not in the other name"),
        ("same_quantity", r"same quantity: (.+)"),
        ("different_quantity", r"quantity differs: (.+?) vs (.+)"),
    )
)


@dataclass(frozen=True)
class ReasonCode:
    """One reason: its code and the values written in it, in order."""

    code: str
    values: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The reason as a JSON-ready dict."""
        return {"code": self.code, "values": list(self.values)}


def reason_code(reason: str) -> ReasonCode:
    """The code of one of the matcher's reasons, or OTHER with the reason as its value."""
    for code, pattern in _PATTERNS:
        found = pattern.fullmatch(reason)
        if found:
            return ReasonCode(code, tuple(v for v in found.groups() if v is not None))
    return ReasonCode(OTHER, (reason,))
