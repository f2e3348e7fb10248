"""The store dashboard's import pages: upload a spreadsheet (dropped on the page or picked
with a plain file input, so it works on a phone and without JavaScript), check how it will
be read and which column holds what, start it, follow it live, and fix the rows that failed.

Thin: the API's own services read and check the file (`uploads.preview_file` and
`uploads.start_import`), `previews` keeps the file between the preview and the start, and
the selectors read jobs and rows. The store wall is `get_store_for`, as in the API: another
tenant's store or job is a 404, an anonymous visitor is sent to log in.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import IO

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import DomainError, NotFound
from shelfwatch.imports import wording
from shelfwatch.imports.lifecycle import cancel_job
from shelfwatch.imports.mapping import FIELDS, InvalidMapping, guess_mapping
from shelfwatch.imports.models import FINISHED, ImportJob, ImportMode
from shelfwatch.imports.previews import (
    PreviewGone,
    claim_start,
    discard_preview,
    keep_preview,
    open_preview,
    read_columns,
    release_start,
)
from shelfwatch.imports.selectors import ERROR_STATUSES, error_lines, get_job, job_rows, store_jobs
from shelfwatch.imports.uploads import preview_file, start_import
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.selectors import get_store_for

JOBS_PER_PAGE = 20
ROWS_PER_PAGE = 50


def _store(request: HttpRequest, store_id: int) -> tuple[Store, Principal]:
    principal = page_principal(request)
    try:
        store = get_store_for(principal, store_id)
    except NotFound:
        raise Http404("no such store") from None  # not 403: other tenants' ids stay unknown
    return store, principal


def _job(store: Store, job_id: int) -> ImportJob:
    try:
        return get_job(store, job_id)
    except NotFound:
        raise Http404("no such import") from None


def _page_context(store: Store, **more: object) -> dict[str, object]:
    """What every import page hands the base template: a staff page following the store's
    events (for live progress) besides the user's own."""
    return {"store": store, "staff_page": True, "live_store": store.pk, **more}


def _index(
    request: HttpRequest, store: Store, *, problem: str = "", mode: str = "", status: int = 200
) -> HttpResponse:
    jobs = store_jobs(store).select_related("uploaded_by").order_by("-pk")
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for job in page.object_list:
        job.status_label = wording.STATUS_LABELS.get(job.status, job.status)
        job.finished = job.status in FINISHED  # its zero counts are left out
    context = _page_context(
        store,
        jobs=page,
        modes=wording.MODE_LABELS,
        mode=mode if mode in ImportMode.values else ImportMode.BOTH,
        problem=problem,
        max_bytes=settings.IMPORT_MAX_BYTES,
        max_megabytes=settings.IMPORT_MAX_BYTES // (1024 * 1024),
        too_large=wording.problem_text("file_too_large"),
        statuses=wording.STATUS_LABELS,
    )
    return render(request, "imports/index.html", context, status=status)


@login_required
@require_GET
def imports_page(request: HttpRequest, store_id: int) -> HttpResponse:
    """The upload form and the store's imports, newest first."""
    store, _principal = _store(request, store_id)
    return _index(request, store)


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, store_id: int) -> HttpResponse:
    """Take the file, check it can be imported at all, keep it, and show its preview."""
    store, principal = _store(request, store_id)
    if request.method == "GET":  # a reload of a refused upload: back to the form
        return redirect("store-imports", store_id=store.pk)
    mode = request.POST.get("mode", ImportMode.BOTH)
    if mode not in ImportMode.values:
        return _index(request, store, problem=wording.problem_text("invalid_mode"), status=400)
    file = request.FILES.get("file")
    if file is None:
        problem = _("Choose the file to import first.")
        return _index(request, store, problem=problem, mode=mode, status=400)
    try:
        preview_file(upload=file.file, size=file.size)
    except InvalidMapping:
        pass  # the preview page asks which column is what
    except DomainError as exc:
        problem = wording.problem_text(exc)
        return _index(request, store, problem=problem, mode=mode, status=400)
    try:
        token = keep_preview(store_id=store.pk, user_id=principal.user.pk, upload=file.file)
    except PreviewGone as exc:
        return _index(request, store, problem=wording.problem_text(exc), mode=mode, status=400)
    query = urlencode({"mode": mode, "name": (file.name or "")[:255]})
    return redirect(reverse("store-import-preview", args=[store.pk, token]) + "?" + query)


def _chosen(data: QueryDict, header: list[str]) -> tuple[dict[str, str] | None, str]:
    """The column choices of the preview form ({column: field or ""}, None when the form
    sent none) and what is wrong with them, in the shop owner's words."""
    chosen = {}
    for index, column in enumerate(header):
        value = data.get(f"column-{index}")
        if value is not None:
            chosen[column] = value.strip()
    if not chosen:
        return None, ""
    if any(field not in FIELDS for field in chosen.values() if field):
        return chosen, wording.problem_text("unknown_field")
    counts = Counter(field for field in chosen.values() if field)
    twice = [field for field, count in counts.items() if count > 1]
    if twice:
        label = wording.FIELD_LABELS[twice[0]]
        columns = ", ".join(column for column, field in chosen.items() if field == twice[0])
        problem = _("“%(field)s” is chosen for more than one column (%(columns)s): keep one.") % {
            "field": label,
            "columns": columns,
        }
        return chosen, problem
    return chosen, ""


def _show(
    request: HttpRequest,
    store: Store,
    token: str,
    stored: IO[bytes],
    size: int,
    form: dict[str, str],
    *,
    problem: str = "",
    duplicate: ImportJob | None = None,
    status: int = 200,
) -> HttpResponse:
    """The preview page: how the file reads, the column choices and the first rows."""
    columns = read_columns(stored)
    chosen, wrong = _chosen(request.POST, columns.header)
    problem = problem or wrong
    found = None
    if not wrong:
        try:
            found = preview_file(upload=stored, size=size, mapping=chosen)
        except InvalidMapping as exc:
            problem = problem or wording.problem_text(exc)
    mapping = found["mapping"] if found else (chosen or guess_mapping(columns.header))
    rows = found["rows"] if found else []
    sample = next((row["values"] for row in rows if row.get("fields")), [])
    context = _page_context(
        store,
        token=token,
        form=form,
        modes=wording.MODE_LABELS,
        encoding=wording.encoding_label(columns.encoding),
        delimiter=wording.delimiter_label(columns.delimiter),
        columns=[
            (index, column, mapping.get(column, ""), sample[index] if index < len(sample) else "")
            for index, column in enumerate(columns.header)
        ],
        fields=[(field, wording.FIELD_LABELS[field]) for field in FIELDS],
        rows=[{**row, "shown": wording.row_summary(row.get("fields"))} for row in rows],
        previewed=found is not None,
        problem=problem,
        duplicate=duplicate,
    )
    return render(request, "imports/preview.html", context, status=status)


def _start(
    request: HttpRequest,
    store: Store,
    principal: Principal,
    token: str,
    stored: IO[bytes],
    size: int,
    form: dict[str, str],
) -> tuple[HttpResponse, bool]:
    """Start the import with the chosen columns; the response and whether it started."""
    show = (request, store, token, stored, size, form)
    _chosen_mapping, wrong = _chosen(request.POST, read_columns(stored).header)
    if wrong:
        return _show(*show, status=400), False
    try:
        job = start_import(
            store=store,
            principal=principal,
            upload=stored,
            size=size,
            original_name=form["name"],
            mode=form["mode"],
            mapping=_chosen_mapping,
            allow_repeat=request.POST.get("action") == "repeat",
        )
    except DomainError as exc:
        if exc.code == "duplicate_file":
            earlier = store_jobs(store).filter(pk=exc.extra.get("job_id")).first()
            return _show(*show, duplicate=earlier, status=409), False
        return _show(*show, problem=wording.problem_text(exc), status=400), False
    messages.success(request, _("The import has started. It goes on even if you leave this page."))
    return redirect("store-import-job", store_id=store.pk, job_id=job.pk), True


@login_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, store_id: int, token: str) -> HttpResponse:
    """The kept file's preview (GET, or POST `action=check` with new column choices), or
    its start (POST `action=start`, `repeat` to import a file imported before)."""
    store, principal = _store(request, store_id)
    data = request.POST if request.method == "POST" else request.GET
    mode = data.get("mode", ImportMode.BOTH)
    form = {
        "mode": mode if mode in ImportMode.values else ImportMode.BOTH,
        "name": data.get("name", "")[:255],
    }
    kept = {"store_id": store.pk, "user_id": principal.user.pk, "token": token}
    starting = request.method == "POST" and data.get("action") in ("start", "repeat")
    try:
        if starting and not claim_start(**kept):
            messages.info(request, _("This file is being imported already: see the list below."))
            return redirect("store-imports", store_id=store.pk)
        started = False
        try:
            with open_preview(**kept) as (stored, size):
                if starting:
                    response, started = _start(request, store, principal, token, stored, size, form)
                else:
                    response = _show(request, store, token, stored, size, form)
        finally:
            if starting and not started:
                release_start(**kept)
    except PreviewGone as exc:
        messages.error(request, wording.problem_text(exc))
        return redirect("store-imports", store_id=store.pk)
    except DomainError as exc:  # the kept file no longer reads: it cannot be imported
        discard_preview(**kept)
        messages.error(request, wording.problem_text(exc))
        return redirect("store-imports", store_id=store.pk)
    if started:
        discard_preview(**kept)  # the job holds its own copy now
    return response


@login_required
@require_GET
def job_page(request: HttpRequest, store_id: int, job_id: int) -> HttpResponse:
    """A job's status and counts (kept live by the page's script), and once it has ended
    the rows that were not imported, a page at a time."""
    store, _principal = _store(request, store_id)
    job = _job(store, job_id)
    problems = job_rows(job).filter(status__in=ERROR_STATUSES).order_by("line")
    rows = Paginator(problems, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    rows.object_list = list(rows.object_list)
    for row in rows.object_list:
        row.status_label = wording.ROW_STATUS_LABELS.get(row.status, row.status)
    context = _page_context(
        store,
        job=job,
        status_label=wording.STATUS_LABELS.get(job.status, job.status),
        statuses=wording.STATUS_LABELS,
        mode_label=wording.MODE_LABELS.get(job.mode, job.mode),
        finished=job.status in FINISHED,
        job_problem=wording.problem_text(job.error_code) if job.error_code else "",
        rows=rows,
    )
    return render(request, "imports/job.html", context)


@login_required
@require_POST
def cancel(request: HttpRequest, store_id: int, job_id: int) -> HttpResponse:
    """Stop the job: what its committed batches imported stays."""
    store, _principal = _store(request, store_id)
    job = _job(store, job_id)
    if cancel_job(job=job):
        messages.success(request, _("The import was cancelled. Rows imported before it stay."))
    else:
        messages.info(request, _("This import had already ended."))
    return redirect("store-import-job", store_id=store.pk, job_id=job.pk)


@login_required
@require_GET
def errors_csv(request: HttpRequest, store_id: int, job_id: int) -> StreamingHttpResponse:
    """The rows to fix, as uploaded plus their line and what is wrong: fix and upload it."""
    store, _principal = _store(request, store_id)
    job = _job(store, job_id)
    # A byte order mark, so Excel reads ₹ and other non-English text; imports read it too.
    lines = itertools.chain(["\ufeff"], error_lines(job))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
