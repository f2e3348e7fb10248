"""Reading bodies as they arrive: lines and JSON list items, whatever the chunk boundaries."""

from __future__ import annotations

import json

import pytest

from shelfwatch.feeds.sources.text_stream import MalformedJson, json_list_items, lines

DOCUMENT = (
    '\ufeff [ {"id": 1, "name": "Chai \u0915\u093e", "tags": ["a]", ",b"]},'
    ' 12345678901234567890 , -0.5e3, "text with \\" quote", true, null,'
    ' {"nested": {"deep": [1, [2, [3]]]}}, 7 ]  \n'
)


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 64, 100_000])
def test_list_items_match_a_whole_parse_at_any_chunk_size(size):
    body = DOCUMENT.encode()
    expected = json.loads(DOCUMENT.lstrip("\ufeff"))
    assert list(json_list_items(iter(chunked(body, size)))) == expected


def test_items_come_before_the_rest_of_the_body_is_read():
    pulled = []

    def chunks():
        for chunk in (b'[{"a": 1},', b' {"a": 2}', b"]"):
            pulled.append(chunk)
            yield chunk

    items = json_list_items(chunks())
    assert next(items) == {"a": 1}
    assert len(pulled) == 1
    assert list(items) == [{"a": 2}]


@pytest.mark.parametrize("body", [b"[]", b" [ ] ", b"\xef\xbb\xbf[]"])
def test_empty_lists(body):
    assert list(json_list_items(iter(chunked(body, 1)))) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not a JSON list"),
        (b'{"rows": []}', "not a JSON list"),
        (b"[1,]", "Expecting value"),
        (b"[1 2]", "expected ',' or ']' at character 3"),
        (b"[1, 2", "expected ',' or ']'"),
        (b"[1, ", "ends before its closing bracket"),
        (b'[{"a": }]', "Expecting value at character 7"),
        (b"[1] [2]", "extra data after the list"),
    ],
)
def test_malformed_bodies_say_where(body, message):
    with pytest.raises(MalformedJson, match=message.replace("[", r"\[").replace("]", r"\]")):
        list(json_list_items(iter(chunked(body, 2))))


def test_lines_keep_their_ends_across_chunks():
    body = '\ufeffa,b\r\n1,"x\ny"\r\n2,z'.encode()
    assert "".join(lines(iter(chunked(body, 3)))) == 'a,b\r\n1,"x\ny"\r\n2,z'
    assert list(lines(iter([body]))) == ["a,b\r\n", '1,"x\n', 'y"\r\n', "2,z"]
