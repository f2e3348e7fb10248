"""Software and electronics listings the matcher must tell apart or bring together: the
kinds of pairs public product-matching benchmarks hold, written here with made-up products
(no database)."""

from __future__ import annotations

import pytest

from shelfwatch.catalog.matcher_augment import augmented_pairs
from shelfwatch.catalog.normalize import model_codes
from shelfwatch.catalog.similarity import CorpusStats, ProductRecord, score_pair

DIFFERENT = [
    ("Lumatek PhotoForge CS3", "Lumatek PhotoForge CS3 Upgrade"),
    ("Ledgerly Home Tax 2007", "Ledgerly Home Tax 2008"),
    ("Ledgerly Atlas Maps East Region", "Ledgerly Atlas Maps West Region"),
    ("Lumatek Painter 9 Academic", "Lumatek Painter 9"),
    ("Lumatek Painter 9 for Mac", "Lumatek Painter 9 for Windows"),
    ("Lumatek Painter 9 for Mac", "Lumatek Painter 9"),
    ("Questara Saga 11", "Questara Saga 12"),
]
SAME = [
    ("brightway software 40213 wordmaster deluxe win 98 me xp", "Wordmaster Deluxe"),
    ("Tallyho Accounts Prem 2009", "Tallyho Accounts Premium 2009"),
    ("Zyra MiniBox Wireless Router", "Zyra Mini Box Wireless Router"),
    ("Kodex Studio v 17.0", "Kodex Studio v17"),
    ("Questara Saga XI", "Questara Saga 11"),
    ("Guardly SpyShield 5", "Guardly Spy Shield 5"),
]
# Word statistics of a small catalog holding these names, as the catalog's own would be.
STATS = CorpusStats.from_names(
    [name for pair in DIFFERENT + SAME for name in pair]
    + ["wireless router", "software deluxe", "home studio"] * 3
)


@pytest.mark.parametrize(("left", "right"), DIFFERENT)
def test_another_edition_year_region_or_platform_is_another_product(left, right):
    score = score_pair(ProductRecord(left), ProductRecord(right), stats=STATS)
    assert not score.is_match, score


@pytest.mark.parametrize(("left", "right"), SAME)
def test_padded_abbreviated_and_joined_names_still_match(left, right):
    brand = "Brightway" if right == "Wordmaster Deluxe" else ""
    score = score_pair(ProductRecord(left), ProductRecord(right, brand=brand), stats=STATS)
    assert score.is_match, score


def test_a_word_cut_short_is_not_an_edition_difference():
    score = score_pair(
        ProductRecord("Tallyho Accounts Prem 2009"),
        ProductRecord("Tallyho Accounts Premium 2009"),
        stats=STATS,
    )
    assert not any(r.startswith("edition words differ") for r in score.reasons)


def test_the_reasons_name_the_differing_edition_and_platform():
    upgrade = score_pair(
        ProductRecord("Lumatek PhotoForge CS3"), ProductRecord("Lumatek PhotoForge CS3 Upgrade")
    )
    assert "edition words differ: upgrade" in upgrade.reasons
    mac = score_pair(
        ProductRecord("Lumatek Painter 9 for Mac"), ProductRecord("Lumatek Painter 9 for PC")
    )
    assert "platform differs: mac windows" in mac.reasons


def test_user_counts_are_not_model_numbers():
    assert model_codes("Guardly Antivirus 2009 users-5") == ()
    assert model_codes("Guardly Antivirus 3-user") == ()


def test_written_again_pairs_keep_their_meaning():
    pairs = [
        (ProductRecord("Ledgerly Home Tax 2007"), ProductRecord("Ledgerly Home Tax 2007 CD"), 1),
        (ProductRecord("Zyra Wireless Router"), ProductRecord("Zyra Router Wireless N"), 1),
        (ProductRecord("Kodex Studio"), ProductRecord("Lumatek Painter"), 0),
    ] * 20
    made = augmented_pairs(pairs, seed=3)
    assert made == augmented_pairs(pairs, seed=3)  # reproducible
    assert {label for *_, label in made} == {0, 1}
    # Only matched pairs are written again: one of another product, one of the same.
    assert len(made) == 2 * 40
    for a, b, label in made:
        if label == 0:
            assert a.name.lower() != b.name.lower()


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Zesto Peri Peri Sauce", "Zesto Periperi Sauce"),
        ("Zesto Periperi Sauce", "Zesto Peri Peri Sauce"),
    ],
)
def test_a_doubled_word_run_together_is_scored_as_the_same_name(left, right):
    score = score_pair(ProductRecord(left), ProductRecord(right), stats=STATS)
    assert score.is_match, score
