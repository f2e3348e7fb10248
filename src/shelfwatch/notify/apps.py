from django.apps import AppConfig
from django.core import checks


class NotifyConfig(AppConfig):
    name = "shelfwatch.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        checks.register(whatsapp_api_base_is_https, checks.Tags.security)


def whatsapp_api_base_is_https(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Start-up check: the WhatsApp access token only ever travels over https (http only to
    a loopback test server inside OUTBOUND_ALLOWED_NETWORKS)."""
    from shelfwatch.notify.channels.whatsapp import api_base_refusal

    refusal = api_base_refusal()
    if refusal is None:
        return []
    return [
        checks.Error(
            refusal,
            hint="Set WHATSAPP_API_BASE to https://graph.facebook.com (the default).",
            id="notify.E001",
        )
    ]
