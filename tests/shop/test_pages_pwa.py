"""The installable app: the manifest with icons that exist at their stated sizes, the
service worker and the shell it stores, and an offline page that holds no user data."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from PIL import Image

pytestmark = pytest.mark.django_db


def test_manifest_is_valid_json_with_icons_that_exist(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "Shelfwatch" and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = set()
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        assert icon["src"].startswith("/static/")
        # Served, and really a PNG of the size the manifest claims.
        assert client.get(icon["src"]).status_code == 200
        path = finders.find(icon["src"].removeprefix("/static/"))
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    # Every page links it.
    assert '<link rel="manifest" href="/manifest.webmanifest">' in client.get("/").content.decode()


def test_service_worker_stores_the_shell_and_never_the_api(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    script = response.content.decode()
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", script).group(1))
    assert "/offline" in shell and "/static/web/site.css" in shell
    for url in shell:
        assert not url.startswith("/api/")
        assert client.get(url).status_code == 200, url
    # The API is passed through untouched, and pages are fetched from the network.
    assert 'url.pathname.indexOf("/api/") === 0) { return; }' in script
    version = re.search(r'var CACHE = "shelfwatch-shell-([0-9a-f]{16})"', script).group(1)
    assert version in client.get("/sw.js").content.decode()  # stable between requests


def test_offline_page_holds_nothing_about_the_user(client, make_user):
    client.force_login(make_user("private.person@example.com"))
    assert "private.person@example.com" in client.get("/").content.decode()
    page = client.get("/offline")
    assert page.status_code == 200
    assert "You are offline" in page.content.decode()
    assert "private.person" not in page.content.decode()
    hindi = client.get("/offline", HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "आप ऑफ़लाइन हैं" in hindi
