"""With REDIS_URL set, one rate limit holds across several web processes."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from django.conf import settings

from tests.processes import web_server

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL, reason="needs REDIS_URL (the PostgreSQL + Redis run)"
    ),
]


def test_login_limit_is_shared_by_two_web_processes(subprocess_env, tmp_path):
    env = {**subprocess_env, "THROTTLE_AUTH": "6/d", "THROTTLE_ANON": "1000/m"}
    body = {"email": "nobody@example.com", "password": "wrong-password-123"}
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(web_server(env, tmp_path / f"web{i}.log")) for i in (1, 2)]
        statuses = [
            httpx.post(bases[i % 2] + "/api/v1/auth/login", json=body, timeout=10).status_code
            for i in range(12)
        ]
    # Six attempts in all are allowed, whichever process they reach; the rest are 429.
    assert statuses.count(401) == 6, statuses
    assert statuses.count(429) == 6, statuses
    assert statuses[:6] == [401] * 6
