"""The matcher's reasons split into codes and values, so pages can word them for people."""

from __future__ import annotations

import pytest

from shelfwatch.catalog.match_reasons import OTHER, ReasonCode, reason_code
from shelfwatch.catalog.normalize import parse_quantity
from shelfwatch.catalog.similarity import ProductRecord, score_pair


@pytest.mark.parametrize(
    ("reason", "code", "values"),
    [
        ("same barcode", "same_barcode", ()),
        ("different barcodes", "different_barcodes", ()),
        ("same image", "same_image", ()),
        ("same image (3 bits apart)", "same_image", ("3",)),
        ("regional name matches", "regional_name", ()),
        ("names sound alike across scripts", "sounds_alike", ()),
        ("name 0.87 similar", "name_similarity", ("0.87",)),
        ("same model number PSLX350H", "same_model", ("PSLX350H",)),
        ("variants of model X100", "model_variants", ("X100",)),
        ("model numbers differ: LX350 vs LX250", "different_models", ("LX350", "LX250")),
        ("model suffixes differ", "model_suffixes_differ", ()),
        ("specifications differ", "specifications_differ", ()),
        ("numbers differ: 16 32", "numbers_differ", ("16 32",)),
        ("edition words differ: pro", "edition_differs", ("pro",)),
        ("platform differs: mac", "platform_differs", ("mac",)),
        ("colour differs: black vs white", "colour_differs", ("black", "white")),
        ("an accessory against the product it fits", "accessory", ()),
        ("same brand", "same_brand", ()),
        ("different brands: Amul vs Mother Dairy", "different_brands", ("Amul", "Mother Dairy")),
        ("brand not in the other name", "brand_not_in_name", ()),
        ("same quantity: 500 g", "same_quantity", ("500 g",)),
        ("quantity differs: 100 g vs 500 g", "different_quantity", ("100 g", "500 g")),
        ("something new", OTHER, ("something new",)),
    ],
)
def test_each_reason_has_its_code_and_values(reason, code, values):
    assert reason_code(reason) == ReasonCode(code, values)


def record(name: str, brand: str = "", quantity: str = "", **more) -> ProductRecord:
    return ProductRecord(
        name=name, brand=brand, quantity=parse_quantity(quantity) if quantity else None, **more
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (record("Amul Butter", "Amul", "100 g"), record("Amul Butter", "Amul", "500 g")),
        (record("Chakki Atta", "Aashirvaad"), record("Chakki Atta", "Pillsbury")),
        (
            record("sony turntable pslx350h", "sony"),
            record("sony ps-lx250h belt-drive turntable", "sony"),
        ),
        (
            record("Tata Salt", barcode="8901234567890"),
            record("Tata Salt Iodised", barcode="8901234567890"),
        ),
        (record("iphone 13 case black"), record("apple iphone 13 white 128gb")),
    ],
)
def test_the_matchers_own_reasons_all_have_codes(a, b):
    reasons = score_pair(a, b).reasons
    assert reasons
    assert [r for r in reasons if reason_code(r).code == OTHER] == []


def test_match_candidates_carry_their_reason_codes(callers):
    callers["admin"].post(
        "/api/v1/products",
        {"name": "Amul Butter", "brand": "Amul", "net_quantity": "500", "net_unit": "g"},
    )
    body = (
        callers["staff_a"]
        .post(
            "/api/v1/catalog/match",
            {"name": "Amul Butter", "brand": "Amul", "net_quantity": "500", "net_unit": "g"},
        )
        .json()
    )
    top = body["candidates"][0]
    codes = [r["code"] for r in top["reason_codes"]]
    assert len(codes) == len(top["reasons"])
    assert "same_brand" in codes and "same_quantity" in codes
    assert {"code": "same_quantity", "values": ["500 g"]} in top["reason_codes"]
