"""One Ninja API with one endpoint returning a small JSON object (plus, when a database is
configured, `/api/user`: one ORM query by primary key)."""

from django.conf import settings
from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI

api = NinjaAPI(title="minimal", docs_url=None)


@api.get("/health")
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}


if "django.contrib.auth" in settings.INSTALLED_APPS:
    from django.contrib.auth.models import User

    @api.get("/user")
    def user(request: HttpRequest) -> dict[str, object]:
        found = User.objects.filter(pk=1, is_active=True).first()
        if found is None:
            return {"id": None}
        return {"id": found.pk, "username": found.username}


urlpatterns = [path("api/", api.urls)]
