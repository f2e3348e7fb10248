from django.apps import AppConfig
from django.core import checks


class NotifyConfig(AppConfig):
    name = "shelfwatch.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        checks.register(whatsapp_api_base_is_https, checks.Tags.security)
        checks.register(sender_has_a_public_domain)


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


# Backends that keep mail on this machine: any sender will do.
LOCAL_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


def sender_has_a_public_domain(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Start-up check: with a real email backend, DEFAULT_FROM_EMAIL needs a public domain;
    providers refuse the default `noreply@localhost`, and every email would fail."""
    from email.utils import parseaddr

    from django.conf import settings

    if settings.EMAIL_BACKEND in LOCAL_EMAIL_BACKENDS:
        return []
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2].strip(".")
    if "." in domain:
        return []
    return [
        checks.Warning(
            f"DEFAULT_FROM_EMAIL ({settings.DEFAULT_FROM_EMAIL!r}) has no public domain: "
            "email providers refuse such a sender, so every email would fail.",
            hint="Set DEFAULT_FROM_EMAIL to an address of a domain you send from, e.g. "
            "'Shop <alerts@shop.example.com>'.",
            id="notify.W001",
        )
    ]
