"""Every message template rendered with sample data, for admins to read before sending."""

from __future__ import annotations

from typing import Any

from shelfwatch.notify.messages import LANGUAGES, WHATSAPP_TEMPLATES, Message
from shelfwatch.notify.models import NotificationKind

SAMPLE: dict[str, Any] = {
    "product": "Amul High Protein Buttermilk 200 ml",
    "source": "Amul shop",
    "price": "25.00",
    "old_price": "30.00",
    "percent": -16.67,
    "currency": "INR",
    "url": "https://shop.example/en/product/amul-high-protein-buttermilk",
    "summary": "price",
    "changes": ["price"],
    "code": "482913",
    "minutes": 10,
    "confirm_url": "https://shelfwatch.example/alerts/confirm/sample/",
    "count": 2,
    "lines": ["Amul Whey Protein: back in stock", "Amul Protein Lassi: price"],
    "unsubscribe_url": "https://shelfwatch.example/alerts/unsubscribe/sample/",
    "manage_url": "https://shelfwatch.example/alerts/manage/sample/",
}


def previews() -> list[dict[str, str]]:
    """One entry per template key and language: subject, text, HTML, WhatsApp template."""
    keys = [*WHATSAPP_TEMPLATES, "stopped", "started"]
    shown = []
    for key in dict.fromkeys(keys):
        for language in LANGUAGES:
            kind = NotificationKind.ALERT if key.startswith("watch.") else NotificationKind.MESSAGE
            message = Message(template=key, language=language, context=dict(SAMPLE), kind=kind)
            shown.append(
                {
                    "key": key,
                    "language": language,
                    "subject": message.subject,
                    "text": message.text,
                    "html": message.html,
                    "whatsapp": f"{message.whatsapp_template}({', '.join(message.whatsapp_params)})"
                    if message.whatsapp_template
                    else "(a reply inside the 24-hour window)",
                }
            )
    return shown
