"""The store dashboard's import page in headless Chromium on a phone: a CSV dropped on the
page, its preview, the start, and the progress bar following the job live over the event
stream of a real `shelfwatch front` while this test runs the job as a worker would."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from shelfwatch.accounts.models import StoreMembership, User
from shelfwatch.imports.models import ImportJob
from shelfwatch.imports.processing import run_job
from tests.browser.conftest import PHONE

try:
    from playwright.sync_api import Page, expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    Page = expect = None

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 15_000
STOCK = (
    "Item Name,Qty,MRP,EAN,Notes\n"
    "Tata Salt,40,28,8901234567890,\n"
    "Fortune Oil,-2,175,,\n"
    "Parle G,24,10,,\n"
    "Amul Butter,8,275,,fridge\n"
    "Maggi Noodles,30,14,,\n"
)
# What a file dragged from the desktop onto the zone looks like to the page.
DROP = """([zone, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], "stock.csv", { type: "text/csv" }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
}"""


def fits_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def test_drop_a_file_preview_it_start_it_and_watch_it_finish(
    open_page, front_server, store_a, settings
):
    staff = User.objects.create_user("staff-a@example.com")  # no password: hashing is slow
    StoreMembership.objects.create(user=staff, store=store_a, role="staff")
    client = Client()
    client.force_login(staff)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page = open_page(viewport=PHONE, base_url=front_server)
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": front_server}])

    page.goto(f"/stores/{store_a.pk}/")
    page.get_by_role("link", name="Import stock from a file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import stock from a file")
    fits_the_screen(page)
    page.evaluate(DROP, [page.locator("#dropzone").element_handle(), STOCK])
    assert page.evaluate("document.getElementById('import-file').files[0].name") == "stock.csv"
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check the file before importing")
    expect(page.get_by_label("Item Name")).to_have_value("name")
    expect(page.get_by_label("Notes")).to_have_value("")
    rows = page.locator("table.preview-rows tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(1)).to_contain_text("the quantity cannot be negative")
    fits_the_screen(page)
    page.get_by_role("button", name="Start import").click()

    expect(page).to_have_url(re.compile(r"/imports/jobs/\d+/$"))
    job = ImportJob.objects.get()
    bar = page.locator("#job-progress")
    expect(page.locator("#job [data-status]")).to_have_text("Waiting to start")
    expect(page.locator("#import-live")).to_have_attribute("data-live-state", "open")
    fits_the_screen(page)
    # A dashboard left open in another tab hears when the import ends.
    dashboard = page.context.new_page()
    dashboard.goto(f"/stores/{store_a.pk}/")
    expect(dashboard.locator("#import-live")).to_have_attribute("data-live-state", "open")

    def after_each_batch(running: ImportJob) -> None:
        # The batch's event is committed: the bar follows it without the page reloading.
        expect(bar).to_have_js_property("value", running.processed, timeout=LIVE_TIMEOUT_MS)
        expect(bar).to_have_js_property("max", 5)
        expect(page.locator('#job [data-count="processed"]')).to_have_text(str(running.processed))

    settings.IMPORT_BATCH_SIZE = 2
    done = run_job(job.pk, owner="browser-test", progress=after_each_batch)
    assert (done.status, done.processed, done.successful, done.failed) == ("completed", 5, 4, 1)

    # The end reloads the page, which then lists the row to fix.
    expect(page.locator("#job [data-status]")).to_have_text("Finished", timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Rows to fix")).to_be_visible()
    expect(bar).to_have_js_property("value", 5)
    expect(page.locator('#job [data-count="successful"]')).to_have_text("4")
    expect(page.locator('#job [data-count="failed"]')).to_have_text("1")
    expect(page.locator("table.problem-rows tbody tr")).to_have_count(1)
    expect(page.locator("table.problem-rows")).to_contain_text("the quantity cannot be negative")
    expect(page.get_by_role("link", name="Download the rows to fix (CSV)")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel the import")).to_have_count(0)
    fits_the_screen(page)

    notice = dashboard.locator("#import-toast")
    expect(notice).to_contain_text(
        "Your import has finished: 4 rows imported, 1 not imported, 0 skipped.",
        timeout=LIVE_TIMEOUT_MS,
    )
    notice.get_by_role("link", name="See the import").click()
    expect(dashboard).to_have_url(re.compile(rf"/stores/{store_a.pk}/imports/jobs/{job.pk}/$"))


@pytest.mark.parametrize("width", [320, 360, 375])
def test_the_upload_form_fits_a_small_phone(open_page, sign_in_as, store_a, width):
    # The file chooser's own width must not widen the drop zone past the screen.
    staff = User.objects.create_user("staff-a@example.com")  # no password: hashing is slow
    StoreMembership.objects.create(user=staff, store=store_a, role="staff")
    page = open_page(viewport={"width": width, "height": 800})
    sign_in_as(page, staff)
    page.goto(f"/stores/{store_a.pk}/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import stock from a file")
    fits_the_screen(page)
