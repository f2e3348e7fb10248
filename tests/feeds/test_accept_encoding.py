"""Reading Accept-Encoding as RFC 9110 says: gzip's own entry outranks '*'."""

from __future__ import annotations

import pytest

from shelfwatch.feeds.delivery import accepts_gzip


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("identity", False),
        ("", False),
        ("gzip;q=0", False),
        ("*;q=0", False),
        ("*;q=0, gzip", True),
        ("gzip;q=0, *", False),
        ("GZIP;Q=0.5", True),
        ("gzip;q=bogus", True),
    ],
)
def test_gzip_is_served_only_where_the_client_accepts_it(header, gzip):
    assert accepts_gzip(header) is gzip
