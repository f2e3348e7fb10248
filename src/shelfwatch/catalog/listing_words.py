"""Words that mark what a listing is: its colour, its edition, licence or tier, the platform
it runs on, and whether it is an accessory sold to fit another product.

Short general lists of software and electronics listings, not words of any one data set;
`record_features` reads a record's words through them.
"""

from __future__ import annotations

from collections.abc import Sequence

# Colour is how electronics (and some packaged goods) tell variants apart.
_COLOUR_TEXT = """
    black white silver gold red blue green pink purple violet yellow orange grey gray brown
    beige cyan magenta titanium graphite navy cherry plum bronze chrome ivory maroon teal
    turquoise"""
COLOURS = frozenset(_COLOUR_TEXT.split())
# A colour word before one of these names a feature, not the product's colour ("red eye
# reduction", "blue ray", "white balance").
_NOT_COLOUR_TEXT = "eye eyes ray tooth balance noise"
NOT_COLOUR_AFTER = frozenset(_NOT_COLOUR_TEXT.split())
# Words that name an edition, a licence or a platform: two listings that differ in one of
# them are usually two products ("upgrade", "academic", "for mac", "east region"). General
# words of software and electronics listings, not taken from any one data set's records.
# Licence and region words make another product on one side alone ("cs3" / "cs3 upgrade");
# tier words often pad one listing of the same product ("home", "pro", "kit"), so only two
# different ones ("home" / "professional") say much.
_LICENCE_TEXT = """
    upgrade upgrades academic student students teacher edu education trial oem renewal
    subscription license licence licenses expansion addon
    east west north south central region"""
LICENCE_WORDS = frozenset(_LICENCE_TEXT.split())
_TIER_TEXT = """
    retail full deluxe premium professional pro standard home basic plus ultimate
    enterprise business server personal family lite express essentials special collector
    collectors limited bundle kit"""
EDITION_WORDS = LICENCE_WORDS | frozenset(_TIER_TEXT.split())
# A tier word that begins a kind of product is no edition ("home theater", "home audio").
_NOT_EDITION_TEXT = """
    theater theatre theaters theatres cinema audio stereo entertainment networking security"""
NOT_EDITION_BEFORE = frozenset(_NOT_EDITION_TEXT.split())
# Things sold to fit another product: a listing naming one of them as what it is ("... case",
# "charger for ...") is the accessory, not the product it fits. Not "pouch", "pack" or "box":
# those are how groceries are packed as often as what a shop sells for a device.
_ACCESSORY_TEXT = """
    case cases cover covers skin skins sleeve holster shell charger chargers adapter
    adaptor cable cables battery batteries mount stand dock holder protector protectors
    remote strap cartridge cartridges toner"""
ACCESSORY_WORDS = frozenset(_ACCESSORY_TEXT.split())
_FITS = frozenset({"for", "fits"})
_WITH = frozenset({"with", "w", "and", "plus", "includes", "including"})
_TRAILING = COLOURS | {"finish", "in", "color", "colour"}
_PLATFORM_TEXT = """
    mac macintosh osx win windows linux unix pc xbox ps2 ps3 ps4 psp wii nintendo ds
    playstation ipod iphone ipad android palm"""
PLATFORM_WORDS = frozenset(_PLATFORM_TEXT.split())
# The platform a PC listing means when it names none: "win xp" padding one listing says
# nothing against the other, while "for mac" on one side names another product. Devices
# ("ipod") on one side are mostly accessories that fit them, so only operating systems count
# there.
DEFAULT_PLATFORMS = frozenset({"win", "windows", "pc"})
OTHER_SYSTEMS = frozenset({"mac", "macintosh", "osx", "linux", "unix"})


def singular(word: str) -> str:
    """An English plural made singular, plainly ("batteries" -> "battery", "cases" -> "case")."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def accessories(words: Sequence[str]) -> list[str]:
    """Accessory words the name is led by: before "for"/"fits", or its last word that is not
    a number or code ("silicone case for ...", "... 8gb case"); singular."""
    # The head word is the last one but a colour ("mount black finish"); an accessory that
    # comes with the product ("... with ipod dock", "trackball w/ps2 adapter") is no head.
    letters = [i for i, t in enumerate(words) if t.isalpha() and t not in _TRAILING]
    last = letters[-1] if letters else -1
    if any(t in _WITH for t in words[:last]):
        last = -1
    return [
        singular(t)
        for i, t in enumerate(words)
        if t in ACCESSORY_WORDS and (i == last or (i + 1 < len(words) and words[i + 1] in _FITS))
    ]


def _with_next(words: Sequence[str]) -> zip:
    # Each word with the one after it ("" after the last); no words, no pairs.
    return zip(words, [*words[1:], ""][: len(words)], strict=True)


def colours(words: Sequence[str]) -> list[str]:
    """The colour words of a name, those naming a feature ("red eye") apart."""
    return [t for t, nxt in _with_next(words) if t in COLOURS and nxt not in NOT_COLOUR_AFTER]


def editions(words: Sequence[str]) -> list[str]:
    """The edition, licence and tier words of a name, those beginning a kind of product
    ("home theater") apart."""
    return [
        t for t, nxt in _with_next(words) if t in EDITION_WORDS and nxt not in NOT_EDITION_BEFORE
    ]


def made_for(words: Sequence[str], brand: frozenset[str]) -> list[str]:
    """The words naming what a listing is when it is sold for something else ("hard shell
    case" of "hard shell case for kelvo nano"): those before its first "for" or "fits", the
    brand's and numbers apart; none when nothing comes before or after it."""
    for i, t in enumerate(words):
        if t in _FITS:
            if i + 1 >= len(words):
                return []
            return [w for w in words[:i] if w.isalpha() and len(w) >= 3 and w not in brand]
    return []
