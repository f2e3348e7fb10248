"""The account pages: sign up with a code through the notifications outbox, sign in (a
refused one keeps the email), where a sign-in lands, sign out, forgot and reset password
with an expiring signed link, change password, and the per-IP limit on every form."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from shelfwatch.accounts.models import StoreMembership, User
from shelfwatch.notify.delivery import deliver_due
from shelfwatch.notify.models import Contact, Notification
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-77"


def sign_up(client, email="new@example.com", password=PASSWORD, name="Asha Rao"):
    return client.post("/signup/", {"name": name, "email": email, "password": password})


def test_sign_up_signs_in_and_queues_a_code_that_verifies_the_email(client):
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/signup/verify/"
    user = User.objects.get(email="new@example.com")
    assert user.name == "Asha Rao" and client.session["_auth_user_id"] == str(user.pk)
    contact = Contact.objects.get(user=user, channel="email")
    assert contact.address == "new@example.com" and not contact.is_verified
    # The code goes out through the outbox as any verification code does, link included.
    note = Notification.objects.get(contact=contact, template="verify_code")
    assert note.urgent and "/alerts/confirm/" in note.context["confirm_url"]

    page = client.get("/signup/verify/").content.decode()
    assert "We sent a 6-digit code to <strong>new@example.com</strong>" in page
    wrong = "000000" if note.context["code"] != "000000" else "111111"
    refused = client.post("/signup/verify/", {"code": wrong}).content.decode()
    assert "That code is not the one we sent." in refused
    done = client.post("/signup/verify/", {"code": note.context["code"]}, follow=True)
    assert done.redirect_chain[-1][0] == "/account/"
    contact.refresh_from_db()
    assert contact.is_verified
    assert "Your email address is verified." in done.content.decode() or "verified" in (
        done.content.decode()
    )
    assert 'class="badge in">Verified<' in client.get("/account/").content.decode()


def test_sign_up_refuses_a_taken_email_and_a_weak_password_in_words(client, make_user):
    make_user("taken@example.com")
    taken = sign_up(client, email="taken@example.com").content.decode()
    assert "An account with this email already exists. Sign in, or reset the password." in taken
    weak = sign_up(client, email="fresh@example.com", password="123").content.decode()
    assert "This password is too short." in weak
    assert not User.objects.filter(email="fresh@example.com").exists()
    assert not Notification.objects.exists()


def test_a_wrong_password_keeps_the_email_typed(client, make_user):
    make_user("ava@example.com")
    page = client.post("/login/", {"username": "ava@example.com", "password": "nope"})
    html = page.content.decode()
    assert "Email or password is wrong." in html
    assert re.search(r'name="username" value="ava@example.com"', html)


def test_staff_land_on_their_store_and_shoppers_on_the_shop(client, make_user, store_a):
    staff = make_user("staff@example.com")
    StoreMembership.objects.create(user=staff, store=store_a, role=StoreMembership.Role.STAFF)
    make_user("shopper@example.com")
    staff_login = client.post("/login/", {"username": "staff@example.com", "password": PASSWORD})
    assert staff_login["Location"] == "/stores/"
    assert client.get("/stores/")["Location"] == f"/stores/{store_a.pk}/"
    client.post("/logout/")
    shopper_login = client.post(
        "/login/", {"username": "shopper@example.com", "password": PASSWORD}
    )
    assert shopper_login["Location"] == "/"
    # A `next` still wins over the landing page.
    client.post("/logout/")
    nexted = client.post(
        "/login/?next=/cart/",
        {"username": "staff@example.com", "password": PASSWORD, "next": "/cart/"},
    )
    assert nexted["Location"] == "/cart/"


def test_sign_out_goes_home(client, make_user):
    client.force_login(make_user("ava@example.com"))
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" not in client.session


def test_forgot_password_mails_a_link_that_sets_a_new_password_once(client, make_user, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "shop.test"]
    make_user("ava@example.com")
    sent = client.post("/password/reset/", {"email": "ava@example.com"}, HTTP_HOST="shop.test:8123")
    assert sent["Location"] == "/password/reset/sent/"
    # Nobody learns whether an address has an account: same answer, no mail.
    other = client.post("/password/reset/", {"email": "nobody@example.com"})
    assert other["Location"] == "/password/reset/sent/"
    # The link is queued in the outbox, urgent and sent even to an unverified address.
    queued = Notification.objects.get(template="password_reset")
    assert queued.urgent and queued.contact.address == "ava@example.com"
    assert not queued.contact.is_verified
    assert not mail.outbox
    assert deliver_due().sent == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ava@example.com"] and message.subject == "Reset your Shelfwatch password"
    # The link names the host and port the request came in on.
    link = re.search(r"http://shop\.test:8123(/password/reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    form_url = form_page.redirect_chain[-1][0]
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/password/reset/done/"
    assert User.objects.get(email="ava@example.com").check_password(NEW_PASSWORD)
    # Used once, the link is dead.
    assert "This link no longer works" in client.get(link, follow=True).content.decode()
    # Asking twice before the email has gone makes one email, not two.
    client.post("/password/reset/", {"email": "ava@example.com"})
    client.post("/password/reset/", {"email": "ava@example.com"})
    assert Notification.objects.filter(template="password_reset").count() == 2
    deliver_due()
    client.post("/password/reset/", {"email": "ava@example.com"})
    assert Notification.objects.filter(template="password_reset").count() == 3
    tampered = link.replace(link.split("/")[-2], "set-password-x")
    assert "This link no longer works" in client.get(tampered, follow=True).content.decode()


def test_change_password_needs_the_old_one(client, make_user):
    user = make_user("ava@example.com")
    client.force_login(user)
    assert client.get("/password/change/").status_code == 200
    wrong = client.post(
        "/password/change/",
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    changed = client.post(
        "/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert changed.redirect_chain[-1][0] == "/account/"
    assert "Your password is changed." in changed.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login/", {"username": "ava@example.com", "password": "nope"}),
        ("/signup/", {"email": "x@example.com", "password": "123"}),
        ("/password/reset/", {"email": "ava@example.com"}),
        ("/admin/login/", {"username": "ava@example.com", "password": "nope"}),
    ],
)
def test_account_forms_are_limited_per_ip_like_the_api(client, settings, make_user, path, data):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "auth": "2/h"}
    make_user("ava@example.com")
    for _ in range(2):
        assert client.post(path, data).status_code in (200, 302)
    refused = client.post(path, data)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many tries." in refused.content.decode()
    # Reading the page is not counted.
    assert client.get(path).status_code == 200


def test_the_account_pages_speak_hindi(client):
    client.cookies["django_language"] = "hi"
    page = client.get("/signup/").content.decode()
    assert 'lang="hi"' in page and "खाता बनाएँ" in page and "Create an account" not in page
    assert "Forgot your password?" not in client.get("/login/").content.decode()
