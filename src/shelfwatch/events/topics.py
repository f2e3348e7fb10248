"""Topics: what an event is about, and who may follow it.

A topic reads `<kind>:<key>` (`product:7`, `store:2`, `user:5`). Each kind is registered
once with a key pattern and an access rule; apps add kinds from `AppConfig.ready`, e.g.
``register_topic_kind("order", check=owns_order)``, and the stream and the JSON API pick
them up without changes. Admins may follow any well-formed topic and the `*` wildcard. A
kind may also let visitors without an account follow keys their live session owns
(`visitor_check`), as a shopper follows the order they placed without signing in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shelfwatch.accounts.permissions import require_scope
from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import Malformed, NotAllowed

WILDCARD = "*"
MAX_TOPICS_PER_REQUEST = 50
MAX_TOPIC_LENGTH = 120
ID_KEY = r"[1-9][0-9]{0,18}"
_TOPIC_RE = re.compile(r"(?P<kind>[a-z][a-z0-9_]{0,31}):(?P<key>[A-Za-z0-9_-]{1,64})")

AccessCheck = Callable[[Principal, str], bool]
VisitorCheck = Callable[[str, str], bool]  # (live session key, topic key)


class TopicInvalid(Malformed):
    code = "topic_invalid"


@dataclass(frozen=True)
class TopicKind:
    """One kind of topic: keys matching `key_pattern`; `public` kinds need no login.

    `check(principal, key)` decides for signed-in non-admin callers and
    `visitor_check(session_key, key)` for anonymous ones with a live session; both run in a
    worker thread, so they may query the database.
    """

    name: str
    key_pattern: re.Pattern[str]
    public: bool = False
    check: AccessCheck | None = None
    visitor_check: VisitorCheck | None = None

    def allows(
        self, principal: Principal | None, key: str, *, session_key: str | None = None
    ) -> bool:
        """True if the caller may follow the topic with `key`: always for public kinds and admins,
        else as `check` (signed in) or `visitor_check` (anonymous with a session) decides."""
        if self.public:
            return True
        if principal is None:
            return bool(session_key and self.visitor_check and self.visitor_check(session_key, key))
        if principal.is_admin:
            return True
        return self.check is not None and self.check(principal, key)


_kinds: dict[str, TopicKind] = {}


def register_topic_kind(
    name: str,
    *,
    key_pattern: str = ID_KEY,
    public: bool = False,
    check: AccessCheck | None = None,
    visitor_check: VisitorCheck | None = None,
) -> TopicKind:
    """Declare a topic kind; registering a name again replaces it (reloads stay harmless)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
        raise ValueError(f"bad topic kind name {name!r}")
    if not public and check is None:
        raise ValueError(f"topic kind {name!r} needs public=True or an access check")
    kind = TopicKind(
        name=name,
        key_pattern=re.compile(key_pattern),
        public=public,
        check=check,
        visitor_check=visitor_check,
    )
    _kinds[name] = kind
    return kind


def topic_kind(name: str) -> TopicKind | None:
    """The registered topic kind called `name`, or None."""
    return _kinds.get(name)


def split_topic(raw: str) -> tuple[str, str]:
    """`"product:7"` -> `("product", "7")`; raises TopicInvalid on bad syntax or key."""
    match = _TOPIC_RE.fullmatch(raw) if len(raw) <= MAX_TOPIC_LENGTH else None
    if match is None:
        raise TopicInvalid(f"{raw!r} is not a topic; topics read '<kind>:<key>', e.g. product:7")
    kind_name, key = match["kind"], match["key"]
    kind = _kinds.get(kind_name)
    if kind is not None and not kind.key_pattern.fullmatch(key):
        raise TopicInvalid(f"{raw!r} has a malformed key for topic kind {kind_name!r}")
    return kind_name, key


def validate_event_topics(topics: Iterable[str]) -> list[str]:
    """Topics an event may carry: well-formed, of a registered kind, without duplicates."""
    clean: list[str] = []
    for topic in topics:
        if not isinstance(topic, str):
            raise ValueError(f"topic {topic!r} is not a string")
        try:
            kind_name, _key = split_topic(topic)
        except TopicInvalid as exc:
            raise ValueError(exc.detail) from None
        if kind_name not in _kinds:
            raise ValueError(f"unknown topic kind {kind_name!r} in {topic!r}")
        if topic not in clean:
            clean.append(topic)
    return clean


def parse_topic_list(raw: str | Iterable[str] | None) -> list[str]:
    """Topics from a query string: comma-separated and/or repeated, deduplicated, in order."""
    values = [raw] if isinstance(raw, str) else list(raw or [])
    topics: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part and part not in topics:
                topics.append(part)
    if not topics:
        raise Malformed("name at least one topic, e.g. ?topics=product:7", code="topics_required")
    if len(topics) > MAX_TOPICS_PER_REQUEST:
        raise Malformed(
            f"at most {MAX_TOPICS_PER_REQUEST} topics per request", code="too_many_topics"
        )
    return topics


@dataclass(frozen=True)
class TopicSelection:
    """What one caller follows: a set of topics, or everything (admins' `*`)."""

    topics: frozenset[str]
    everything: bool = False

    def matches(self, event_topics: Iterable[str]) -> bool:
        """True if an event on `event_topics` is for this selection."""
        return self.everything or not self.topics.isdisjoint(event_topics)


def may_follow(principal: Principal | None, topic: str, *, session_key: str | None = None) -> bool:
    """Whether `principal` (None for anonymous, then known by a live `session_key` if any)
    may hear events on `topic`."""
    if topic == WILDCARD:
        return principal is not None and principal.is_admin
    kind_name, key = split_topic(topic)
    kind = _kinds.get(kind_name)
    if kind is None:
        return principal is not None and principal.is_admin
    return kind.allows(principal, key, session_key=session_key)


def authorize_topics(
    principal: Principal | None, topics: list[str], *, session_key: str | None = None
) -> TopicSelection:
    """The selection for `topics`, or a problem: 400 malformed, 403 not allowed.
    `session_key` is an anonymous caller's live session (see `visitor_session_key`).

    All topics are validated before any is authorized, so a typo is reported as such even
    next to a forbidden topic.
    """
    if principal is not None:
        require_scope(principal, "read")
    for topic in topics:
        if topic != WILDCARD:
            kind_name, _key = split_topic(topic)
            is_admin = principal is not None and principal.is_admin
            if kind_name not in _kinds and not is_admin:
                raise TopicInvalid(f"unknown topic kind {kind_name!r}", code="topic_unknown")
    for topic in topics:
        if not may_follow(principal, topic, session_key=session_key):
            hint = "" if principal is not None else "; sign in to follow private topics"
            raise NotAllowed(f"you may not follow {topic!r}{hint}", code="topic_forbidden")
    if WILDCARD in topics:
        return TopicSelection(topics=frozenset(), everything=True)
    return TopicSelection(topics=frozenset(topics))


def _is_self(principal: Principal, key: str) -> bool:
    return str(principal.user.pk) == key


def _is_member_of_store(principal: Principal, key: str) -> bool:
    return int(key) in principal.store_roles


# Built-in kinds. Products are public because live availability and price badges show on
# public pages; user and store topics carry private data.
register_topic_kind("product", public=True)
register_topic_kind("user", check=_is_self)
register_topic_kind("store", check=_is_member_of_store)
