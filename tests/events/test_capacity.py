"""A stream process never promises more streams than its open-files limit can hold."""

from __future__ import annotations

import logging
import resource

import pytest

from shelfwatch.events.capacity import OTHER_FILES, OVERFLOW_CONNECTIONS, stream_capacity
from shelfwatch.events.server import StreamServer


@pytest.fixture
def open_files_limit():
    """Set the soft open-files limit for one test, then put it back."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)

    def set_soft(value: int) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (value, saved[1]))

    yield set_soft
    resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def test_a_limit_the_open_files_allow_is_kept_as_configured(open_files_limit):
    open_files_limit(4096)
    assert stream_capacity(1000) == 1000


def test_a_limit_beyond_the_open_files_is_lowered_with_a_warning(open_files_limit, caplog):
    open_files_limit(4096)
    with caplog.at_level(logging.WARNING, logger="shelfwatch.events"):
        held = stream_capacity(20_000)
    assert held == 4096 - OVERFLOW_CONNECTIONS - OTHER_FILES
    assert "open-files limit (4096)" in caplog.text


def test_the_stream_server_refuses_past_what_it_can_hold(open_files_limit, settings):
    open_files_limit(4096)
    settings.STREAM_MAX_CLIENTS = 20_000
    assert StreamServer().max_streams == 4096 - OVERFLOW_CONNECTIONS - OTHER_FILES
    assert StreamServer(max_streams=7).max_streams == 7
