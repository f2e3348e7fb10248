"""The account pages: sign up with a code through the notifications outbox, sign in (a
refused one keeps the email), where a sign-in lands, sign out, forgot and reset password
with an expiring signed link, change password, and the limits on every form: each
form's own, per IP or per signed-in user, and per account name on sign-in."""

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
    emoji_host = sign_up(client, email="fresh@xn--ls8h.la").content.decode()
    assert "Enter a valid email address." in emoji_host
    assert not User.objects.filter(email="fresh@xn--ls8h.la").exists()
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


FORMS = {
    "/login/": ("login", {"username": "ava@example.com", "password": "nope"}),
    "/signup/": ("register", {"email": "x@example.com", "password": "123"}),
    "/password/reset/": ("password_reset", {"email": "ava@example.com"}),
    "/admin/login/": ("login", {"username": "ava@example.com", "password": "nope"}),
    "/alerts/manage-link/": ("manage_link", {"channel": "email", "address": "a@example.com"}),
}


@pytest.mark.throttle_window(3600)
@pytest.mark.parametrize("path", FORMS)
def test_each_form_is_limited_per_ip_by_its_own_budget(client, settings, make_user, path):
    scope, data = FORMS[path]
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, scope: "2/h"}
    make_user("ava@example.com")
    for _ in range(2):
        assert client.post(path, data).status_code in (200, 302)
    refused = client.post(path, data)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many tries." in refused.content.decode()
    # Another address behind its own IP still gets through.
    assert client.post(path, data, REMOTE_ADDR="10.9.8.7").status_code in (200, 302)
    if path != "/alerts/manage-link/":  # a POST-only form
        assert client.get(path).status_code == 200  # reading the page is not counted


@pytest.mark.throttle_window(3600)
@pytest.mark.parametrize("flooded", sorted({scope for scope, _ in FORMS.values()}))
def test_a_burst_at_one_form_leaves_the_other_forms_open(client, settings, make_user, flooded):
    # People behind one address (an office, a carrier's NAT) share its budgets: when some
    # of them use one form up, the others still sign in, sign up and reset.
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, flooded: "2/h"}
    make_user("ava@example.com")
    flood_path = next(path for path, (scope, _) in FORMS.items() if scope == flooded)
    for _ in range(3):
        client.post(flood_path, FORMS[flood_path][1])
    assert client.post(flood_path, FORMS[flood_path][1]).status_code == 429
    for path, (scope, data) in FORMS.items():
        if scope != flooded:
            assert client.post(path, data).status_code in (200, 302), path


@pytest.mark.throttle_window(3600)
def test_one_account_is_limited_across_addresses_until_its_password_is_reset(
    client, settings, make_user
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_account": "3/h"}
    make_user("ava@example.com")
    make_user("ben@example.com")
    guess = {"username": "ava@example.com", "password": "nope"}
    # Guesses from many addresses, on the site's and the admin's form, with the name typed
    # in other cases: one budget for the account.
    for n, path in enumerate(["/login/", "/admin/login/", "/login/"]):
        form = {**guess, "username": guess["username"].upper() if n else guess["username"]}
        assert client.post(path, form, REMOTE_ADDR=f"198.51.100.{n}").status_code == 200
    right = {"username": "ava@example.com", "password": PASSWORD}
    refused = client.post("/login/", right, REMOTE_ADDR="198.51.100.9")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "Too many sign-in attempts for this account." in page and "/password/reset/" in page
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not held back.
    other = client.post("/login/", {"username": "ben@example.com", "password": PASSWORD})
    assert other.status_code == 302
    client.logout()
    # Resetting the password through the emailed link lets the owner in at once.
    client.post("/password/reset/", {"email": "ava@example.com"})
    deliver_due()
    link = re.search(r"http://[^/\s]+(/password/reset/\S+/)", mail.outbox[-1].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    signed_in = client.post(
        "/login/", {"username": "ava@example.com", "password": NEW_PASSWORD}, REMOTE_ADDR="1.2.3.4"
    )
    assert signed_in.status_code == 302


@pytest.mark.throttle_window(3600)
def test_forms_behind_a_sign_in_are_limited_per_user(client, settings, make_user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "password_change": "2/h"}
    wrong = {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    client.force_login(make_user("ava@example.com"))
    assert [client.post("/password/change/", wrong).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    # Someone else signed in from the same address has their own budget.
    client.force_login(make_user("ben@example.com"))
    assert client.post("/password/change/", wrong).status_code == 200


def test_the_account_pages_speak_hindi(client):
    client.cookies["django_language"] = "hi"
    page = client.get("/signup/").content.decode()
    assert 'lang="hi"' in page and "खाता बनाएँ" in page and "Create an account" not in page
    assert "Forgot your password?" not in client.get("/login/").content.decode()
