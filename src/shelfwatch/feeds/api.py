"""`/api/v1/feeds`: cached datasets for API-key clients.

Reads answer from the stored snapshot at once; refreshes run in the background, one at a
time per dataset. `?stream=true` is answered by the stream processes (feeds/stream.py).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from ninja import Router, Status

from shelfwatch.accounts.authentication import principal_of
from shelfwatch.config.problems import ApiError, problem_response
from shelfwatch.feeds import delivery
from shelfwatch.feeds.access import get_dataset_for
from shelfwatch.feeds.models import Dataset, RefreshRun
from shelfwatch.feeds.refresh import request_refresh
from shelfwatch.feeds.schemas import FeedHealthOut, RefreshOut
from shelfwatch.feeds.status import dataset_status

router = Router(tags=["feeds"])

TRUE = {"1", "true", "yes", "on"}


class NoSnapshot(ApiError):
    status = 503
    code = "no_snapshot"


@router.get("/health", auth=None, response=FeedHealthOut, summary="Feeds health (no auth)")
def health(request: HttpRequest):
    return {"status": "ok", "datasets": Dataset.objects.filter(is_active=True).count()}


@router.get("/{name}/status", response=dict, summary="A dataset's snapshot and refresh status")
def status(request: HttpRequest, name: str):
    """Snapshot age, record count and size, the last refresh's outcome, and whether a
    refresh is running (with its progress so far)."""
    dataset = get_dataset_for(principal_of(request), name)
    return dataset_status(dataset)


@router.get(
    "/{name}",
    response={200: dict, 304: None, 421: dict},
    summary="A dataset's records, from its latest snapshot",
)
def read_feed(
    request: HttpRequest,
    name: str,
    format: str | None = None,
    fields: str | None = None,
    since: str | None = None,
    refresh: str | None = None,
    stream: str | None = None,
) -> HttpResponseBase:
    """The `{"status","count","data"}` envelope (or NDJSON with `format=ndjson`).

    `fields=a,b` keeps those fields; `since=<cursor>` keeps records changed after the
    cursor an earlier response carried; `refresh=true` also starts a background refresh;
    send `If-None-Match` with the last ETag to get 304 when nothing changed. Compressed
    with gzip when the client accepts it.
    """
    dataset = get_dataset_for(principal_of(request), name)
    if (stream or "").lower() in TRUE:
        return problem_response(
            request,
            status=421,
            code="stream_misrouted",
            detail=(
                "Feed streams are served by the stream processes (`shelfwatch stream` or "
                "`shelfwatch serve`); route ?stream=true requests there."
            ),
        )
    rep = delivery.parse_representation(
        dataset=dataset,
        format=format,
        fields=fields,
        since=since,
        accept_encoding=request.META.get("HTTP_ACCEPT_ENCODING", ""),
    )
    refresh_note = None
    if (refresh or "").lower() in TRUE:
        refresh_note = request_refresh(dataset=dataset, trigger=RefreshRun.Trigger.API).status
    snapshot = dataset.current_snapshot
    if snapshot is None:
        raise NoSnapshot(
            "this dataset has no snapshot yet; it is served once its first refresh finishes",
            headers={
                "Retry-After": "30",
                **({"X-Feed-Refresh": refresh_note} if refresh_note else {}),
            },
        )
    etag = delivery.etag_for(snapshot, rep)
    if delivery.matches_etag(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response: HttpResponseBase = HttpResponse(status=304)
        for header, value in delivery.snapshot_headers(snapshot, etag).items():
            response[header] = value
    else:
        response = delivery.render(dataset, snapshot, rep)
    if refresh_note:
        response["X-Feed-Refresh"] = refresh_note
    return response


@router.post("/{name}/refresh", response={202: RefreshOut}, summary="Start a background refresh")
def trigger_refresh(request: HttpRequest, name: str):
    """202 with `triggered`, or `already in progress` when a refresh is queued or running."""
    dataset = get_dataset_for(principal_of(request), name)
    result = request_refresh(dataset=dataset, trigger=RefreshRun.Trigger.API)
    return Status(202, {"status": result.status, "run": result.run.pk if result.run else None})
