"""Admin for watched shops: sources with their health, hosts, items with their history."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from shelfwatch.errors import DomainError
from shelfwatch.watch.history_panel import price_history_panel
from shelfwatch.watch.models import Host, Observation, Source, WatchedItem
from shelfwatch.watch.sources import create_source, detect_source, request_poll

# What an operator reads when a shop's URL cannot be looked at: the cause in plain words
# first, the fetcher's own (technical) words after it as the details.
FETCH_PROBLEMS = {
    "connect_failed": (
        "Could not reach {host}. Check the address for a typo; if it is right, this "
        "server may have no connection to the internet."
    ),
    "fetch_timeout": "{host} did not answer in time. Try again in a few minutes.",
    "address_not_allowed": (
        "{host} is on this machine or a private network; Shelfwatch only watches shops "
        "on the public internet."
    ),
    "url_not_allowed": (
        "That is not a shop's web address. Paste one like https://shop.example/products/tea."
    ),
    "response_too_large": "The page at {host} is too large to read.",
    "too_many_redirects": "{host} sent the request through too many redirects.",
}


def with_scheme(url: str) -> str:
    """`url` as pasted, with https:// in front when it has no scheme (shop.example/tea)."""
    if url and "://" not in url and not url.startswith("//"):
        return f"https://{url}"
    return url


def fetch_problem(exc: DomainError, url: str) -> str:
    """The plain sentence for why `url` could not be looked at."""
    template = FETCH_PROBLEMS.get(exc.code)
    if template is None:
        return str(exc.detail)
    return template.format(host=urlsplit(url).hostname or url)


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("key", "min_interval_ms", "max_concurrency", "lease_until")
    search_fields = ("key",)
    readonly_fields = ("lease_token", "lease_until")


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "status",
        "is_active",
        "last_success_at",
        "consecutive_failures",
        "last_error_code",
        "next_run_at",
    )
    list_filter = ("kind", "status", "is_active", "is_public")
    search_fields = ("name", "base_url")
    readonly_fields = (
        "host",
        "status",
        "last_polled_at",
        "last_success_at",
        "last_error",
        "last_error_code",
        "last_error_at",
        "consecutive_failures",
        "page_errors",
        "baseline_done",
        "validators",
        "state",
        "created_by",
        "created_at",
        "updated_at",
    )
    actions = ["poll_now"]
    change_list_template = "watch/source_changelist.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.add_by_url)
        return [path("add-by-url/", view, name="watch_source_add_by_url"), *super().get_urls()]

    def add_by_url(self, request: HttpRequest) -> HttpResponse:
        """Detect what a URL is, show the products it lists now, and save it on request."""
        url = with_scheme((request.POST.get("url") or request.GET.get("url") or "").strip())
        context = {
            **self.admin_site.each_context(request),
            "title": "Add a shop by URL",
            "url": url,
            "opts": self.model._meta,
        }
        if url:
            try:
                found = detect_source(url)
            except DomainError as exc:
                context["problem"] = fetch_problem(exc, url)
                context["problem_detail"] = f"{exc.detail} ({exc.code})"
            else:
                context["found"] = found
                if request.method == "POST" and request.POST.get("save"):
                    source = create_source(
                        name=request.POST.get("name") or found.name,
                        kind=found.kind,
                        base_url=found.base_url,
                        settings=found.settings,
                        created_by=request.user,
                    )
                    request_poll(source)
                    self.message_user(request, f"Watching {source.name}; its first poll runs now.")
                    return redirect(reverse("admin:watch_source_change", args=[source.pk]))
        return TemplateResponse(request, "watch/add_by_url.html", context)

    @admin.action(description="Poll the selected sources now")
    def poll_now(self, request, queryset) -> None:
        polled = 0
        for source in queryset.exclude(kind="internal"):
            request_poll(source)
            polled += 1
        self.message_user(
            request, f"{polled} source(s) will be polled within seconds.", messages.SUCCESS
        )


class ObservationInline(admin.TabularInline):
    model = Observation
    extra = 0
    can_delete = False
    fields = ("observed_at", "available", "quantity", "price", "name", "changes")
    readonly_fields = fields
    ordering = ("-observed_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WatchedItem)
class WatchedItemAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "source",
        "available",
        "price",
        "currency",
        "is_gone",
        "episode",
        "last_changed_at",
    )
    list_filter = ("source", "available", "is_gone")
    search_fields = ("name", "external_id")
    readonly_fields = ["price_history", *[f.name for f in WatchedItem._meta.fields]]
    inlines = [ObservationInline]

    @admin.display(description="Price history (90 days)")
    def price_history(self, obj: WatchedItem) -> str:
        """The chart, its summary and the restock pattern, on the item's own page."""
        if obj is None or obj.pk is None:
            return "-"
        return mark_safe(price_history_panel(obj))  # noqa: S308 - our template, escaped


@admin.register(Observation)
class ObservationAdmin(admin.ModelAdmin):
    list_display = ("item", "observed_at", "available", "price", "changes")
    list_select_related = ("item",)
    readonly_fields = [f.name for f in Observation._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
