"""Labelled pairs made from the matched pairs of a training set, for what it rarely shows.

A benchmark of one kind of product holds few pairs that differ only in an edition, a year,
a version or a platform, and few matches padded with a vendor, a SKU and platform text or
written with a word cut short or two words run together; a model fitted on it learns
neither. Each matched pair is written again with one such change, labelled by the rule
that holds for any product listing:

- a shared year or version number changed on one side, a licence word on one side
  ("upgrade", "academic"), two different regions or tiers ("east region" / "west region",
  "home" / "professional"), an operating system other than Windows on one side ("for mac")
  or a different one on each: another product (label 0);
- the vendor, a SKU number and platform text around one name, a long word cut to its
  first letters ("prem" / "premium"), two words run together ("mini box" / "minibox"), an
  ordinary word of the data set's own added: the same product (label 1).

The edition and platform words are the matcher's own general ones (`record_features`),
not words of any data set; which change a pair gets is drawn with a fixed seed.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import replace

from .normalize import normalize_text
from .record_features import (
    EDITION_WORDS,
    LICENCE_WORDS,
    OTHER_SYSTEMS,
    PLATFORM_WORDS,
    ProductRecord,
)

Pair = tuple[ProductRecord, ProductRecord, int]

_REGIONS = ("north", "south", "east", "west", "central")
_LICENCES = sorted(LICENCE_WORDS - {*_REGIONS, "region"})
_TIERS = sorted(EDITION_WORDS - LICENCE_WORDS)
_SYSTEMS = sorted(OTHER_SYSTEMS)
_PLATFORM_PADDING = ("win 98 me xp", "windows", "pc", "win xp vista", "for windows")
_YEAR = re.compile(r"(?<![\w.])((?:19|20)\d\d)(?![\w.])")
_SMALL_NUMBER = re.compile(r"(?<![\w.])v?(\d{1,2})(?:\.0)?(?![\w.])")
_MARKED = EDITION_WORDS | PLATFORM_WORDS | {"for", "region"}


def _with_name(record: ProductRecord, name: str) -> ProductRecord:
    return replace(record, name=name)


def _words(*records: ProductRecord) -> set[str]:
    return set(normalize_text(" ".join(r.name for r in records)).split())


def _numbered(name: str, word: str, number: int) -> str:
    """`name` with `number` after the first `word` (matched whole, any case)."""
    return re.sub(rf"(?i)(?<!\w)({re.escape(word)})(?!\w)", rf"\1 {number}", name, count=1)


class _Writer:
    """Writes a matched pair again with one change; `plain` are words of the data set's own
    names (seen in a few of them), the neutral extra words of the twins."""

    def __init__(self, rng: random.Random, plain: list[str]) -> None:
        self.rng = rng
        self.plain = plain

    def renumbered(self, a: ProductRecord, b: ProductRecord) -> Pair:
        """b with a year or a small version number both names share changed: another product."""
        rng = self.rng
        for pattern in (_YEAR, _SMALL_NUMBER):
            shared = set(pattern.findall(a.name.lower())) & set(pattern.findall(b.name.lower()))
            if shared:
                number = rng.choice(sorted(shared))
                other = str(max(1, int(number) + rng.choice((-1, 1, 2))))
                if other == number:
                    other = str(int(number) + 1)
                name = re.sub(rf"(?<![\w.]){number}(?![\w.])", other, b.name, count=1)
                return a, _with_name(b, name), 0
        # Neither names a number: number a word both hold differently ("saga 3" / "saga
        # 4"), or give them different years.
        brand = set(_words(_with_name(a, a.brand), _with_name(b, b.brand)))
        words = sorted(
            w for w in _words(a) & _words(b) if w.isalpha() and len(w) >= 3 and w not in brand
        )
        if words and rng.random() < 0.5:
            word = rng.choice(words)
            number = rng.randint(2, 12)
            return (
                _with_name(a, _numbered(a.name, word, number)),
                _with_name(b, _numbered(b.name, word, number + rng.choice((-1, 1, 2)))),
                0,
            )
        year = rng.randint(1998, 2012)
        return _with_name(a, f"{a.name} {year}"), _with_name(b, f"{b.name} {year + 1}"), 0

    def _added(self, a: ProductRecord, b: ProductRecord, words: list[str], label: int) -> Pair:
        """One word on b's side, or (three times in ten) a different one on each side."""
        if len(words) >= 2 and self.rng.random() < 0.3:
            first, second = self.rng.sample(words, 2)
            return _with_name(a, f"{a.name} {first}"), _with_name(b, f"{b.name} {second}"), label
        return a, _with_name(b, f"{b.name} {self.rng.choice(words)}"), label

    def edition(self, a: ProductRecord, b: ProductRecord) -> Pair:
        """A licence word on one side ("upgrade", "academic"), other regions, or two
        different tiers ("home" / "professional"): another product."""
        taken = _words(a, b)
        draw = self.rng.random()
        if draw < 0.2:
            first, second = self.rng.sample(_REGIONS, 2)
            return (
                _with_name(a, f"{a.name} {first} region"),
                _with_name(b, f"{b.name} {second} region"),
                0,
            )
        if draw < 0.5:
            first, second = self.rng.sample([w for w in _TIERS if w not in taken], 2)
            return _with_name(a, f"{a.name} {first}"), _with_name(b, f"{b.name} {second}"), 0
        return a, _with_name(b, f"{b.name} {self.rng.choice(_LICENCES)}"), 0

    def platform(self, a: ProductRecord, b: ProductRecord) -> Pair:
        """An operating system other than Windows on one side, or two different ones."""
        system = self.rng.choice(_SYSTEMS)
        if self.rng.random() < 0.5:
            return (
                _with_name(a, f"{a.name} for windows"),
                _with_name(b, f"{b.name} for {system}"),
                0,
            )
        return a, _with_name(b, f"{b.name} for {system}"), 0

    def extra_word(self, a: ProductRecord, b: ProductRecord) -> Pair | None:
        """The twin of `edition` and `platform`: plain words of the data set in their place,
        the same product; so that the marked word, not any extra word, is what counts."""
        taken = _words(a, b)
        words = [w for w in self.rng.sample(self.plain, min(8, len(self.plain))) if w not in taken]
        return self._added(a, b, words, 1) if len(words) >= 2 else None

    def padded(self, a: ProductRecord, b: ProductRecord) -> Pair:
        """The vendor, a SKU number and platform text around b's name: the same product."""
        vendor = b.brand or a.brand
        sku = str(self.rng.randint(10000, 99999))
        parts = [vendor, sku, b.name, self.rng.choice(_PLATFORM_PADDING)]
        return a, _with_name(b, " ".join(p for p in parts if p)), 1

    def cut_word(self, a: ProductRecord, b: ProductRecord) -> Pair | None:
        """A long word both names hold cut to its first 3-4 letters on b's side."""
        a_words = _words(a)
        words = b.name.split()
        long = [
            i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha() and w.lower() in a_words
        ]
        if not long:
            return None
        i = self.rng.choice(long)
        words[i] = words[i][: self.rng.randint(3, 4)]
        return a, _with_name(b, " ".join(words)), 1

    def joined(self, a: ProductRecord, b: ProductRecord) -> Pair | None:
        """Two neighbouring words of b run together."""
        words = b.name.split()
        spots = [
            i
            for i in range(len(words) - 1)
            if words[i].isalpha()
            and words[i + 1].isalpha()
            and min(len(words[i]), len(words[i + 1])) >= 3
        ]
        if not spots:
            return None
        i = self.rng.choice(spots)
        joined = [*words[:i], words[i] + words[i + 1].lower(), *words[i + 2 :]]
        return a, _with_name(b, " ".join(joined)), 1


KINDS = ("renumbered", "edition", "platform", "extra_word", "padded", "cut_word", "joined")
_DIFFERENT = ("renumbered", "edition", "platform")
_SAME = ("extra_word", "padded", "cut_word", "joined")


def _plain_words(pairs: list[Pair]) -> list[str]:
    """Words seen in 2-5 of the pairs' names: ordinary words of the data set's own."""
    counts: Counter[str] = Counter()
    seen: set[ProductRecord] = set()
    for a, b, _ in pairs:
        for record in (a, b):
            if record not in seen:
                seen.add(record)
                counts.update(_words(record))
    return sorted(
        w
        for w, n in counts.items()
        if 2 <= n <= 5 and w.isalpha() and len(w) >= 4 and w not in _MARKED
    )


def augmented_pairs(
    pairs: list[Pair], *, seed: int = 7, kinds: tuple[str, ...] = KINDS
) -> list[Pair]:
    """For each matched pair one pair of another product and one of the same product
    written another way, each change drawn at random (fixed seed) among `kinds`."""
    return augmented_with_sources(pairs, seed=seed, kinds=kinds)[0]


def augmented_with_sources(
    pairs: list[Pair], *, seed: int = 7, kinds: tuple[str, ...] = KINDS
) -> tuple[list[Pair], list[int]]:
    """`augmented_pairs` and, for each pair written, the index in `pairs` of the pair it
    was written from (so that cross-validation keeps both in one fold)."""
    rng = random.Random(seed)
    writer = _Writer(rng, _plain_words(pairs))
    out: list[Pair] = []
    sources: list[int] = []
    for index, (a, b, label) in enumerate(pairs):
        if not label:
            continue
        for group in (_DIFFERENT, _SAME):
            makers = [k for k in group if k in kinds]
            x, y = (a, b) if rng.random() < 0.5 else (b, a)
            for kind in rng.sample(makers, len(makers)):
                made = getattr(writer, kind)(x, y)
                if made is not None:
                    out.append(made)
                    sources.append(index)
                    break
    return out, sources
