"""Template helpers of the storefront pages: the placeholder drawn for a product without a
photo, and how long is left of a sale or a hold, in words a shopper reads at a glance."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def placeholder_hue(product) -> int:
    """A hue (0-359) fixed by the product's name, so each product keeps its own tint and
    neighbouring placeholders differ."""
    digest = hashlib.sha256(str(getattr(product, "name", product)).encode()).digest()
    return int.from_bytes(digest[:2], "big") % 360


@register.filter
def initials(name: str) -> str:
    """Up to two capital letters from the words of `name` ("Tata Salt 1 kg" -> "TS");
    words that start with a digit (sizes) are skipped."""
    letters = [word[0] for word in str(name).split() if word[:1].isalpha()]
    return "".join(letters[:2]).upper()


@register.filter
def time_left(until: datetime | None) -> str:
    """What is left until `until`, the two largest units only: "6 d 23 h", "5 h 12 min",
    "9 min", "40 s"; "" once it has passed. The same words as the pages' countdowns (buy.js)."""
    if until is None:
        return ""
    seconds = int((until - timezone.now()).total_seconds())
    if seconds <= 0:
        return ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min") % {"minutes": minutes}
    return _("%(seconds)d s") % {"seconds": seconds}


@register.simple_tag
def countdown_formats() -> str:
    """Attributes giving buy.js the countdown's words in the page's language, from the same
    translations as `time_left` ("%(days)d d %(hours)d h" becomes "{days} d {hours} h")."""
    from django.utils.html import format_html

    def js(text: str) -> str:
        for name in ("days", "hours", "minutes", "seconds"):
            text = text.replace(f"%({name})d", "{" + name + "}")
        return text

    return format_html(
        'data-fmt-days="{}" data-fmt-hours="{}" data-fmt-minutes="{}" data-fmt-seconds="{}"',
        js(_("%(days)d d %(hours)d h")),
        js(_("%(hours)d h %(minutes)d min")),
        js(_("%(minutes)d min")),
        js(_("%(seconds)d s")),
    )
