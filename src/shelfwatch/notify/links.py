"""Signed tokens in the links on our messages: no table to keep, revoked by the contact's
`link_version`.

- contact token: proves to the API that the caller created this contact (anonymous
  subscribe flow); a day.
- manage token: the magic link to a contact's manage page; a week.
- confirm token: the email confirmation link; as long as a code lives.
- unsubscribe token: one subscription, or every one of a contact; never expires.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing

from shelfwatch.notify.models import Contact

CONTACT_MAX_AGE = timedelta(days=1)
MANAGE_MAX_AGE = timedelta(days=7)
CONFIRM_MAX_AGE = timedelta(minutes=30)


def dump(salt: str, payload: dict) -> str:
    """`payload` signed for links of kind `salt` (the salts date from the alerts app)."""
    return signing.dumps(payload, salt=f"shelfwatch.alerts.{salt}", compress=True)


def load(salt: str, token: str, max_age: timedelta | None) -> dict | None:
    """The payload of a genuine, unexpired token of kind `salt`, else None."""
    try:
        payload = signing.loads(token, salt=f"shelfwatch.alerts.{salt}", max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    return payload if isinstance(payload, dict) else None


def _contact_token(salt: str, contact: Contact) -> str:
    return dump(salt, {"c": contact.pk, "v": contact.link_version})


def _contact_from(salt: str, token: str, max_age: timedelta | None) -> Contact | None:
    payload = load(salt, token or "", max_age)
    if not payload:
        return None
    return Contact.objects.filter(pk=payload.get("c"), link_version=payload.get("v")).first()


def contact_token(contact: Contact, *, proven: bool) -> str:
    """`proven` only after the caller entered the code: an unproven token may verify, not
    subscribe, so asking for a code to someone else's address grants nothing."""
    return dump("contact", {"c": contact.pk, "v": contact.link_version, "p": int(proven)})


def contact_from_token(token: str, *, proven: bool) -> Contact | None:
    """The contact a genuine, fresh contact token names (a proven one if `proven`)."""
    payload = load("contact", token or "", CONTACT_MAX_AGE)
    if not payload or (proven and not payload.get("p")):
        return None
    return Contact.objects.filter(pk=payload.get("c"), link_version=payload.get("v")).first()


def manage_token(contact: Contact) -> str:
    """The token of `contact`'s manage-page link."""
    return _contact_token("manage", contact)


def contact_from_manage_token(token: str) -> Contact | None:
    """The contact a genuine, fresh manage token names, else None."""
    return _contact_from("manage", token, MANAGE_MAX_AGE)


def confirm_token(contact: Contact) -> str:
    """The token of `contact`'s email confirmation link."""
    return _contact_token("confirm", contact)


def contact_from_confirm_token(token: str) -> Contact | None:
    """The contact a genuine, fresh confirmation token names, else None."""
    return _contact_from("confirm", token, CONFIRM_MAX_AGE)


def unsubscribe_token(*, subscription_id: int, contact: Contact) -> str:
    """The one-click link's token for one subscription of `contact` (alerts reads it)."""
    return dump("unsubscribe", {"s": subscription_id, "v": contact.link_version})


def unsubscribe_all_token(contact: Contact) -> str:
    """The token of `contact`'s one-click "unsubscribe from everything" link."""
    return _contact_token("unsubscribe-all", contact)


def contact_from_unsubscribe_all_token(token: str) -> Contact | None:
    """The contact a genuine unsubscribe-all token names, else None."""
    return _contact_from("unsubscribe-all", token, None)
