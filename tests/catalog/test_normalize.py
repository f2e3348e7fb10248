"""Unit parsing and text normalisation for matching (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.catalog.normalize import (
    Quantity,
    code_stem,
    contains_code,
    model_codes,
    normalize_text,
    parse_quantity,
    strip_language_tag,
    to_canonical,
)


def q(amount: str, unit: str) -> Quantity:
    return Quantity(Decimal(amount), unit)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500g", q("500", "g")),
        ("500 gm", q("500", "g")),
        ("500 GMS", q("500", "g")),
        ("500 grams", q("500", "g")),
        ("0.5 kg", q("500", "g")),
        ("0.5kg", q("500", "g")),
        ("1,5 kg", q("1500", "g")),
        ("1 ltr", q("1000", "ml")),
        ("1L", q("1000", "ml")),
        ("1 litre", q("1000", "ml")),
        ("250 ml", q("250", "ml")),
        ("12 pcs", q("12", "pcs")),
        ("pack of 6", q("6", "pcs")),
        ("6 x 200 ml", q("1200", "ml")),
        ("6 \u00d7 200ml", q("1200", "ml")),
        ("200 ml x 6", q("1200", "ml")),
        ("Parle-G Biscuits 100 g (Pack of 6)", q("600", "g")),
        ("Amul Butter 0.5 kg", q("500", "g")),
        ("अमूल मक्खन ५०० ग्राम", q("500", "g")),
        ("ஆவின் நெய் 1 லிட்டர்", q("1000", "ml")),
    ],
)
def test_parse_quantity_reads_each_spelling(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "500", "sony 4gb ram", "lg 52lg50 tv", "Parle-G", "5 Star"])
def test_parse_quantity_finds_none_where_there_is_none(text):
    assert parse_quantity(text) is None


def test_quantities_written_differently_are_equal():
    assert parse_quantity("500g") == parse_quantity("0.5 kg") == to_canonical(Decimal("0.5"), "kg")
    assert parse_quantity("1 l") == parse_quantity("1000 ml")
    assert str(parse_quantity("0.5 kg")) == "500 g"


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        ("500", "g", q("500", "g")),
        ("1.5", "kg", q("1500", "g")),
        ("250", "ml", q("250", "ml")),
        ("2", "l", q("2000", "ml")),
        ("2", "L", q("2000", "ml")),
        ("6", "pcs", q("6", "pcs")),
    ],
)
def test_to_canonical_converts_catalog_units(amount, unit, expected):
    assert to_canonical(Decimal(amount), unit) == expected


@pytest.mark.parametrize("unit", ["furlong", "", "oz", "kgm"])
def test_to_canonical_rejects_an_unknown_unit(unit):
    with pytest.raises(ValueError, match="unknown unit"):
        to_canonical(Decimal(1), unit)


def test_normalize_text_removes_punctuation_and_folds_case():
    assert normalize_text("  Haldiram's ALOO-Bhujia!!  (New) ") == "haldirams aloo bhujia new"
    assert normalize_text("Nescafé Classic") == "nescafe classic"


def test_normalize_text_keeps_indic_scripts_and_their_marks():
    # Vowel signs and viramas are combining marks; dropping them would change the words.
    assert normalize_text("अमूल मक्खन।") == "अमूल मक्खन"
    assert normalize_text("ஆவின் நெய்") == "ஆவின் நெய்"
    assert normalize_text("चितळे बाकरवडी") == "चितळे बाकरवडी"
    assert normalize_text("আমুল মাখন") == "আমুল মাখন"


def test_normalize_text_writes_each_quantity_as_one_token():
    assert normalize_text("Amul Butter 500 gm") == "amul butter 500g"
    assert normalize_text("Amul Butter 500g") == "amul butter 500g"
    assert normalize_text("AMUL BUTTER 0.5 KG") == "amul butter 500g"
    assert normalize_text("Milk 1 Ltr") == "milk 1000ml"
    assert normalize_text("अमूल मक्खन ५०० ग्राम") == "अमूल मक्खन 500g"
    assert normalize_text("lcd 2.7 ' screen") == "lcd 2.7 screen"


def test_model_codes_are_compacted_and_skip_specifications():
    codes = model_codes("Sony PS-LX350H turntable 1080p 320GB, NN4-TS-BLK vgn-aw110j/h 920-000264")
    assert codes == ("pslx350h", "nn4tsblk", "vgnaw110jh", "920000264")
    assert model_codes("Maggi 2-Minute Noodles 70 g") == ()


def test_code_stem_and_containment():
    assert code_stem("dsch50b") == "dsch50"
    assert code_stem("am53bk") == "am53"
    assert code_stem("x50bk") == "x50bk"  # "x50" alone is too short to name a model
    assert contains_code("sonycybershotdsch50b", "dsch50")
    assert not contains_code("flipf4600", "f460")


def test_strip_language_tag():
    assert strip_language_tag("hi-IN:अमूल मक्खन") == "अमूल मक्खन"
    assert strip_language_tag("ta: ஆவின் நெய்") == "ஆவின் நெய்"
    assert strip_language_tag("अमूल मक्खन") == "अमूल मक्खन"


def test_counts_and_versions_joined_to_a_word_are_not_model_numbers():
    assert model_codes("Norton Internet Security users-5") == ()
    assert model_codes("Office 2007 5-user licence win-98") == ()
    assert model_codes("Photoshop v17.0 upgrade") == ()
    # Real codes with a dash stay codes.
    assert model_codes("Sony DSC-H50 PS-LX350H") == ("dsch50", "pslx350h")
