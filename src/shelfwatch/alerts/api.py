"""`/api/v1/contacts` and `/api/v1/subscriptions`.

Anyone may add a contact (the public subscribe page does); the answer carries a contact
token that can verify it. Verifying returns a *proven* token, which (like being the
signed-in owner of a verified contact) allows subscribing and managing.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from shelfwatch.accounts.authentication import api_auth, optional_auth, principal_of
from shelfwatch.accounts.throttling import client_ip
from shelfwatch.alerts.addresses import masked
from shelfwatch.alerts.models import Subscription
from shelfwatch.alerts.schemas import (
    ContactIn,
    ContactOut,
    ResendIn,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    VerifyIn,
)
from shelfwatch.alerts.subscriptions import (
    add_contact,
    claim_contact,
    subscribe,
    unsubscribe,
)
from shelfwatch.alerts.verification import check_code, send_code
from shelfwatch.http.bounds import BoundedSchema, Id
from shelfwatch.http.problems import ApiError, NotFound
from shelfwatch.notify.contacts import stop_contact
from shelfwatch.notify.links import contact_from_token, contact_token
from shelfwatch.notify.models import Contact
from shelfwatch.watch.models import WatchedItem

contacts_router = Router(tags=["alerts"], auth=optional_auth)
subscriptions_router = Router(tags=["alerts"], auth=optional_auth)
_GONE = {
    "description": "The code has expired or its tries are used up; ask for a new one",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


class ContactNotVerified(ApiError):
    status = 403
    code = "contact_not_verified"


def contact_out(contact: Contact, *, token: str | None = None, reveal: bool = False) -> dict:
    return {
        "id": contact.pk,
        "channel": contact.channel,
        "address": contact.address if reveal else masked(contact.channel, contact.address),
        "verified": contact.is_verified,
        "is_active": contact.is_active,
        "contact_token": token,
    }


def _user(request: HttpRequest):
    principal = principal_of(request)
    return principal.user if principal is not None else None


def _contact(request: HttpRequest, contact_id: int, token: str | None, *, proven: bool) -> Contact:
    """The contact if the caller owns it (signed in) or holds a token for it; 404 otherwise.

    With `proven`, the contact must be verified and a token must be a proven one.
    """
    user = _user(request)
    contact = None
    if user is not None:
        contact = Contact.objects.filter(pk=contact_id, user=user).first()
    if contact is None and token:
        held = contact_from_token(token, proven=proven)
        contact = held if held is not None and held.pk == contact_id else None
    if contact is None:
        raise NotFound("contact not found", code="contact_not_found")
    if proven and not contact.is_verified:
        raise ContactNotVerified("verify this contact first")
    return contact


@contacts_router.post("", response={201: ContactOut})
def create_contact(request: HttpRequest, body: ContactIn):
    """Add a way to reach you; a code is sent through it (WhatsApp, email) to verify it."""
    contact = add_contact(
        channel=body.channel, address=body.address, user=_user(request), ip=client_ip(request)
    )
    return Status(201, contact_out(contact, token=contact_token(contact, proven=False)))


@contacts_router.get("", response=list[ContactOut], auth=api_auth)
def list_contacts(request: HttpRequest):
    """The signed-in caller's contacts."""
    return [contact_out(c, reveal=True) for c in Contact.objects.filter(user=_user(request))]


@contacts_router.post(
    "/{contact_id}/verify", response=ContactOut, openapi_extra={"responses": {"410": _GONE}}
)
def verify_contact(request: HttpRequest, contact_id: int, body: VerifyIn):
    """Enter the code; the answer's contact_token now allows subscribing. 410
    `code_expired` or `code_attempts_exhausted` when the code can no longer be used."""
    contact = _contact(request, contact_id, body.contact_token, proven=False)
    check_code(contact=contact, code=body.code)
    claim_contact(contact, _user(request))
    contact.refresh_from_db()
    return contact_out(contact, token=contact_token(contact, proven=True), reveal=True)


@contacts_router.post("/{contact_id}/resend", response={202: ContactOut})
def resend_code(request: HttpRequest, contact_id: int, body: ResendIn):
    contact = _contact(request, contact_id, body.contact_token, proven=False)
    send_code(contact=contact, ip=client_ip(request))
    return Status(202, contact_out(contact, token=body.contact_token))


class TokenQuery(BoundedSchema):
    contact_token: str | None = Field(None, max_length=200)


@contacts_router.delete("/{contact_id}", response={204: None})
def stop(request: HttpRequest, contact_id: int, query: Query[TokenQuery]):
    """Stop every alert to this contact (its subscriptions are switched off)."""
    stop_contact(contact=_contact(request, contact_id, query.contact_token, proven=True))
    return Status(204, None)


def subscription_out(subscription: Subscription) -> dict:
    return {
        "id": subscription.pk,
        "contact_id": subscription.contact_id,
        "item_id": subscription.item_id,
        "item_name": subscription.item.name,
        "source_id": subscription.item.source_id,
        "kind": subscription.kind,
        "target_price": subscription.target_price,
        "min_drop_percent": subscription.min_drop_percent,
        "cooldown_minutes": int(subscription.cooldown.total_seconds() // 60),
        "is_active": subscription.is_active,
        "last_notified_at": subscription.last_notified_at,
        "created_at": subscription.created_at,
    }


class SubscriptionQuery(BoundedSchema):
    contact_id: Id | None = None
    contact_token: str | None = Field(None, max_length=200)


@subscriptions_router.get("", response=list[SubscriptionOut])
def list_subscriptions(request: HttpRequest, query: Query[SubscriptionQuery]):
    """Your subscriptions: all your contacts' when signed in, or one contact's by token."""
    subscriptions = Subscription.objects.select_related("item")
    if query.contact_id is not None:
        contact = _contact(request, query.contact_id, query.contact_token, proven=True)
        subscriptions = subscriptions.filter(contact=contact)
    elif _user(request) is not None:
        subscriptions = subscriptions.filter(contact__user=_user(request))
    else:
        raise NotFound("name a contact_id with its contact_token", code="contact_not_found")
    return [subscription_out(s) for s in subscriptions]


@subscriptions_router.post("", response={201: SubscriptionOut})
def create_subscription(request: HttpRequest, body: SubscriptionIn):
    """Be told about a watched item: back in stock, a price at or below a target, a drop
    of at least N percent, or any change. Subscribing again changes the terms."""
    contact = _contact(request, body.contact_id, body.contact_token, proven=True)
    item = WatchedItem.objects.filter(
        pk=body.item_id, source__is_public=True, source__is_active=True
    ).first()
    if item is None:
        raise NotFound("watched item not found", code="item_not_found")
    subscription = subscribe(
        contact=contact,
        item=item,
        kind=body.kind,
        target_price=body.target_price,
        min_drop_percent=body.min_drop_percent,
        cooldown_minutes=body.cooldown_minutes,
    )
    return Status(201, subscription_out(subscription))


def _subscription(request: HttpRequest, subscription_id: int, token: str | None) -> Subscription:
    subscription = (
        Subscription.objects.select_related("item", "contact").filter(pk=subscription_id).first()
    )
    if subscription is None:
        raise NotFound("subscription not found", code="subscription_not_found")
    try:
        _contact(request, subscription.contact_id, token, proven=True)
    except (NotFound, ContactNotVerified):
        raise NotFound("subscription not found", code="subscription_not_found") from None
    return subscription


@subscriptions_router.patch("/{subscription_id}", response=SubscriptionOut)
def change_subscription(request: HttpRequest, subscription_id: int, body: SubscriptionPatch):
    subscription = _subscription(request, subscription_id, body.contact_token)
    changes = body.dict(exclude_unset=True, exclude={"contact_token"})
    if changes.get("is_active") is False:
        unsubscribe(subscription)
        subscription.refresh_from_db()
        return subscription_out(subscription)
    updated = subscribe(
        contact=subscription.contact,
        item=subscription.item,
        kind=subscription.kind,
        target_price=changes.get("target_price", subscription.target_price),
        min_drop_percent=changes.get("min_drop_percent", subscription.min_drop_percent),
        cooldown_minutes=changes.get(
            "cooldown_minutes", int(subscription.cooldown.total_seconds() // 60)
        ),
    )
    return subscription_out(updated)


@subscriptions_router.delete("/{subscription_id}", response={204: None})
def delete_subscription(request: HttpRequest, subscription_id: int, query: Query[TokenQuery]):
    _subscription(request, subscription_id, query.contact_token).delete()
    return Status(204, None)
