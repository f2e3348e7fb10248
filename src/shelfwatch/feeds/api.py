"""`/api/v1/feeds`: cached datasets for API-key clients.

Reads answer from the stored snapshot at once; refreshes run in the background, one at a
time per dataset. `?stream=true` is answered by the stream processes (feeds/stream.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from ninja import Router, Status

from shelfwatch.accounts.authentication import principal_of
from shelfwatch.accounts.permissions import require_principal
from shelfwatch.feeds import delivery
from shelfwatch.feeds.access import (
    datasets_for,
    get_dataset_for,
    get_dataset_to_manage,
    require_refresh_right,
)
from shelfwatch.feeds.datasets import create_dataset, delete_dataset, update_dataset
from shelfwatch.feeds.models import Dataset, RefreshRun
from shelfwatch.feeds.refresh import request_refresh
from shelfwatch.feeds.schemas import DatasetIn, DatasetPatch, FeedHealthOut, RefreshOut
from shelfwatch.feeds.status import dataset_status, dataset_summary
from shelfwatch.http.problems import ApiError, Forbidden, problem_response

router = Router(tags=["feeds"])

TRUE = {"1", "true", "yes", "on"}


class NoSnapshot(ApiError):
    status = 503
    code = "no_snapshot"


@router.get("/health", auth=None, response=FeedHealthOut, summary="Feeds health (no auth)")
def health(request: HttpRequest):
    return {"status": "ok", "datasets": Dataset.objects.filter(is_active=True).count()}


@router.get("", response=dict, summary="The datasets the caller may read")
def list_datasets(request: HttpRequest):
    principal = require_principal(principal_of(request))
    now = timezone.now()
    found = datasets_for(principal).select_related("current_snapshot").order_by("name")
    return {"datasets": [dataset_summary(dataset, now=now) for dataset in found]}


@router.post("", response={201: dict}, summary="Create a dataset and start its first refresh")
def create(request: HttpRequest, payload: DatasetIn):
    """Admins may use any source; others only `internal` sources over stores they manage.

    SQL and HTTP sources reach other systems with the server's network and credentials,
    which is an operator's decision. The caller becomes the owner.
    """
    principal = require_principal(principal_of(request))
    source = dict(payload.source)
    kind = str(source.pop("kind", ""))
    if not principal.is_admin and kind != "internal":
        raise Forbidden(
            "only admins may create datasets over external SQL or HTTP sources",
            code="source_admin_only",
        )
    dataset = create_dataset(
        name=payload.name,
        source_kind=kind,
        source_config=source,
        owner=principal.user,
        refresh_every=timedelta(seconds=payload.refresh_every_seconds),
        description=payload.description,
    )
    request_refresh(dataset=dataset, trigger=RefreshRun.Trigger.API)
    dataset.refresh_from_db()
    return Status(201, dataset_status(dataset))


@router.patch("/{name}", response=dict, summary="Change a dataset's description or schedule")
def change(request: HttpRequest, name: str, payload: DatasetPatch):
    """`active: false` stops scheduled refreshes; reads keep answering from the snapshot."""
    dataset = get_dataset_to_manage(principal_of(request), name)
    every = payload.refresh_every_seconds
    update_dataset(
        dataset=dataset,
        description=payload.description,
        refresh_every=timedelta(seconds=every) if every is not None else None,
        is_active=payload.active,
    )
    return dataset_status(dataset)


@router.delete("/{name}", response={204: None}, summary="Delete a dataset and its snapshots")
def delete(request: HttpRequest, name: str):
    """Keys lose the dataset's scope; 409 `refresh_in_progress` while a refresh runs."""
    delete_dataset(dataset=get_dataset_to_manage(principal_of(request), name))
    return Status(204, None)


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
    cursor an earlier response carried; `refresh=true` also starts a background refresh
    (a key needs `write` for that: 403 `refresh_not_allowed` otherwise); send
    `If-None-Match` with the last ETag to get 304 when nothing changed. Compressed with gzip
    when the client accepts it.
    """
    principal = principal_of(request)
    dataset = get_dataset_for(principal, name)
    wants_refresh = (refresh or "").lower() in TRUE
    if wants_refresh:
        require_refresh_right(principal)
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
    if wants_refresh:
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
        response: HttpResponseBase = delivery.not_modified(etag)
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
