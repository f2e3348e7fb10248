"""Accounts in headless Chromium on a phone: a shopper signs up, types the emailed code,
signs out, mistypes the password (the email stays), signs in, forgets the password and
sets a new one from the mailed link; staff land on their store's dashboard."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.notify.delivery import deliver_due
from shelfwatch.notify.models import Notification
from tests.browser.conftest import PHONE
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a-brand-new-passphrase-9"


def fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_sign_up_verify_sign_out_sign_in_and_reset_on_a_phone(open_page, transactional_db):
    page = open_page(viewport=PHONE)
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    fits_the_screen(page)
    page.get_by_label("Your name").fill("Asha Rao")
    page.get_by_label("Email").fill("asha@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Verify your email")
    code = Notification.objects.get(template="verify_code").context["code"]
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("your email address is verified")
    expect(page.locator("dl.facts")).to_contain_text("Verified")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("asha@example.com")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    expect(page.get_by_label("Email")).to_have_value("asha@example.com")
    # The password field has the focus: only the password needs typing again.
    expect(page.get_by_label("Password")).to_be_focused()

    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("asha@example.com")
    page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    deliver_due()
    link = re.search(r"https?://\S+/password/reset/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password saved")
    page.get_by_role("link", name="Log in").last.click()
    page.get_by_label("Email").fill("asha@example.com")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Account")).to_be_visible()


def test_staff_land_on_their_store_dashboard(open_page, make_user, store_a):
    staff = make_user("leo@example.com")
    StoreMembership.objects.create(user=staff, store=store_a, role=StoreMembership.Role.STAFF)
    page = open_page(viewport=PHONE)
    page.goto("/login/")
    page.get_by_label("Email").fill("leo@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/stores/{store_a.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Corner Bakery")
