"""The site around the shop: a branded admin whose front page leaves out the machinery
(still reachable, and linked under "Internals"), the favicon, and a 404 page that offers
a search and a way home."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_admin_is_branded_and_keeps_internals_off_its_front_page(client, make_user):
    client.force_login(make_user("root@example.com", admin=True))
    html = client.get("/admin/").content.decode()
    assert "Shelfwatch admin" in html and "Django administration" not in html
    front, internals = html.split('id="internals"')
    assert "/admin/shop/order/" in front and "/admin/catalog/product/" in front
    for path in (
        "/admin/accounts/refreshtoken/",
        "/admin/notify/pace/",
        "/admin/django_tasks_database/dbtaskresult/",
    ):
        assert path not in front
        assert path in internals
        assert client.get(path).status_code == 200
    # An app's own page still lists its internals.
    assert "/admin/accounts/refreshtoken/" in client.get("/admin/accounts/").content.decode()
    # Every admin page carries the icon, not only the front page.
    for path in ("/admin/", "/admin/shop/order/", "/admin/catalog/product/add/", "/admin/login/"):
        page = (Client() if "login" in path else client).get(path).content.decode()
        assert page.count('rel="icon"') == 1, path
        assert "Shelfwatch admin" in page, path


def test_the_favicon_is_where_browsers_look(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith(".png")


def test_a_missing_page_offers_a_search_and_the_way_home(client):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert '<a class="button primary" href="/">Back to the shop</a>' in html
    assert 'action="/products/"' in html and 'name="q"' in html


def test_a_form_sent_after_its_token_changed_explains_itself(client, make_user):
    # A page left open while its user signed in in another tab sends an old token.
    make_user("ava@example.com")
    browser = Client(enforce_csrf_checks=True)
    browser.get("/login/")
    response = browser.post("/login/", {"username": "ava@example.com", "password": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "This form has expired" in page and 'href="/"' in page
    assert "CSRF verification failed" not in page


def test_a_page_the_account_may_not_open_says_so_in_the_site(client, make_user):
    client.force_login(make_user("shopper@example.com"))
    response = client.get("/analytics/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your account cannot open this page." in page and 'href="/"' in page


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"no boundary at all"),
        ("application/x-www-form-urlencoded", "&".join(f"f{n}=1" for n in range(1100)).encode()),
    ],
)
def test_a_malformed_form_gets_the_site_400_page(client, content_type, body):
    response = client.generic("POST", "/password/reset/", body, content_type=content_type)
    assert response.status_code == 400
    assert "could not read what your browser sent" in response.content.decode()
