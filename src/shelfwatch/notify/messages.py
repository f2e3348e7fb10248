"""What a notification says: subject, text, HTML and the WhatsApp template, per language.

Texts live in templates named `notify/<template key>.<language>.txt` (and `.subject.txt`);
English is the fallback for a language without its own. The context comes from the event
captured when the notification was enqueued (for an alert: the product's name -- its
regional name in the contact's language where the catalog has one -- the shop, the price,
the link) plus the links every message carries: unsubscribe (one-click) and manage. A
message may bring its own HTML (`notify/<template key>.<language>.html`, instead of the text
in the email layout), its own unsubscribe link (`unsubscribe_url` in its context) and images
for the HTML to show inline (`inline_images`: Content-ID to base64 PNG). Texts render with
the message's language active, so `{% translate %}` in a template speaks it.
"""

from __future__ import annotations

import base64
import re
from functools import cached_property
from typing import Any

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from shelfwatch.notify.links import manage_token, unsubscribe_all_token, unsubscribe_token
from shelfwatch.notify.models import Notification, NotificationKind

LANGUAGES = ("en", "hi")
AUTHENTICATION = "AUTHENTICATION"
UTILITY = "UTILITY"
MARKETING = "MARKETING"
# WhatsApp templates must be approved by Meta before use; these are the names, categories and
# body parameters operators register (docs/notifications.md lists them exactly). A code is an
# AUTHENTICATION template: Meta's preset text "<code> is your verification code." with a
# copy-code button, so its only parameter is the code.
WHATSAPP_TEMPLATES = {
    "watch.back_in_stock": ("shelfwatch_back_in_stock", UTILITY, ("product", "source", "price")),
    "watch.price_changed": (
        "shelfwatch_price_drop",
        MARKETING,
        ("product", "source", "price", "old_price"),
    ),
    "watch.out_of_stock": ("shelfwatch_update", UTILITY, ("product", "source", "summary")),
    "watch.product_updated": ("shelfwatch_update", UTILITY, ("product", "source", "summary")),
    "watch.gone": ("shelfwatch_update", UTILITY, ("product", "source", "summary")),
    "verify_code": ("shelfwatch_verify_code", AUTHENTICATION, ("code",)),
    "manage_link": ("shelfwatch_manage", UTILITY, ("url",)),
    "digest": ("shelfwatch_digest", UTILITY, ("count", "summary")),
}
# Meta's limits: a body parameter is cut to this many characters here (the body as a whole
# may hold 1,024), an authentication code may have at most 15.
PARAM_LIMIT = 256
CODE_LIMIT = 15
_SPACES = re.compile(r"\s+")


def clean_param(value: object, limit: int = PARAM_LIMIT) -> str:
    """A template parameter as the Cloud API takes it: newlines and tabs become spaces, runs
    of spaces one space, at most `limit` characters (cut with an ellipsis), never empty."""
    text = _SPACES.sub(" ", str(value or "")).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text or "-"


def category_of(template: str) -> str:
    """The WhatsApp template category of a notification template key ("" if it has none)."""
    return WHATSAPP_TEMPLATES.get(template, ("", "", ()))[1]


class Message:
    """One rendered message. Texts are rendered on first use: a WhatsApp template message
    needs only its parameters, an email all three texts."""

    def __init__(
        self,
        *,
        template: str,
        language: str,
        context: dict[str, Any],
        kind: str = NotificationKind.MESSAGE,
    ) -> None:
        self.template = template
        self.kind = kind
        self.language = language
        self.context = context
        name, category, params = WHATSAPP_TEMPLATES.get(template, ("", "", ()))
        self.whatsapp_template = name
        self.whatsapp_category = category
        # The Cloud API refuses empty parameters and ones with newlines, tabs or more than
        # four spaces in a row; a dash stands in for an unknown.
        limit = CODE_LIMIT if category == AUTHENTICATION else PARAM_LIMIT
        self.whatsapp_params = [clean_param(context.get(p), limit) for p in params]
        self.url = str(context.get("url") or context.get("confirm_url") or "")

    @property
    def unsubscribe_url(self) -> str:
        """The URL that stops these messages for the contact."""
        return self._full_context["unsubscribe_url"]

    def render_all(self) -> Message:
        """Render every text now (in the thread that may use the database)."""
        _ = self.subject, self.text, self.html
        return self

    @cached_property
    def subject(self) -> str:
        """The subject rendered in the message's language, falling back to English; raises
        TemplateDoesNotExist when neither exists."""
        return _render(f"{self.template}.subject", self.language, self._full_context)

    @cached_property
    def text(self) -> str:
        """The plain text rendered in the message's language, falling back to English; raises
        TemplateDoesNotExist when neither exists."""
        return _render(self.template, self.language, self._full_context)

    @cached_property
    def html(self) -> str:
        """The HTML email body: the template's own HTML where it has one, else the plain
        text in the email layout."""
        try:
            return _render(self.template, self.language, self._full_context, extension="html")
        except TemplateDoesNotExist:
            return render_to_string("notify/email.html", {**self._full_context, "body": self.text})

    @cached_property
    def inline_images(self) -> dict[str, bytes]:
        """PNG images the HTML shows by `cid:` reference, by Content-ID."""
        images = self.context.get("inline_images") or {}
        return {str(cid): base64.b64decode(data) for cid, data in images.items()}

    @cached_property
    def _full_context(self) -> dict[str, Any]:
        links = {k: v() if callable(v) else v for k, v in self.context.items()}
        return {**links, "language": self.language}


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _in_language(context: dict[str, Any], language: str) -> dict[str, Any]:
    """An alert's context with the product named in `language` where a name was captured."""
    names = context.get("product_names") or {}
    if language in names:
        return {**context, "product": names[language]}
    return context


def _render(name: str, language: str, context: dict[str, Any], *, extension: str = "txt") -> str:
    for lang in (language, "en"):
        try:
            with translation.override(language):
                return render_to_string(f"notify/{name}.{lang}.{extension}", context).strip()
        except TemplateDoesNotExist:
            continue
    raise TemplateDoesNotExist(f"notify/{name}.en.{extension}")


def build_message(notification: Notification, *, digest: list[Notification] = ()) -> Message:
    """The message for `notification` (or, with `digest`, for it and those together), from
    the context captured when each was enqueued."""
    contact = notification.contact
    language = contact.language if contact.language in LANGUAGES else "en"
    key = "digest" if digest else notification.template
    context = _in_language(dict(notification.context), language)
    if digest:
        lines = []
        for part in [notification, *digest]:
            part_context = _in_language(part.context, language)
            lines.append(f"{part_context.get('product', '')}: {part_context.get('summary', '')}")
        context.update(count=len(lines), lines=lines, summary="; ".join(lines))
    # Signed links cost a few microseconds each: made only when a text needs them.
    subscription_id = notification.subscription_id
    own_unsubscribe = context.get("unsubscribe_url")
    if subscription_id is not None:
        context["unsubscribe_url"] = lambda: _site(
            "/alerts/unsubscribe/"
            f"{unsubscribe_token(subscription_id=subscription_id, contact=contact)}/"
        )
    else:
        context["unsubscribe_url"] = lambda: _site(
            f"/alerts/unsubscribe-all/{unsubscribe_all_token(contact)}/"
        )
    if isinstance(own_unsubscribe, str) and own_unsubscribe:
        # A message about something else than alerts (a report) stops only that thing.
        context["unsubscribe_url"] = own_unsubscribe
    context["manage_url"] = lambda: _site(f"/alerts/manage/{manage_token(contact)}/")
    return Message(template=key, language=language, context=context, kind=notification.kind)
