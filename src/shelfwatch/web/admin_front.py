"""The admin site's face: Shelfwatch's name and icon instead of "Django administration",
and a front page that lists what people manage (products, stores, orders, alerts) while
the machinery (refresh tokens, sending paces, task results, leases) moves to a short
"Internals" list at the bottom; every page of it is still reachable."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# (app label, model name) of the records only an operator digging into a problem needs.
INTERNALS = frozenset(
    {
        ("accounts", "refreshtoken"),
        ("django_tasks_database", "dbtaskresult"),
        ("notify", "pace"),
        ("notify", "channelpause"),
        ("alerts", "verificationcode"),
        ("events", "event"),
        ("watch", "observation"),
        ("shop", "reservation"),
        ("catalog", "imageblob"),
        ("feeds", "snapshot"),
        ("ops", "periodicjobstate"),
        ("ops", "schedulerlease"),
    }
)


def _is_internal(app_label: str, model: dict) -> bool:
    return (app_label, model["object_name"].lower()) in INTERNALS


def brand_admin_site(site: admin.AdminSite = admin.site) -> None:
    """Name the admin Shelfwatch and keep internals off its front page and sidebar (an
    app's own page still lists them all, and the front page links to them)."""
    site.site_header = _("Shelfwatch admin")
    site.site_title = _("Shelfwatch admin")
    site.index_title = _("Manage the shops")
    site.index_template = "web/admin_index.html"
    everything = site.get_app_list

    def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = everything(request, app_label)
        if app_label is not None:
            return apps
        shown = []
        for app in apps:
            models = [m for m in app["models"] if not _is_internal(app["app_label"], m)]
            if models:
                shown.append({**app, "models": models})
        return shown

    def internals(request: HttpRequest) -> list[dict]:
        """The hidden models the user may open, as {"name", "url"}, by name."""
        found = []
        for app in everything(request):
            for model in app["models"]:
                if _is_internal(app["app_label"], model) and model.get("admin_url"):
                    found.append(
                        {"name": f"{app['name']} · {model['name']}", "url": model["admin_url"]}
                    )
        return sorted(found, key=lambda row: row["name"])

    site.get_app_list = get_app_list
    site.internal_models = internals
    original_index = site.index

    def index(request: HttpRequest, extra_context: dict | None = None):
        extra = {"internals": internals(request), **(extra_context or {})}
        return original_index(request, extra_context=extra)

    site.index = index


def throttle_admin_login(site: admin.AdminSite = admin.site) -> None:
    """Count the admin's sign-in posts against the sign-in limits (per IP and per account
    name), shared with the site's own sign-in page and the API's login: the admin's form
    signs in the most powerful accounts and would otherwise take unlimited guesses. Called
    before the admin's URLs are built."""
    from shelfwatch.accounts.page_throttle import sign_in_throttled

    site.login = sign_in_throttled(site.login)
