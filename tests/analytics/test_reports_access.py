"""Who reads reports: a store's staff and admins read its reports (on the pages and through
the API), another store's ids are 404s, the platform's reports are for admins; bad input
gets a stable code; the command builds one report by hand, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.analytics import reports
from shelfwatch.analytics.models import Report, ReportPreference
from shelfwatch.cli import main
from tests.analytics.reports_world import DAY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def built(store, day=DAY, kind="daily") -> Report:
    report = Report.objects.create(store=store, kind=kind, first_day=day, last_day=day)
    [claimed] = reports.claim(worker="w", limit=1, ids=[report.pk])
    assert reports.process(claimed, worker="w")
    return report


@pytest.fixture
def two_stores(world, store_a, store_b):
    return built(store_a), built(store_b), built(None)


def test_staff_read_their_stores_reports_through_the_api(callers, two_stores, store_a, store_b):
    mine, theirs, platform = two_stores
    listed = callers["staff_a"].get(f"/api/v1/analytics/reports?store={store_a.pk}")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [mine.pk]
    one = callers["staff_a"].get(f"/api/v1/analytics/reports/{mine.pk}").json()
    assert one["data"]["figures"]["views"]["value"] == 40
    assert one["kind"] == "daily" and one["first_day"] == DAY.isoformat()
    # Another store's report and the platform's are not there for them.
    for other in (theirs, platform):
        response = callers["staff_a"].get(f"/api/v1/analytics/reports/{other.pk}")
        assert response.status_code == 404
        assert response.json()["code"] == "report_not_found"
    response = callers["staff_a"].get(f"/api/v1/analytics/reports?store={store_b.pk}")
    assert response.json()["code"] == "store_not_found"
    response = callers["staff_a"].get("/api/v1/analytics/reports")
    assert response.status_code == 403 and response.json()["code"] == "admins_only"


def test_admins_read_every_report_and_the_platforms(callers, two_stores):
    _mine, theirs, platform = two_stores
    listed = callers["admin"].get("/api/v1/analytics/reports").json()
    assert [r["id"] for r in listed] == [platform.pk]
    assert listed[0]["store_id"] is None
    assert callers["admin"].get(f"/api/v1/analytics/reports/{theirs.pk}").status_code == 200


def test_bad_report_queries_get_clear_errors(callers, two_stores, store_a):
    for query in ("store=abc", f"store={store_a.pk}&kind=hourly", f"store={store_a.pk}&limit=0"):
        response = callers["staff_a"].get(f"/api/v1/analytics/reports?{query}")
        assert response.status_code == 422, query
    assert callers["staff_a"].get("/api/v1/analytics/reports/0").status_code == 422
    assert callers["customer"].get("/api/v1/analytics/reports").status_code == 403
    assert callers["anon"].get("/api/v1/analytics/reports").status_code == 401


def test_report_pages_show_a_stores_reports_to_its_staff_only(client, world, store_a, store_b):
    mine, theirs = built(store_a), built(store_b)
    client.login(email=world["staff"].email, password=PASSWORD)
    page = client.get(f"/stores/{store_a.pk}/reports/")
    assert page.status_code == 200
    assert f"/stores/{store_a.pk}/reports/{mine.pk}/" in page.content.decode()
    # Days read as on the other dashboard pages ("7 Dec 2026"), not "Dec. 7, 2026".
    assert mine.first_day.strftime("%b %Y") in page.content.decode()
    assert mine.first_day.strftime("%b.") not in page.content.decode()
    assert 'name="frequency"' not in page.content.decode()  # staff are not mailed reports
    one = client.get(f"/stores/{store_a.pk}/reports/{mine.pk}/")
    assert one.status_code == 200 and "Sourdough loaf" in one.content.decode()
    chart = client.get(f"/stores/{store_a.pk}/reports/{mine.pk}/trend.png")
    assert chart["Content-Type"] == "image/png" and chart.content.startswith(b"\x89PNG")
    assert client.get(f"/stores/{store_a.pk}/reports/{mine.pk}/nothing.png").status_code == 404
    assert client.get(f"/stores/{store_b.pk}/reports/").status_code == 404
    assert client.get(f"/stores/{store_a.pk}/reports/{theirs.pk}/").status_code == 404
    assert client.get(f"/stores/{store_b.pk}/reports/{theirs.pk}/").status_code == 404


def test_an_owner_chooses_weekly_on_the_page(client, world, store_a):
    client.login(email=world["owner"].email, password=PASSWORD)
    page = client.get(f"/stores/{store_a.pk}/reports/")
    assert 'name="frequency"' in page.content.decode()
    url = f"/stores/{store_a.pk}/reports/frequency"
    assert client.post(url, {"frequency": "weekly"}).status_code == 302
    assert ReportPreference.objects.get(user=world["owner"], store=store_a).frequency == "weekly"
    assert client.post(url, {"frequency": "sometimes"}).status_code == 400
    assert ReportPreference.objects.get(user=world["owner"], store=store_a).frequency == "weekly"


def test_staff_cannot_set_a_choice_on_the_page(client, world, store_a):
    client.login(email=world["staff"].email, password=PASSWORD)
    response = client.post(f"/stores/{store_a.pk}/reports/frequency", {"frequency": "daily"})
    assert response.status_code == 404
    assert not ReportPreference.objects.exists()


def test_the_command_builds_a_report_once(world, store_a, capsys):
    args = ["analytics-report", "--store", str(store_a.pk), "--date", DAY.isoformat()]
    with pytest.raises(SystemExit) as first:
        main(args)
    assert first.value.code == 0
    assert "sent, emailed to 1" in capsys.readouterr().out
    with pytest.raises(SystemExit) as again:
        main(args)
    assert again.value.code == 0
    assert Report.objects.filter(store=store_a).count() == 1
    assert Report.objects.get(store=store_a).recipients == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--store", "1", "--date", "10/03/2026"],
        ["--store", "987654", "--date", "2026-03-10"],
        ["--platform", "--date", (timezone.now().date() + timedelta(days=1)).isoformat()],
    ],
)
def test_the_command_refuses_bad_input(world, args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analytics-report", *args])
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert not Report.objects.exists()


def test_admins_read_the_platform_reports_on_their_page(client, world, make_user):
    platform = built(None)
    client.login(email=world["staff"].email, password=PASSWORD)
    assert client.get("/reports/platform/").status_code == 404
    assert client.get(f"/reports/platform/{platform.pk}/").status_code == 404
    admin = make_user("boss@example.com", admin=True)
    client.login(email=admin.email, password=PASSWORD)
    page = client.get("/reports/platform/")
    assert f"/reports/platform/{platform.pk}/" in page.content.decode()
    one = client.get(f"/reports/platform/{platform.pk}/")
    assert one.status_code == 200 and "/reports/platform/" in one.content.decode()
    assert client.get(f"/reports/platform/{platform.pk}/trend.png").status_code == 200
    assert client.post("/reports/platform/frequency", {"frequency": "off"}).status_code == 302
    assert ReportPreference.objects.get(user=admin, store__isnull=True).frequency == "off"
