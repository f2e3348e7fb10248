"""The public pages: subscribe, confirm an email, manage by magic link, unsubscribe.

The subscribe page is rendered here and works through the JSON API from the browser
(contacts, verification, subscriptions); the other pages are plain forms behind signed
links, so they work from any mail client or phone without an account.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from shelfwatch.accounts.page_throttle import too_many_tries
from shelfwatch.accounts.throttling import client_ip, hit
from shelfwatch.alerts.addresses import InvalidAddress, normalize_address
from shelfwatch.alerts.links import subscription_from_unsubscribe_token, unsubscribe_token
from shelfwatch.alerts.models import Subscription
from shelfwatch.alerts.subscriptions import InvalidSubscription, resume, subscribe, unsubscribe
from shelfwatch.alerts.verification import mark_verified
from shelfwatch.notify.contacts import stop_contact
from shelfwatch.notify.links import (
    contact_from_confirm_token,
    contact_from_manage_token,
    contact_from_unsubscribe_all_token,
    manage_token,
    unsubscribe_all_token,
)
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.notify.outbox import enqueue
from shelfwatch.watch.history_panel import price_history_panel
from shelfwatch.watch.models import Source, WatchedItem
from shelfwatch.whole_numbers import plain_whole_number

ITEMS_SHOWN = 300
MANAGE_LINKS_PER_HOUR = 3
MAX_KEY = 2**63 - 1
KEY_DIGITS = len(str(MAX_KEY))


def subscribe_words() -> dict[str, str]:
    """What the subscribe page's script says, in the request's language, by the API's
    problem `code` (so a shopper never reads the API's own terse wording)."""
    phone = _(
        "That does not look like a phone number. Type it with the country code, "
        "like +91 98765 43210, or without it for an Indian mobile."
    )
    return {
        "invalid_phone": phone,
        "not_a_mobile_number": _("WhatsApp needs a mobile number; that one is a landline."),
        "invalid_email": _("That does not look like an email address. Check it and try again."),
        "invalid_address": phone,
        "code_invalid": _(
            "That is not the code we sent. Check the latest message and type its 6 digits."
        ),
        "code_expired": _("That code has expired. Press “Send a new code” for a fresh one."),
        "code_attempts_exhausted": _(
            "Too many wrong tries for that code. Press “Send a new code” for a fresh one."
        ),
        "verification_rate_limited": _(
            "We have sent several codes already. Please try again in an hour."
        ),
        "target_price_required": _("Type the price you would pay, such as 250."),
        "drop_percent_required": _("Type a drop between 1 and 99 percent."),
        "item_not_found": _("That product is no longer listed. Reload the page."),
        "rate_limited": _("Too many tries at once. Wait a minute and try again."),
        "generic": _("Something went wrong on our side. Please try again in a moment."),
        "offline": _("Could not reach the server. Check the connection and try again."),
    }


def subscribe_page(request: HttpRequest) -> HttpResponse:
    """Pick a shop, see its products live, choose some and what to hear about (back in
    stock, a price at or under a target, a drop of some percent), leave a number or
    email, verify."""
    sources = list(Source.objects.filter(is_public=True, is_active=True).order_by("name"))
    chosen = None
    wanted = request.GET.get("source", "")
    wanted_pk = plain_whole_number(wanted, max_digits=KEY_DIGITS)
    if wanted_pk is not None:
        chosen = next((s for s in sources if s.pk == wanted_pk), None)
    elif len(sources) == 1:
        chosen = sources[0]
    items = []
    history = ""
    if chosen is not None:
        items = list(
            WatchedItem.objects.filter(source=chosen, is_gone=False).order_by("name")[:ITEMS_SHOWN]
        )
        # The product a "notify me" link points at gets its history right away; the
        # others load theirs only when opened (subscribe.js), so a long list stays light.
        wanted_item = request.GET.get("item", "")
        shown = next((i for i in items if str(i.pk) == wanted_item), None)
        if shown is not None:
            shown.source = chosen
            history = mark_safe(price_history_panel(shown))  # noqa: S308 - our template
    return render(
        request,
        "alerts/subscribe.html",
        {
            "sources": sources,
            "source": chosen,
            "items": items,
            "history": history,
            "words": subscribe_words(),
            "account_email": request.user.email if request.user.is_authenticated else "",
        },
    )


# Private: the panel is in the visitor's language. A few minutes old is fine: a history
# is days long, and the live badges tell the current state.
@require_GET
@cache_control(private=True, max_age=300)
def item_history(request: HttpRequest, item_id: int) -> HttpResponse:
    """The price history panel of one product of a public shop, as an HTML fragment the
    subscribe page puts into the product's disclosure."""
    item = (
        WatchedItem.objects.select_related("source", "source__store")
        .filter(pk=item_id, is_gone=False, source__is_public=True, source__is_active=True)
        .first()
    )
    if item is None:
        raise Http404("no such product")
    return HttpResponse(price_history_panel(item))


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The email's confirmation link. GET only asks: mail scanners follow links."""
    contact = contact_from_confirm_token(token)
    if contact is None:
        return _message(
            request,
            _("This link has expired"),
            _("Links in our emails work for a while only. Ask for a new code on the alerts page."),
            410,
        )
    if request.method == "POST":
        mark_verified(contact)
        return redirect("alerts-manage", token=manage_token(contact))
    return render(request, "alerts/confirm.html", {"contact": contact})


def _message(request: HttpRequest, title: str, text: str, status: int = 200) -> HttpResponse:
    return render(request, "alerts/message.html", {"title": title, "text": text}, status=status)


@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """Every subscription of one contact, to change or stop; reached by a magic link."""
    contact = contact_from_manage_token(token)
    if contact is None:
        return _message(
            request,
            _("This link has expired"),
            _(
                "For your safety, manage links work for a while only. "
                "Ask for a new one on the alerts page."
            ),
            410,
        )
    if request.method == "POST":
        _apply_manage_action(request, contact)
        return redirect("alerts-manage", token=token)
    subscriptions = contact.subscriptions.select_related("item", "item__source").order_by(
        "item__name", "kind"
    )
    return render(
        request,
        "alerts/manage.html",
        {
            "contact": contact,
            "subscriptions": subscriptions,
            "unsubscribe_all": unsubscribe_all_token(contact),
        },
    )


def _apply_manage_action(request: HttpRequest, contact: Contact) -> None:
    action = request.POST.get("action", "")
    if action == "stop_all":
        stop_contact(contact=contact)
        return
    # A form field is text: anything but a key-sized number is no subscription (not a 500).
    wanted = plain_whole_number(request.POST.get("subscription", ""), max_digits=KEY_DIGITS)
    subscription = (
        contact.subscriptions.filter(pk=wanted).first()
        if wanted is not None and wanted <= MAX_KEY
        else None
    )
    if subscription is None:
        raise Http404("no such subscription")
    if action == "pause":
        unsubscribe(subscription)
    elif action == "resume":
        subscription.contact = contact
        resume(subscription)
    elif action == "delete":
        subscription.delete()
    elif action == "target":
        try:
            price = Decimal(request.POST.get("target_price", "").strip()[:40])
        except InvalidOperation:
            price = Decimal("NaN")  # refused below, with the same message
        try:
            subscribe(
                contact=contact,
                item=subscription.item,
                kind=subscription.kind,
                target_price=price,
                min_drop_percent=subscription.min_drop_percent,
                cooldown_minutes=int(subscription.cooldown.total_seconds() // 60),
            )
        except InvalidSubscription:
            messages.error(request, _("Type the price you would pay, such as 250."))


@require_http_methods(["POST"])
def manage_link(request: HttpRequest) -> HttpResponse:
    """Send the manage link to a verified contact. The answer is the same whether or not
    the address is known, so the form cannot be used to learn who subscribes. Requests are
    limited per IP at a `manage_link` rate of their own (429 beyond it)."""
    if settings.THROTTLE_ENABLED:
        rate = settings.THROTTLE_RATES["manage_link"]
        wait = hit("manage_link", "ip:" + client_ip(request), rate)
        if wait is not None:
            return too_many_tries(request, wait)
    channel = request.POST.get("channel", "")
    try:
        address = normalize_address(channel, request.POST.get("address", ""))
    except InvalidAddress as exc:
        words = subscribe_words()
        return _message(
            request,
            _("That address does not look right"),
            words.get(exc.code) or words["invalid_address"],
            422,
        )
    contact = Contact.objects.filter(
        channel=channel, address=address, verified_at__isnull=False
    ).first()
    if contact is not None:
        recent = Notification.objects.filter(
            contact=contact,
            template="manage_link",
            created_at__gte=timezone.now() - timedelta(hours=1),
        ).count()
        if recent < MANAGE_LINKS_PER_HOUR:
            base = settings.SITE_URL.rstrip("/")
            enqueue(
                contact=contact,
                template="manage_link",
                context={"url": f"{base}/alerts/manage/{manage_token(contact)}/"},
                urgent=True,
                idempotency_key=f"manage-link:{contact.pk}:{timezone.now().timestamp()}",
            )
    return _message(
        request,
        _("Check your messages"),
        _("If this address has alerts with us, a link to manage them is on its way."),
    )


@csrf_exempt  # the signed token is the credential; RFC 8058 one-click POSTs carry no cookie
@require_http_methods(["GET", "POST"])
def unsubscribe_one(request: HttpRequest, token: str) -> HttpResponse:
    """One subscription's unsubscribe link; POST (a button, or a mail client's RFC 8058
    one-click with `List-Unsubscribe=One-Click`) unsubscribes, GET only asks."""
    subscription = subscription_from_unsubscribe_token(token)
    if subscription is None:
        return _message(request, _("Unknown link"), _("This unsubscribe link is not valid."), 404)
    if request.method == "POST":
        unsubscribe(subscription)
        return _message(
            request,
            _("Unsubscribed"),
            _("Done: you will hear no more about %(name)s.") % {"name": subscription.item.name},
        )
    return render(
        request, "alerts/unsubscribe.html", {"what": subscription.item.name, "all": False}
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_all(request: HttpRequest, token: str) -> HttpResponse:
    contact = contact_from_unsubscribe_all_token(token)
    if contact is None:
        return _message(request, _("Unknown link"), _("This unsubscribe link is not valid."), 404)
    if request.method == "POST":
        stop_contact(contact=contact)
        return _message(
            request, _("Unsubscribed"), _("Done: you will receive no more alerts from us.")
        )
    return render(request, "alerts/unsubscribe.html", {"what": _("every alert"), "all": True})


def unsubscribe_url(subscription: Subscription) -> str:
    """The one-click link every message about `subscription` carries."""
    return f"{settings.SITE_URL.rstrip('/')}/alerts/unsubscribe/{unsubscribe_token(subscription)}/"
