"""Reading spreadsheets: encodings, delimiters, header aliases and the values of a row."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from shelfwatch.imports.mapping import InvalidMapping, apply_overrides, guess_mapping
from shelfwatch.imports.reading import CsvFile, UnreadableFile, sniff
from shelfwatch.imports.rows import RowProblem, read_row


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b"name,qty\nDal,5\n", "utf-8"),
        ("\ufeffname,qty\nDal,5\n".encode(), "utf-8-sig"),
        ("name,qty\nDal,5\n".encode("utf-16"), "utf-16"),
        ("name,qty\nCaf\u00e9 \u2013 beans,5\n".encode("cp1252"), "cp1252"),
    ],
)
def test_the_encoding_is_detected_and_the_text_reads_back(raw, encoding):
    sniffed = sniff(io.BytesIO(raw))
    assert sniffed.encoding == encoding
    reader = CsvFile(io.BytesIO(raw), encoding=sniffed.encoding, delimiter=sniffed.delimiter)
    assert reader.read_header() == ["name", "qty"]
    rows = list(reader.rows())
    assert rows[0].line == 2 and rows[0].cells[1] == "5"
    assert rows[0].cells[0] in ("Dal", "Caf\u00e9 \u2013 beans")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected(delimiter):
    text = delimiter.join(["Product Name", "Qty", "MRP"]) + "\n"
    text += delimiter.join(["Amul Butter 500 g", "4", "Rs. 1,299"]) + "\n"
    assert sniff(io.BytesIO(text.encode())).delimiter == delimiter


def test_binary_and_empty_files_are_refused_whole():
    with pytest.raises(UnreadableFile) as binary:
        sniff(io.BytesIO(b"PK\x03\x04\x00\x00binary"))
    assert binary.value.code == "binary_file"
    with pytest.raises(UnreadableFile) as empty:
        sniff(io.BytesIO(b"  \n"))
    assert empty.value.code == "empty_file"


def test_header_aliases_are_recognised_whatever_their_case_and_spacing():
    header = ["Product Name", "closing_stock", "MRP", "EAN", "Item Code", "Net  Quantity", "Notes"]
    assert guess_mapping(header) == {
        "Product Name": "name",
        "closing_stock": "quantity",
        "MRP": "selling_price",
        "EAN": "barcode",
        "Item Code": "sku",
        "Net  Quantity": "net_quantity",
    }


def test_the_uploader_overrides_the_mapping_column_by_column():
    header = ["Item", "Rate", "Notes"]
    mapping = apply_overrides(header, guess_mapping(header), {"notes": "location", "Rate": ""})
    assert mapping == {"Item": "name", "Notes": "location"}
    with pytest.raises(InvalidMapping) as unknown:
        apply_overrides(header, {}, {"Colour": "name"})
    assert unknown.value.code == "unknown_column"
    with pytest.raises(InvalidMapping):
        apply_overrides(header, {}, {"Item": "colour"})


HEADER = ["name", "qty", "mrp", "barcode", "size"]
MAPPING = {"name": "name", "qty": "quantity", "mrp": "selling_price", "barcode": "barcode"}
MAPPING |= {"size": "net_quantity"}


@pytest.mark.parametrize(
    ("price", "amount"),
    [
        ("\u20b91,299.00", "1299.00"),
        ("Rs. 1,299", "1299.00"),
        ("1299", "1299.00"),
        ("45.5", "45.50"),
    ],
)
def test_prices_are_read_as_the_watcher_reads_them(price, amount):
    data = read_row(["Ghee", "3", price, "", ""], HEADER, MAPPING)
    assert data.selling_price == Decimal(amount)


@pytest.mark.parametrize(
    ("size", "amount", "unit"),
    [("500 g", "500", "g"), ("0.5 kg", "500", "g"), ("1 l", "1000", "ml"), ("6 pcs", "6", "pcs")],
)
def test_sizes_are_read_by_the_catalogs_quantity_parser(size, amount, unit):
    data = read_row(["Ghee", "3", "", "", size], HEADER, MAPPING)
    assert (data.net_quantity, data.net_unit) == (Decimal(amount), unit)


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        (["Ghee", "-3", "", "", ""], "qty", "negative_quantity"),
        (["Ghee", "2.5", "", "", ""], "qty", "invalid_value"),
        (["Ghee", "3", "free", "", ""], "mrp", "invalid_price"),
        (["Ghee", "3", "-20", "", ""], "mrp", "invalid_price"),
        (["Ghee", "3", "Rs. 99,999,999,999", "", ""], "mrp", "invalid_price"),
        (["Ghee", "3", "", "8901234567891", ""], "barcode", "invalid_barcode"),
        (["Ghee", "3", "", "", "500 parsecs"], "size", "invalid_size"),
        (["Ghee", "3", ""], "", "ragged_row"),
        (["", "3", "", "", ""], "", "no_product"),
    ],
)
def test_a_bad_value_names_its_column_in_words(cells, column, code):
    with pytest.raises(RowProblem) as problem:
        read_row(cells, HEADER, MAPPING)
    assert problem.value.column == column and problem.value.code == code
    assert problem.value.message


@pytest.mark.parametrize(
    ("size", "code", "words"),
    [
        ("500 parsecs", "invalid_size", "500 parsecs"),
        ("500", "invalid_size", "needs a unit"),
        ("0 g", "invalid_value", "out of range"),
    ],
)
def test_a_bad_size_fails_every_line_that_repeats_it(size, code, words):
    # Sizes are read once per distinct text: the second line must fail just as the first.
    for _ in range(2):
        with pytest.raises(RowProblem) as problem:
            read_row(["Ghee", "3", "", "", size], HEADER, MAPPING)
        assert problem.value.code == code and problem.value.column == "size"
        assert words in problem.value.message


def test_an_over_long_line_is_a_row_error_and_the_next_line_still_reads(settings):
    settings.IMPORT_MAX_LINE_CHARS = 50
    raw = b"name,qty\n" + b"x" * 500 + b",1\nDal,5\n"
    reader = CsvFile(io.BytesIO(raw), encoding="utf-8", delimiter=",")
    reader.read_header()
    first, second = list(reader.rows())
    assert first.line == 2 and "longer than 50" in first.problem
    assert second.line == 3 and second.cells == ["Dal", "5"]
