"""Pages a person touches: home, login, API docs, and the admin for every model."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_home_and_docs_render(client):
    assert client.get("/").status_code == 200
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    # Self-hosted: the docs page must work without reaching any CDN.
    assert b"cdn." not in docs.content
    assert b"/static/ninja/swagger-ui-bundle.js" in docs.content
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/auth/login" in schema.json()["paths"]


def test_static_files_are_served_without_debug(client, settings):
    settings.DEBUG = False
    for path in (
        "/static/web/site.css",
        "/static/admin/css/base.css",
        "/static/ninja/swagger-ui.css",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/css")


def test_admin_lists_and_adds_every_registered_model(client, make_user):
    make_user("root@example.com", admin=True)
    assert client.login(email="root@example.com", password=PASSWORD)
    for model in admin.site._registry:
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
        assert client.get(add).status_code in (200, 403), add


def test_admin_is_closed_to_customers(client, make_user):
    make_user("customer@example.com")
    client.login(email="customer@example.com", password=PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_flash_messages_still_work(client, make_user):
    make_user("root@example.com", admin=True)
    client.login(email="root@example.com", password=PASSWORD)
    response = client.post(
        reverse("admin:inventory_store_add"),
        {
            "name": "Lake Deli",
            "slug": "lake-deli",
            "city": "Bhopal",
            "currency": "INR",
            "timezone": "Asia/Kolkata",
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert b"was added successfully" in response.content
    # Shown once, then gone.
    again = client.get(reverse("admin:inventory_store_changelist"))
    assert b"was added successfully" not in again.content


def test_api_responses_set_no_message_cookie(client):
    response = client.get("/health")
    assert "messages" not in response.cookies
