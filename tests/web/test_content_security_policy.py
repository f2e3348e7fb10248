"""Pages carry a Content-Security-Policy that lets only our own scripts run."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

import shelfwatch

pytestmark = pytest.mark.django_db

INLINE_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *values = part.split()
        found[name] = values
    return found


@pytest.mark.parametrize("path", ["/", "/login/", "/subscribe", "/products/", "/no-such-page"])
def test_pages_send_a_policy_that_refuses_inline_and_foreign_scripts(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    scripts = directives(policy)["script-src"]
    assert "'self'" in scripts
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert not any(source.startswith(("http", "*")) for source in scripts)
    assert directives(policy)["object-src"] == ["'none'"]
    assert directives(policy)["frame-ancestors"] == ["'none'"]


def test_api_answers_and_the_api_documentation_carry_no_page_policy(client):
    assert "Content-Security-Policy" not in client.get("/api/v1/products")
    # Swagger UI comes from its CDN with an inline script: a policy would blank the page.
    assert "Content-Security-Policy" not in client.get("/api/v1/docs")


def test_every_inline_handler_in_our_templates_is_allowed_by_its_hash():
    policy = settings.CONTENT_SECURITY_POLICY
    package = Path(shelfwatch.__file__).parent
    handlers = set()
    for template in package.rglob("templates/**/*.html"):
        for match in INLINE_HANDLER.finditer(template.read_text(encoding="utf-8")):
            handlers.add(match.group(1) or match.group(2))
    assert handlers, "the pickers' handlers are expected in the templates"
    for handler in handlers:
        digest = base64.b64encode(hashlib.sha256(handler.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy, f"{handler!r} would be blocked by the policy"


def test_an_empty_setting_sends_no_policy(client, settings):
    settings.CONTENT_SECURITY_POLICY = ""
    assert "Content-Security-Policy" not in client.get("/login/")
