"""`/api/v1/events/`: past events as JSON, the stream's documentation, an operator ping.

The live stream itself, `GET /api/v1/events/stream?topics=a,b`, is served by the stream
processes (plain ASGI), not by this router; a request for it that reaches Django was
routed wrongly and gets a problem document saying so.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from shelfwatch.accounts.authentication import admin_auth, optional_auth, principal_of
from shelfwatch.accounts.principal import visitor_session_key
from shelfwatch.events.history import events_after
from shelfwatch.events.publishing import emit
from shelfwatch.events.schemas import EventListOut, PingIn, PingOut
from shelfwatch.events.topics import authorize_topics, parse_topic_list
from shelfwatch.http.bounds import INT64_MAX
from shelfwatch.http.problems import ApiError, problem_response

router = Router(tags=["events"])


STREAM_DESCRIPTION = """\
**Live events as Server-Sent Events.** Served by the stream processes (`shelfwatch stream`,
or the single port of `shelfwatch serve`); a reverse proxy must send this path there.

- `topics`: comma-separated, e.g. `product:7,store:2`. Anyone may follow `product:<id>`
  (availability and price); signed-in callers (session cookie, `Authorization: Bearer`,
  `X-API-Key`) also `user:<their id>`, `store:<id>` of their stores and `order:<id>` of
  their orders; visitors `order:<id>` of the orders their session placed; admins anything,
  including `*` for every event.
- Each event: `id:` (the event id), `event:` (its type), `data:` JSON with `id`, `type`,
  `topics`, `payload`, `created_at`. An event that committed late with an id below one
  already sent comes without `id:`, so the reconnect cursor never moves backwards.
- Reconnect with `Last-Event-ID` (browsers do) or `?last_event_id=` to replay what was
  missed (at most EVENTS_REPLAY_LIMIT events; a `replay_truncated` event says when older
  ones were left out), then live events, without duplicates.
- `: keepalive` comments every EVENTS_HEARTBEAT_SECONDS; `retry:` advises the reconnect delay.
- Errors are problem+json: 400 `topic_invalid`/`topics_required`, 401
  `invalid_credentials`, 403 `topic_forbidden`.
"""


@router.get(
    "",
    auth=optional_auth,
    response=EventListOut,
    summary="Events on topics after an id",
)
@router.get(
    "/",
    include_in_schema=False,
    auth=optional_auth,
    response=EventListOut,
    summary="Events on topics after an id",
)
def list_events(
    request: HttpRequest,
    topics: str,
    after: int = Query(0, ge=0, le=INT64_MAX),
    limit: int = Query(100, ge=1, le=500),
):
    """Events the caller may see on `topics`, oldest first, after event id `after`.

    For clients that cannot hold a stream: poll with `after=next_after`. Same topics and
    permissions as the stream. Ids are assigned at insert, so on PostgreSQL an event can
    commit after a higher id was returned; clients that must see every event use the stream.
    """
    principal = principal_of(request)
    visitor = None
    if principal is None:
        visitor = visitor_session_key(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    selection = authorize_topics(principal, parse_topic_list(topics), session_key=visitor)
    page = events_after(selection, after=after, limit=limit)
    events = [message.as_dict() for message in page.messages]
    return {
        "events": events,
        "next_after": events[-1]["id"] if events else after,
        "has_more": page.more,
    }


@router.get(
    "/stream",
    auth=None,
    summary="Live event stream (Server-Sent Events)",
    description=STREAM_DESCRIPTION,
    response={421: dict},
    openapi_extra={
        "responses": {
            200: {
                "description": "An endless `text/event-stream`.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
def stream_misrouted(request: HttpRequest) -> HttpResponse:
    # Reaching Django means the proxy sent a stream path to a web process: say so at once
    # instead of holding a WSGI thread open for a stream it cannot serve.
    return problem_response(
        request,
        status=421,
        code="stream_misrouted",
        detail=(
            "The event stream is served by the stream processes (`shelfwatch stream`, or "
            "`shelfwatch serve`); route /api/v1/events/stream there, not to `shelfwatch web`."
        ),
    )


@router.post(
    "/test",
    auth=admin_auth,
    response={202: PingOut},
    summary="Emit a test event (admins)",
)
def emit_test_event(request: HttpRequest, body: PingIn):
    """Emit a `system.ping` event on `topic` to check the pipeline end to end.

    Whoever follows the topic (or `*`) sees it on the stream; consumers of `system.*` run.
    """
    principal = principal_of(request)
    try:
        with transaction.atomic():
            event = emit(
                type="system.ping",
                payload={"message": body.message, "by": principal.user.pk},
                topics=[body.topic],
            )
    except ValueError as exc:
        raise ApiError(str(exc), code="topic_invalid") from None
    return Status(202, {"id": event.pk, "type": event.type, "topics": event.topics})
