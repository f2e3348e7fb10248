"""Whether one listing is an accessory or a thing sold for the product the other listing
names: a case, a charger, a battery "for" a device is another product than the device,
however many of the device's words it repeats."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from .record_features import PreparedRecord

# How much of the device's word weight the thing's name must repeat for the rule to hold:
# "replacement battery for fotika dx200 camera" repeats all of "fotika dx200 digital
# camera" but "digital".
_FITS_COVER = 0.8


def accessory_one_side(a: PreparedRecord, b: PreparedRecord) -> bool:
    """One name is an accessory ("case for kelvo nano", "kelvo player case") and the other
    neither is one nor names that accessory: the accessory, not the product it fits."""
    for x, y in ((a, b), (b, a)):
        if x.accessories and not y.accessories:
            # "mount" / "mounting kit", "charger" / "charging cradle" name it too.
            stems = {t[:5] for t in x.accessories}
            if not any(t[:5] in stems for t in y.words if t.isalpha()):
                return True
    return False


def _misspelt(word: str, others: list[str]) -> bool:
    return bool(process.extractOne(word, others, scorer=fuzz.ratio, score_cutoff=80))


def made_for_other(a: PreparedRecord, b: PreparedRecord) -> bool:
    """One name is a thing sold for a product ("hard shell case for kelvo nano") and the
    other names none of what that thing is, nor is sold for anything itself: the other is
    the product it fits ("kelvo nano 4gb"), not the thing."""
    return any(
        x.made_for and not y.made_for and _names_none_of(x.made_for, y) for x, y in ((a, b), (b, a))
    )


def _names_none_of(thing: tuple[str, ...], y: PreparedRecord) -> bool:
    """Whether `y` names none of the words of `thing`: not the same, run together ("cush
    top" / "cushtop") nor misspelt."""
    others = [t for t in y.words if t.isalpha()]
    stems = {t[:5] for t in others}
    return not any(
        t[:5] in stems or (len(t) >= 4 and t in y.joined) or (len(t) >= 5 and _misspelt(t, others))
        for t in thing
    )


def accessory_of_other(
    a: PreparedRecord, b: PreparedRecord, cover_a: float, cover_b: float
) -> bool:
    """One name is a thing sold for the product the other names: a thing "for" a product
    that the other does not name (`made_for_other`) repeating at least 80 % of the other's
    word weight (`cover_a`, `cover_b`: the share of each name's weight the other holds), or
    an accessory head word ("... case") on a name holding every word of the other."""
    for x, y, cover_y in ((a, b, cover_b), (b, a, cover_a)):
        if y.made_for or y.accessories:
            continue
        if x.made_for and cover_y >= _FITS_COVER and _names_none_of(x.made_for, y):
            return True
        if x.accessories and y.words and set(y.words) <= set(x.words):
            return True
    return False
