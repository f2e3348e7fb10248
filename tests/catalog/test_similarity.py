"""Scoring product pairs: the semantics a grocery catalog needs (no database)."""

from __future__ import annotations

from pathlib import Path

from shelfwatch.catalog.matcher_model import load_model
from shelfwatch.catalog.matcher_training import grocery_pairs, grocery_stats
from shelfwatch.catalog.normalize import parse_quantity
from shelfwatch.catalog.pair_features import FEATURES, pair_evidence
from shelfwatch.catalog.similarity import (
    CANDIDATE_THRESHOLD,
    MATCH_THRESHOLD,
    CorpusStats,
    PairScore,
    ProductRecord,
    prepare,
    score_many,
    score_pair,
)

PAIRS = Path(__file__).resolve().parent.parent / "data" / "grocery_pairs.csv"


def product(name: str, brand: str = "", quantity: str = "", regional: str = "", **kw):
    return ProductRecord(
        name=name,
        brand=brand,
        quantity=parse_quantity(quantity) if quantity else None,
        regional_names=tuple(r for r in regional.split("|") if r),
        **kw,
    )


def test_thresholds_are_ordered():
    assert 0 < CANDIDATE_THRESHOLD < MATCH_THRESHOLD < 1


def test_shipped_model_is_versioned_and_fitted_on_these_features():
    model = load_model()
    assert model.version and model.features == FEATURES
    assert model.feature.shape[0] > 0
    assert load_model() is model  # read once per process


def test_same_product_written_differently_matches():
    a = product("Amul Butter", "Amul", "500 g")
    b = product("AMUL Pasteurised Butter 0.5 kg", "AMUL")
    result = score_pair(a, b)
    assert isinstance(result, PairScore)
    assert result.is_match
    assert "same brand" in result.reasons
    assert "same quantity: 500 g" in result.reasons


def test_same_barcode_is_decisive():
    a = product("Butter", barcode="8901262010016")
    b = product("Salted table butter", "Amul", barcode="08901262010016")
    result = score_pair(a, b)
    assert result.score >= 0.99
    assert "same barcode" in result.reasons


def test_different_barcodes_count_against_a_match():
    a = product("Amul Butter", "Amul", "500 g", barcode="8901262010016")
    b = product("Amul Butter", "Amul", "500 g", barcode="8901262010023")
    assert "different barcodes" in score_pair(a, b).reasons
    assert score_pair(a, b).score < score_pair(a, product("Amul Butter", "Amul", "500 g")).score


def test_different_net_quantity_is_a_different_product():
    a = product("Amul Butter", "Amul", "100 g")
    b = product("Amul Butter", "Amul", "500 g")
    result = score_pair(a, b)
    assert result.score < MATCH_THRESHOLD
    assert "quantity differs: 100 g vs 500 g" in result.reasons


def test_quantity_in_the_name_counts_like_the_quantity_field():
    assert score_pair(
        product("Tata Salt 1kg", "Tata"), product("Tata Salt", "TATA", "1000 g")
    ).is_match
    assert not score_pair(product("Tata Salt 1kg"), product("Tata Salt 500 gm")).is_match


def test_different_brands_do_not_match():
    a = product("Aashirvaad Shudh Chakki Atta", "Aashirvaad", "5 kg")
    b = product("Pillsbury Chakki Fresh Atta", "Pillsbury", "5 kg")
    result = score_pair(a, b)
    assert result.score < CANDIDATE_THRESHOLD
    assert "different brands: Aashirvaad vs Pillsbury" in result.reasons


def test_brand_spelt_differently_is_the_same_brand():
    for left, right in [
        ("Haldiram's", "HALDIRAMS"),
        ("Nescafé", "Nescafe"),
        ("Sunfeast", "ITC Sunfeast"),
    ]:
        assert "same brand" in score_pair(product("X 100", left), product("X 100", right)).reasons


def test_variant_of_the_same_brand_does_not_match():
    gold = product("Amul Gold Full Cream Milk", "Amul", "500 ml")
    taaza = product("Amul Taaza Toned Milk", "Amul", "500 ml")
    assert not score_pair(gold, taaza).is_match
    masala = product("Saffola Masala Oats Classic Masala", "Saffola", "500 g")
    tomato = product("Saffola Masala Oats Peppy Tomato", "Saffola", "500 g")
    assert not score_pair(masala, tomato).is_match


def test_word_order_and_typos_still_match():
    assert score_pair(
        product("Tata Salt Lite", "Tata", "1 kg"), product("Tata Lite Salt", "TATA", "1kg")
    ).is_match
    assert score_pair(
        product("Chitale Bakarwadi", "Chitale", "250 g"), product("Chitale Bakarwdi", "", "250g")
    ).is_match


def test_regional_name_matches_the_other_name():
    english = product("Amul Butter", "Amul", "500 g", "hi-IN:अमूल मक्खन|ta:அமுல் வெண்ணெய்")
    hindi = product("अमूल मक्खन", "", "500 ग्राम")
    result = score_pair(english, hindi)
    assert result.is_match
    assert "regional name matches" in result.reasons


def test_name_in_devanagari_matches_the_latin_name_by_sound_and_synonym():
    # "मक्खन" is makhan, Hindi for butter; no regional name ties the two.
    hindi = product("अमूल मक्खन", "", "500 ग्राम")
    assert score_pair(product("Amul Butter", "Amul", "500 g"), hindi).is_match
    assert not score_pair(product("Amul Ghee", "Amul", "500 g"), hindi).is_match


def test_hindi_word_matches_its_english_one():
    haldi = product("Tata Sampann Haldi Powder", "Tata Sampann", "200 g")
    turmeric = product("Tata Sampann Turmeric Powder", "Tata Sampann", "200 g")
    chilli = product("Tata Sampann Red Chilli Powder", "Tata Sampann", "200 g")
    assert score_pair(haldi, turmeric).is_match
    assert not score_pair(haldi, chilli).is_match


def test_regional_names_match_each_other():
    a = product("Aavin Ghee", "Aavin", "1 l", "ta:ஆவின் நெய்")
    b = product("Aavin Pure Cow Ghee", "", "1 ltr", "ஆவின் நெய்")
    assert "regional name matches" in score_pair(a, b).reasons


def test_model_numbers_decide_for_electronics():
    abt = ProductRecord("sony turntable pslx350h", brand="sony")
    buy = ProductRecord("sony ps-lx350h belt-drive turntable", brand="sony")
    other = ProductRecord("sony ps-lx250h belt-drive turntable", brand="sony")
    assert any(r.startswith("same model number") for r in score_pair(abt, buy).reasons)
    assert score_pair(abt, buy).score > score_pair(abt, other).score
    assert any(r.startswith("model numbers differ") for r in score_pair(abt, other).reasons)


def test_prepared_records_score_like_raw_ones():
    stats = CorpusStats.from_names(["amul butter", "amul ghee", "tata salt"])
    a = product("Amul Butter", "Amul", "500 g")
    b = product("Amul Butter 0.5 kg")
    raw = score_pair(a, b, stats=stats)
    prepared = score_pair(prepare(a, stats), prepare(b, stats), stats=stats)
    assert raw == prepared
    evidence = pair_evidence(prepare(a, stats), prepare(b, stats))
    assert len(evidence.values) == len(FEATURES) and evidence.reasons
    assert not evidence.same_barcode
    assert 0.0 <= raw.score <= 1.0


def test_scoring_many_candidates_at_once_scores_each_like_one_pair():
    query = product("Amul Pasteurised Butter", "Amul", "500 g")
    others = [b for _, b, _ in load_pairs()[:50]]
    together = score_many(query, others)
    assert together == [score_pair(query, other) for other in others]


def load_pairs(path: Path = PAIRS) -> list[tuple[ProductRecord, ProductRecord, int]]:
    """The labelled pairs; lines starting with # are comments."""
    return grocery_pairs(path)


def _f1(rows) -> tuple[float, float, float]:
    # Words are weighed with the statistics of the file's own names, as the catalog
    # weighs them with its own (bench/abt_buy_match.py scores these files the same way).
    stats = grocery_stats(rows)
    predicted = [score_pair(a, b, stats=stats).is_match for a, b, _ in rows]
    tp = sum(1 for p, (_, _, y) in zip(predicted, rows, strict=True) if p and y)
    fp = sum(1 for p, (_, _, y) in zip(predicted, rows, strict=True) if p and not y)
    fn = sum(1 for p, (_, _, y) in zip(predicted, rows, strict=True) if not p and y)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


def test_grocery_pairs_f1_with_the_shipped_model():
    rows = load_pairs()
    assert len(rows) >= 300
    precision, recall, f1 = _f1(rows)
    print(f"grocery pairs: n={len(rows)} P={precision:.3f} R={recall:.3f} F1={f1:.3f}")
    assert f1 >= 0.90


def test_heldout_grocery_pairs_f1():
    """Pairs written by hand apart from any tuning (tests/data/grocery_pairs_heldout.csv);
    scored once the model was fitted, never used to fit or tune it.

    The honest figure: F1 0.879 (P 0.916, R 0.844) with model 2026.12.2 (0.882 with
    2026.12.1), under the 0.90 aimed at; the floor guards against regressions and is not
    a target.
    """
    rows = load_pairs(PAIRS.with_name("grocery_pairs_heldout.csv"))
    assert len(rows) >= 200
    precision, recall, f1 = _f1(rows)
    print(f"held-out grocery pairs: n={len(rows)} P={precision:.3f} R={recall:.3f} F1={f1:.3f}")
    assert precision >= 0.90 and f1 >= 0.85


def test_second_heldout_grocery_pairs_f1():
    """The larger held-out set (tests/data/grocery_pairs_heldout2.csv, drawn by
    bench/grocery_heldout_pairs.py before tuning, scored once the model was fitted).

    The honest figure: F1 0.893 (P 1.000, R 0.806) with model 2026.12.2 (0.897 with
    2026.12.1), under the 0.90 aimed at; the floor guards against regressions and is not
    a target.
    """
    rows = load_pairs(PAIRS.with_name("grocery_pairs_heldout2.csv"))
    assert len(rows) >= 300
    precision, recall, f1 = _f1(rows)
    print(f"held-out grocery pairs 2: n={len(rows)} P={precision:.3f} R={recall:.3f} F1={f1:.3f}")
    assert precision >= 0.90 and f1 >= 0.85
