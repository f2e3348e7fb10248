"""Fixtures of the assistant's tests: the shop, callers, and the fake model server."""

from __future__ import annotations

import pytest

from shelfwatch.accounts.principal import Principal
from shelfwatch.assistant.tools import Caller
from tests.assistant.shop_data import make_shop
from tests.fakes.llm import API_KEY, FakeLlm


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def caller_at(shop):
    """A Caller at the bakery: as `user` (None: a guest with `session_key`), in `language`."""

    def make(user=None, *, session_key=None, language="en", store=True) -> Caller:
        return Caller(
            principal=Principal(user=user, method="session") if user is not None else None,
            session_key=session_key,
            store=shop.bakery.store if store else None,
            language=language,
        )

    return make


@pytest.fixture(scope="module")
def llm_server():
    with FakeLlm() as server:
        yield server


@pytest.fixture
def fake_llm(llm_server, settings):
    """The fake model, set up as the configured one; `use("gemini")` switches format."""
    llm_server.reset()
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.ASSISTANT_LLM_API_KEY = API_KEY
    settings.ASSISTANT_LLM_MODEL = "fake-model"

    def use(provider: str) -> FakeLlm:
        settings.ASSISTANT_LLM_PROVIDER = provider
        settings.ASSISTANT_LLM_BASE_URL = (
            llm_server.gemini_base if provider == "gemini" else llm_server.openai_base
        )
        return llm_server

    llm_server.use = use
    use("openai")
    return llm_server
