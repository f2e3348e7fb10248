"""The one reader of plain whole numbers that every form field, query string, header and
spreadsheet cell goes through."""

from __future__ import annotations

import pytest

from shelfwatch.whole_numbers import plain_whole_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("7", 7), ("123456789", 123456789), ("007", 7), ("000000000", 0)],
)
def test_ascii_digits_are_read_leading_zeros_included(text, expected):
    assert plain_whole_number(text, max_digits=9) == expected


@pytest.mark.parametrize(
    "text",
    [
        "²",  # superscript two: str.isdigit says yes, int() refuses it
        "1²",
        "٣",  # Arabic-Indic three: int() would quietly read it as 3
        "١٢",
        "\uff13",  # fullwidth three
        "+1",
        "-1",
        " 1",
        "1 ",
        "1_000",
        "1,000",
        "1.0",
        "1e3",
        "",
        "abc",
    ],
)
def test_anything_but_plain_ascii_digits_is_none(text):
    assert plain_whole_number(text, max_digits=18) is None


def test_more_digits_than_allowed_is_none():
    assert plain_whole_number("1234567890", max_digits=9) is None
    assert plain_whole_number("123456789", max_digits=9) == 123456789
    # Leading zeros count as digits: the limit is on what the caller is handed, not the value.
    assert plain_whole_number("0000000001", max_digits=9) is None


def test_a_huge_digit_string_is_refused_without_converting_it():
    # int() itself raises on strings past its 4300-digit limit; the reader never gets there.
    assert plain_whole_number("9" * 5000, max_digits=19) is None
