"""Web workers ask every Nth client to reconnect, so keep-alive connections do not stay
piled on the worker that accepted a burst of them."""

from __future__ import annotations

from shelfwatch.ops.connection_rotation import ConnectionRotation


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _served(app, times: int) -> list[list[tuple[str, str]]]:
    seen = []
    for _ in range(times):
        app({}, lambda status, headers, exc_info=None: seen.append(headers))
    return seen


def _closing(headers: list[tuple[str, str]]) -> bool:
    return ("Connection", "close") in headers


def test_every_nth_response_closes_its_connection():
    seen = _served(ConnectionRotation(_app, every=3), 9)
    assert [_closing(headers) for headers in seen] == [False, False, True] * 3
    assert all(("Content-Type", "text/plain") in headers for headers in seen)


def test_rotation_turned_off_keeps_every_connection():
    assert not any(_closing(headers) for headers in _served(ConnectionRotation(_app, every=0), 20))


def test_a_connection_header_the_app_set_is_left_alone():
    def keeps(environ, start_response):
        start_response("200 OK", [("Connection", "keep-alive")])
        return [b"ok"]

    (headers,) = _served(ConnectionRotation(keeps, every=1), 1)
    assert headers == [("Connection", "keep-alive")]
