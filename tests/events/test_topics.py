"""Topic authorization: who may follow what, and the registry later apps extend."""

from __future__ import annotations

import pytest

from shelfwatch.accounts.api_keys import create_api_key
from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.user_cache import active_user
from shelfwatch.errors import DomainError
from shelfwatch.events import topics
from shelfwatch.events.topics import authorize_topics, parse_topic_list
from shelfwatch.http.problems import status_of

pytestmark = pytest.mark.django_db


def principal(caller) -> Principal | None:
    return None if caller.user is None else Principal.of(active_user(caller.user.pk), "jwt")


def outcome(caller, wanted: list[str]) -> str:
    try:
        authorize_topics(principal(caller), wanted)
    except DomainError as exc:
        return f"{status_of(exc)} {exc.code}"
    return "ok"


def test_anonymous_may_follow_products_only(cast):
    assert outcome(cast.anonymous, ["product:7", "product:8"]) == "ok"
    assert outcome(cast.anonymous, ["product:7", "store:1"]) == "403 topic_forbidden"
    assert outcome(cast.anonymous, [f"user:{cast.customer.user.pk}"]) == "403 topic_forbidden"
    assert outcome(cast.anonymous, ["*"]) == "403 topic_forbidden"


def test_customer_follows_own_user_topic_not_others(cast):
    own = f"user:{cast.customer.user.pk}"
    other = f"user:{cast.staff.user.pk}"
    assert outcome(cast.customer, ["product:1", own]) == "ok"
    assert outcome(cast.customer, [other]) == "403 topic_forbidden"
    assert outcome(cast.customer, [f"store:{cast.store.pk}"]) == "403 topic_forbidden"


def test_staff_follows_own_store_only(cast):
    assert outcome(cast.staff, [f"store:{cast.store.pk}"]) == "ok"
    assert outcome(cast.staff, [f"store:{cast.other_store.pk}"]) == "403 topic_forbidden"
    assert outcome(cast.staff, ["*"]) == "403 topic_forbidden"


def test_admin_follows_anything(cast):
    selection = authorize_topics(principal(cast.admin), ["*"])
    assert selection.everything and selection.matches(["store:99"])
    assert outcome(cast.admin, [f"store:{cast.other_store.pk}", "user:12345"]) == "ok"
    # Kinds no app has registered yet are still well-formed topics for an admin.
    assert outcome(cast.admin, ["order:5"]) == "ok"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("product", "topic_invalid"),
        ("product:", "topic_invalid"),
        ("product:abc", "topic_invalid"),
        ("product:0", "topic_invalid"),
        ("PRODUCT:1", "topic_invalid"),
        ("product:1:2", "topic_invalid"),
        ("nosuch:1", "topic_unknown"),
    ],
)
def test_malformed_topics_are_400(cast, raw, code):
    assert outcome(cast.customer, [raw]) == f"400 {code}"


def test_topic_lists_are_parsed_from_commas_and_repeats():
    assert parse_topic_list("product:1, product:2,,product:1") == ["product:1", "product:2"]
    assert parse_topic_list(["product:1", "store:2,store:3"]) == ["product:1", "store:2", "store:3"]
    with pytest.raises(DomainError) as empty:
        parse_topic_list(" , ")
    assert empty.value.code == "topics_required"
    with pytest.raises(DomainError) as too_many:
        parse_topic_list(",".join(f"product:{n}" for n in range(1, 60)))
    assert too_many.value.code == "too_many_topics"


def test_api_key_without_read_scope_is_refused(cast):
    created = create_api_key(user=cast.customer.user, name="writer", scopes=["write"])
    key_principal = Principal(
        user=cast.customer.user,
        method="api_key",
        api_key=created.key,
        scopes=frozenset(created.key.scopes),
    )
    with pytest.raises(DomainError) as refused:
        authorize_topics(key_principal, ["product:1"])
    assert refused.value.code == "insufficient_scope"


def test_apps_can_add_topic_kinds():
    def owns_parcel(who: Principal, key: str) -> bool:
        return key == "42"

    # A kind no app registers: the shop's real "order" kind must survive this test.
    topics.register_topic_kind("parcel", check=owns_parcel)
    try:
        from shelfwatch.accounts.models import User

        buyer = Principal(user=User(pk=1, is_superuser=False), method="jwt")
        assert authorize_topics(buyer, ["parcel:42"]).topics == frozenset({"parcel:42"})
        with pytest.raises(DomainError) as forbidden:
            authorize_topics(buyer, ["parcel:43"])
        assert forbidden.value.code == "topic_forbidden"
        # Without a check, a private kind would be open to everyone signed in: refused.
        with pytest.raises(ValueError):
            topics.register_topic_kind("secret")
    finally:
        topics._kinds.pop("parcel", None)
