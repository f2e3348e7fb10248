"""A report email as mail clients get it: a text part, an HTML part whose charts are PNG
parts attached inline and named by Content-ID (never data: URIs), and a one-click
List-Unsubscribe that stops this report only; through SMTP and through SendGrid."""

from __future__ import annotations

import base64
import re

import pytest

from shelfwatch.analytics import reports
from shelfwatch.analytics.models import Report, ReportPreference
from shelfwatch.notify.delivery import deliver_batch
from shelfwatch.notify.models import Notification
from tests.analytics.reports_world import DAY
from tests.fakes.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mail_settings(settings):
    settings.NOTIFY_QUIET_HOURS = "off"
    settings.NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS = 0
    settings.NOTIFY_DIGEST_SECONDS = 0
    settings.NOTIFY_EMAIL_RATE_PER_SECOND = 1000
    settings.SITE_URL = "https://shelfwatch.example"
    return settings


@pytest.fixture
def smtp(mail_settings):
    with SmtpSink() as sink:
        mail_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        mail_settings.EMAIL_HOST = sink.host
        mail_settings.EMAIL_PORT = sink.port
        mail_settings.EMAIL_USE_TLS = False
        yield sink


def built_report(store) -> Report:
    report = Report.objects.create(store=store, kind="daily", first_day=DAY, last_day=DAY)
    [claimed] = reports.claim(worker="w", limit=1, ids=[report.pk])
    assert reports.process(claimed, worker="w")
    return report


def deliver() -> None:
    deliver_batch(worker="test-worker", limit=100)


def test_email_has_text_html_and_inline_png_charts(smtp, world, store_a):
    built_report(store_a)
    deliver()
    [mail] = smtp.wait_for(1)
    assert mail.to == [world["owner"].email]
    assert mail.subject == f"{store_a.name}: daily report for {DAY.isoformat()}"
    assert mail.message.get_content_type() == "multipart/related"
    assert "Product views: 40" in mail.text
    assert "+20 (+100.0%)" in mail.text
    assert "Subscribers waiting on items out of stock: 2" in mail.text
    html = mail.html
    assert "data:" not in html
    cids = set(re.findall(r'src="cid:([^"]+)"', html))
    assert cids == {"trend", "top_viewed"}
    images = {
        part["Content-ID"].strip("<>"): part
        for part in mail.message.walk()
        if part.get_content_type() == "image/png"
    }
    assert set(images) == cids
    for part in images.values():
        assert part.get_content_disposition() == "inline"
        assert part.get_payload(decode=True).startswith(PNG)


def test_one_click_unsubscribe_stops_only_this_report(smtp, world, store_a, client):
    built_report(store_a)
    deliver()
    [mail] = smtp.wait_for(1)
    assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    link = mail.header("List-Unsubscribe").strip().strip("<>")
    assert "/reports/email/" in link and link in mail.text
    path = link.removeprefix("https://shelfwatch.example")
    assert client.get(path).status_code == 200  # a link scanner's GET changes nothing
    assert not ReportPreference.objects.exists()
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    choice = ReportPreference.objects.get(user=world["owner"], store=store_a)
    assert choice.frequency == "off"
    second = Report.objects.create(
        store=store_a, kind="daily", first_day=DAY.replace(day=11), last_day=DAY.replace(day=11)
    )
    [claimed] = reports.claim(worker="w", limit=1, ids=[second.pk])
    reports.process(claimed, worker="w")
    second.refresh_from_db()
    assert second.recipients == 0


def test_the_link_chooses_weekly_and_a_forged_token_is_refused(world, store_a, client):
    from shelfwatch.analytics.report_mail import preference_token

    token = preference_token(user_id=world["owner"].pk, store_id=store_a.pk)
    assert client.post(f"/reports/email/{token}/", {"frequency": "weekly"}).status_code == 200
    assert ReportPreference.objects.get(user=world["owner"]).frequency == "weekly"
    assert client.post(f"/reports/email/{token}/", {"frequency": "hourly"}).status_code == 400
    assert ReportPreference.objects.get(user=world["owner"]).frequency == "weekly"
    assert client.get(f"/reports/email/{token[:-2]}xx/").status_code == 404
    # Staff are not mailed reports: a link naming one cannot set a choice either.
    staff_token = preference_token(user_id=world["staff"].pk, store_id=store_a.pk)
    assert client.post(f"/reports/email/{staff_token}/", {"frequency": "daily"}).status_code == 404
    assert not ReportPreference.objects.filter(user=world["staff"]).exists()


def test_weekly_readers_get_the_weekly_report_not_the_daily(world, store_a):
    from shelfwatch.analytics.report_mail import recipients

    ReportPreference.objects.create(user=world["owner"], store=store_a, frequency="weekly")
    daily = Report(store=store_a, kind="daily", first_day=DAY, last_day=DAY)
    weekly = Report(store=store_a, kind="weekly", first_day=DAY, last_day=DAY)
    assert list(recipients(daily)) == []
    assert list(recipients(weekly)) == [world["owner"]]


def test_hindi_reader_gets_the_report_in_the_hindi_layout(smtp, world, store_a):
    from shelfwatch.notify.contacts import email_contact_of

    contact = email_contact_of(world["owner"], verified=True)
    contact.language = "hi"
    contact.save()
    built_report(store_a)
    deliver()
    [mail] = smtp.wait_for(1)
    assert '<html lang="hi">' in mail.html


def test_sendgrid_gets_the_charts_as_inline_attachments(mail_settings, world, store_a):
    from tests.fakes.sendgrid import SendGridFake

    with SendGridFake(api_key="SG.test-key") as sendgrid:
        mail_settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
        mail_settings.ANYMAIL = {
            "SENDGRID_API_KEY": "SG.test-key",
            "SENDGRID_API_URL": sendgrid.api_url,
        }
        mail_settings.DEFAULT_FROM_EMAIL = "Shelfwatch <reports@shelfwatch.example>"
        built_report(store_a)
        deliver()
        note = Notification.objects.get(template="analytics.report")
        assert note.status == "sent", note.last_error
        [mail] = sendgrid.messages
        assert mail.text and "cid:trend" in mail.html
        inline = {a["content_id"]: a for a in mail.attachments if a.get("disposition") == "inline"}
        assert set(inline) == {"trend", "top_viewed"}
        assert base64.b64decode(inline["trend"]["content"]).startswith(PNG)
