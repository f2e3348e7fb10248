"""Editions, versions, padding and abbreviations in software and electronics listings: how
the matcher must read each kind, on made-up products (no database).

Each kind is checked in a few writings, since a single pair per kind passed while a
neighbouring writing ("compiler 8" / "compiler 9", "std" / "standard") failed."""

from __future__ import annotations

import pytest

from shelfwatch.catalog.matcher_augment import augmented_pairs
from shelfwatch.catalog.normalize import abbreviates
from shelfwatch.catalog.pair_features import FEATURES, pair_evidence
from shelfwatch.catalog.similarity import CorpusStats, ProductRecord, prepare, score_pair
from tests.catalog.listing_pairs import pair_cases

DIFFERENT = {
    "licence word on one side": [
        ("Vantora DesignSuite CS4", "Vantora DesignSuite CS4 Upgrade"),
        ("Nimbex Office Suite 2010 Professional", "Nimbex Office Suite 2010 Professional Upgrade"),
        ("quillon software 55120 pagecraft 7 upgrade win xp", "Pagecraft 7"),
    ],
    "another year": [
        ("Ledgerwise TaxPrep Deluxe 2009", "Ledgerwise TaxPrep Deluxe 2010"),
        ("Ledgerwise TaxPrep 2009 Federal + State", "Ledgerwise TaxPrep 2008 Federal + State"),
        ("Ledgerwise Home Budget 2007 win", "ledgerwise home budget 2006"),
    ],
    "another region": [
        ("Routemaster Street Atlas North Region v3", "Routemaster Street Atlas South Region v3"),
        ("Routemaster Maps Central Region", "Routemaster Maps East Region"),
    ],
    "academic or student": [
        ("Soundforge Mixer Pro 6 Academic", "Soundforge Mixer Pro 6"),
        ("Soundforge Mixer Pro 6 Student Edition", "Soundforge Mixer Pro 6"),
        ("Drafton CAD Designer 12 academic version", "Drafton CAD Designer 12 win"),
    ],
    "another operating system": [
        ("Pixelsmith Photo Studio 4 for Mac", "Pixelsmith Photo Studio 4"),
        ("Pixelsmith Photo Studio 4 (Mac)", "Pixelsmith Photo Studio 4 (Win)"),
        ("Pixelsmith Photo Studio 4 Mac OS X", "Pixelsmith Photo Studio 4 Windows XP Vista"),
        ("Pixelsmith Photo Studio 4 Macintosh", "pixelsmith photo studio 4 pc"),
    ],
    "another version": [
        ("Kodewise Compiler 8", "Kodewise Compiler 9"),
        ("Kodewise Compiler v8.0", "Kodewise Compiler v9"),
        ("Kodewise Compiler Version 8", "Kodewise Compiler 7"),
        ("Questara Saga III", "Questara Saga IV"),
        ("orbitsoft 20417 chessmind 3 win 98 me xp", "Chessmind 2"),
    ],
}
SAME = {
    "vendor, SKU and platform padding": [
        ("orbitsoft 20417 wordquest deluxe win 98 me xp", "WordQuest Deluxe"),
        ("orbitsoft inc. 33871 chessmind 2 win 95 98 me xp", "Chessmind 2"),
        ("galvan media 10342 puzzle palace jewel case win xp vista", "Puzzle Palace"),
        ("Tessaly Interactive 44109 Math Blaster Junior pc cd-rom", "Math Blaster Junior"),
    ],
    "a word written short": [
        ("Tallyho Accounts Prem 2009", "Tallyho Accounts Premium 2009"),
        ("Brixel Designer Prof 5", "Brixel Designer Professional 5"),
        ("Norvale Antivirus Std 2008", "Norvale Antivirus Standard 2008"),
        ("Quorra Backup Ent 4", "Quorra Backup Enterprise 4"),
    ],
    "two words run together": [
        ("Zyra MiniBox Wireless Router", "Zyra Mini Box Wireless Router"),
        ("Guardly SpyShield 5", "Guardly Spy Shield 5"),
        ("Fenwick PhotoMagic Deluxe", "Fenwick Photo Magic Deluxe"),
        ("Orlo AdBlocker Plus", "Orlo Ad Blocker Plus"),
    ],
    "a version written another way": [
        ("Kodex Studio v 17.0", "Kodex Studio v17"),
        ("Kodex Studio 17", "Kodex Studio v17.0"),
        ("Kodex Studio Version 5", "Kodex Studio v5"),
        ("Kodex Studio 5.0", "Kodex Studio 5"),
        ("Questara Saga XI", "Questara Saga 11"),
        ("Questara Saga III Deluxe", "Questara Saga 3 Deluxe"),
    ],
}
_NAMES = [n for kinds in (DIFFERENT, SAME) for pairs in kinds.values() for p in pairs for n in p]
# A small catalog of listings: these names, padding words many listings share, and others.
STATS = CorpusStats.from_names(
    _NAMES
    + ["software win xp", "win 98 me xp software", "for windows", "pc cd-rom", "mac os x"] * 10
    + [f"listing {i} item" for i in range(300)]
)


@pytest.mark.parametrize(("left", "right"), pair_cases(DIFFERENT))
def test_another_edition_version_year_region_or_system_is_another_product(left, right):
    score = score_pair(ProductRecord(left), ProductRecord(right), stats=STATS)
    assert not score.is_match, score


@pytest.mark.parametrize(("left", "right"), pair_cases(SAME))
def test_padded_shortened_joined_and_renumbered_writings_match(left, right):
    score = score_pair(ProductRecord(left), ProductRecord(right), stats=STATS)
    assert score.is_match, score


@pytest.mark.parametrize(
    ("short", "long", "expected"),
    [
        ("prem", "premium", True),
        ("std", "standard", True),
        ("mgr", "manager", True),
        ("dlx", "deluxe", True),
        ("pro", "professional", True),
        ("std", "deluxe", False),  # another first letter
        ("sta", "stand", True),
        ("sx", "standard", False),  # letters not in the word
        ("stad", "standard", False),  # a vowel after the first letter, not a prefix
        ("pro", "pro", False),  # the same word is not an abbreviation
        ("v8", "version", False),
    ],
)
def test_abbreviations_are_prefixes_or_consonants_in_order(short, long, expected):
    assert abbreviates(short, long) is expected


def _feature(left: str, right: str, name: str) -> float:
    evidence = pair_evidence(
        prepare(ProductRecord(left), STATS), prepare(ProductRecord(right), STATS)
    )
    return evidence.values[FEATURES.index(name)]


def test_a_word_numbered_differently_is_a_version_conflict():
    assert _feature("Kodewise Compiler 8", "Kodewise Compiler v9.0", "version_conflict") == 1.0
    assert _feature("Questara Saga III", "Questara Saga 4", "version_conflict") == 1.0
    # The same number written twice ways, or elsewhere in the other name, is no conflict.
    assert _feature("Kodex Studio 17", "Kodex Studio v17.0", "version_conflict") == 0.0
    assert _feature("Kodex Studio 17 Pro", "Kodex Pro 17 Studio", "version_conflict") == 0.0


def test_vendor_skus_and_platform_text_are_not_versions():
    # A SKU after the vendor, or "win 95 98" against "win 98", says nothing of the version.
    brand = ProductRecord("orbitsoft 33871 chessmind 2 win 95 98 me xp", brand="orbitsoft")
    other = ProductRecord("orbitsoft 2 chessmind 2 win 98", brand="orbitsoft")
    evidence = pair_evidence(prepare(brand, STATS), prepare(other, STATS))
    assert evidence.values[FEATURES.index("version_conflict")] == 0.0


def test_pairs_written_again_number_a_shared_word_differently():
    pairs = [
        (ProductRecord("Zyra Wireless Router"), ProductRecord("Zyra Router Wireless N"), 1),
    ] * 40
    made = augmented_pairs(pairs, seed=5, kinds=("renumbered",))
    conflicts = [
        pair_evidence(prepare(a, STATS), prepare(b, STATS)).values[
            FEATURES.index("version_conflict")
        ]
        for a, b, label in made
        if label == 0
    ]
    assert conflicts and 0 < sum(conflicts) < len(conflicts)  # versions some, years others
