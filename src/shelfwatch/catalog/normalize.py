"""Text, unit and model-number normalisation for product matching.

Pure functions with no Django imports, so the matcher can run anywhere (imports, benchmarks,
tests without a database).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

__all__ = [
    "Quantity",
    "abbreviates",
    "code_stem",
    "compact",
    "contains_code",
    "model_codes",
    "network_generation",
    "normalize_text",
    "parse_quantity",
    "strip_language_tag",
    "to_canonical",
    "tokens",
]

# Spelling -> (canonical base unit, factor to that base unit). Indic spellings are included
# because shop labels often print the unit in the local script ("500 ग्राम").
_UNIT_ALIASES: dict[str, tuple[str, Decimal]] = {}


def _alias(base: str, factor: str, *spellings: str) -> None:
    for spelling in spellings:
        _UNIT_ALIASES[spelling] = (base, Decimal(factor))


_alias("g", "1", "g", "gm", "gms", "gr", "grm", "grms", "gram", "grams", "gramme", "grammes")
_alias("g", "1", "ग्राम", "ग्रा", "ग्रॅम", "கிராம்", "গ্রাম")
_alias("g", "1000", "kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme")
_alias("g", "1000", "किलो", "किग्रा", "किलोग्राम", "கிலோ", "কেজি")
_alias("g", "0.001", "mg", "mgs", "milligram", "milligrams")
_alias("ml", "1", "ml", "mls", "millilitre", "millilitres", "milliliter", "milliliters")
_alias("ml", "1", "मिली", "மிலி", "মিলি")
_alias("ml", "10", "cl")
_alias("ml", "1000", "l", "lt", "ltr", "ltrs", "litre", "litres", "liter", "liters")
_alias("ml", "1000", "लीटर", "लिटर", "லிட்டர்", "লিটার")
_alias("pcs", "1", "pc", "pcs", "piece", "pieces", "nos", "units", "count", "ct", "sachets")
_alias("pcs", "12", "dozen")

_UNIT_RE = "|".join(re.escape(u) for u in sorted(_UNIT_ALIASES, key=len, reverse=True))
# A number: "500", "0.5", ".5", "1,5" (decimal comma) or "1,000" (thousands).
_NUM = r"(?:\d+(?:[.,]\d+)?|\.\d+)"
# The unit must end the word: "4gb" is not 4 g and "52lg50" is not 52 l. Indic vowel signs
# are not \w in Python, so the script blocks are listed explicitly.
_END = r"(?![^\W\d_]|[\u0900-\u0dff])"
_START = r"(?<![\w.])"  # "p6000" holds no quantity
_MEASURE_BODY = rf"({_NUM})\s*({_UNIT_RE}){_END}"
_MEASURE = _START + _MEASURE_BODY
_COUNT = r"(\d{1,3})"
_TIMES = "\\s*[x\u00d7*]\\s*"  # x, the multiplication sign or *
# Alternatives in priority order; at one position the first that matches wins, so
# "6 x 200 ml" is read as a multipack before "6" could be read alone.
_QUANTITY_RE = re.compile(
    "|".join(
        [
            rf"(?P<cm>{_START}{_COUNT}{_TIMES}{_MEASURE_BODY})",
            rf"(?P<mc>{_MEASURE}{_TIMES}{_COUNT}(?!\d|\s*{_UNIT_RE}{_END}))",
            rf"(?P<mp>{_MEASURE}[\s(,\-]*(?:pack|pk|set) of {_COUNT}(?!\d))",
            rf"(?P<m>{_MEASURE})",
            rf"(?P<po>(?:pack|pk|set|box) of {_COUNT}(?!\d))",
            rf"(?P<np>{_START}{_COUNT}\s*(?:pack|pk){_END})",
        ]
    )
)

# "3g" and "4g" beside a phone or network word are a network generation ("iphone 3g", "4g lte
# modem"), not grams.
_NETWORK_GENERATION = re.compile(r"^[2-5]\s?g$")
_NETWORK_WORDS = re.compile(
    r"(?<![a-z])(?:i?phone|smartphone|ipad|mobile|cell|cellular|gsm|lte|umts|hspa|network|"
    r"modem|dongle|sim|unlocked|wireless|broadband|router|hotspot)(?![a-z])"
)
# ' and its typographic look-alikes: "Haldiram's" -> "haldirams".
_APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc`\u00b4")
_LANG_TAG_RE = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})*:", re.IGNORECASE)
# A short number then letters is a size or a word ("1080p", "320gb", "2minute"), not a model.
_SPEC_RE = re.compile(r"^\d{1,5}[a-z]+$")
# A word and a small count joined by a dash or slash ("users-5", "5-user", "pack/2",
# "win-98"), or a version ("v17.0"): a count or a version of something, not a model number.
_SLASH_SUFFIX = re.compile(r"(?<!\S)(\S*[a-z]\S*\d[a-z0-9]*)\s*/\s*([a-z]{1,3})(?![\w/])")
_COUNTED_WORD_RE = re.compile(
    r"^(?:[a-z]{3,}[-/.]\d{1,3}|\d{1,3}[-/.][a-z]{3,}|v\d{1,3}(?:\.\d{1,3})*)$"
)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A net quantity in a canonical base unit: grams, millilitres or pieces."""

    amount: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{_format_amount(self.amount)} {self.unit}"

    @property
    def token(self) -> str:
        """The single-word form used inside normalised text, e.g. "500g"."""
        return f"{_format_amount(self.amount)}{self.unit}"


def _format_amount(amount: Decimal) -> str:
    return format(amount.normalize(), "f")  # "500", "0.5", "13.2": no exponent, no zeros


def _to_decimal(number: str) -> Decimal:
    # "1,000" is a thousands separator, "1,5" a decimal comma.
    if "," in number:
        head, _, tail = number.partition(",")
        number = head + tail if len(tail) == 3 else f"{head}.{tail}"
    try:
        return Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex only admits numbers
        raise ValueError(f"not a number: {number!r}") from exc


def to_canonical(amount: Decimal | int | str, unit: str) -> Quantity:
    """Convert a structured (amount, unit) to canonical units; ValueError on an unknown unit."""
    key = unicodedata.normalize("NFKC", unit).strip().casefold().rstrip(".")
    try:
        base, factor = _UNIT_ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown unit: {unit!r}") from None
    value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    if value < 0:
        raise ValueError(f"negative quantity: {amount!r}")
    return Quantity(value * factor, base)


def _fold_latin_accents(text: str) -> str:
    # "Nescafé" and "Nescafe" are one brand, so accents on Latin letters go; marks on any other
    # script stay, because an Indic vowel sign or virama is part of the word.
    out: list[str] = []
    base = ""
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if base < "\u0250":
                continue
        else:
            base = ch
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _prepare(text: str) -> str:
    """NFKC, ASCII digits ("५००" -> "500"), Latin accents folded, casefold, no apostrophes."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(
            str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch
            for ch in text
        )
        text = _fold_latin_accents(text)
    return text.casefold().translate(_APOSTROPHES)


def _match_quantity(match: re.Match[str]) -> Quantity:
    groups = match.groupdict()
    # The regex has one (number, unit[, count]) group triple per alternative; find the
    # alternative that matched and read its positional groups.
    parts = [g for g in match.groups() if g is not None]
    kind = next(name for name, value in groups.items() if value is not None)
    if kind == "cm":
        _, count, number, unit = parts
        return _scaled(number, unit, int(count))
    if kind in {"mc", "mp"}:
        _, number, unit, count = parts
        return _scaled(number, unit, int(count))
    if kind == "m":
        _, number, unit = parts
        return _scaled(number, unit, 1)
    return Quantity(Decimal(int(parts[-1])), "pcs")


def _scaled(number: str, unit: str, count: int) -> Quantity:
    base, factor = _UNIT_ALIASES[unit]
    return Quantity(_to_decimal(number) * factor * max(count, 1), base)


def _is_network_generation(match: re.Match[str], text: str) -> bool:
    return bool(_NETWORK_GENERATION.match(match.group(0))) and bool(_NETWORK_WORDS.search(text))


def network_generation(word: str, text: str) -> bool:
    """Whether `word` of `text` ("3g") is a network generation, not grams: beside a phone
    or network word ("iphone 3g")."""
    return bool(_NETWORK_GENERATION.match(word)) and bool(_NETWORK_WORDS.search(text))


def parse_quantity(text: str) -> Quantity | None:
    """The first net quantity written in free text ("Amul Butter 0.5 kg" -> 500 g), or None;
    "3g" beside a phone or network word is a network generation, not a quantity."""
    if not text:
        return None
    text = _prepare(text)
    for match in _QUANTITY_RE.finditer(text):
        if not _is_network_generation(match, text):
            return _match_quantity(match)
    return None


def _canonical_quantities(text: str) -> str:
    def token(match: re.Match[str]) -> str:
        if _is_network_generation(match, text):
            return match.group(0)
        return f" {_match_quantity(match).token} "

    return _QUANTITY_RE.sub(token, text)


@lru_cache(maxsize=4096)
def _keep(ch: str) -> bool:
    # Letters, digits and combining marks stay: Indic vowel signs and viramas are marks, and
    # dropping them changes the word. Punctuation, symbols and format characters (ZWJ) go.
    return unicodedata.category(ch)[0] in "LNM"


def normalize_text(text: str) -> str:
    """Casefolded, NFKC, punctuation-free text with quantities as one token ("0.5 kg" -> "500g").

    Any script survives; a decimal point between digits is kept ("2.5").
    """
    if not text:
        return ""
    text = _canonical_quantities(_prepare(text))
    out: list[str] = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        decimal_point = ch == "." and 0 < i < last and text[i - 1].isdigit()
        if _keep(ch) or (decimal_point and text[i + 1].isdigit()):
            out.append(ch)
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def tokens(text: str) -> tuple[str, ...]:
    """Words of `normalize_text(text)`, in order."""
    return tuple(normalize_text(text).split())


def compact(text: str) -> str:
    """Only the ASCII letters and digits of the casefolded text: "DSC-H50/B" -> "dsch50b"."""
    return re.sub(r"[^a-z0-9]", "", _prepare(text))


def model_codes(text: str) -> tuple[str, ...]:
    """Model-number-like words: "PS-LX350H" -> "pslx350h", "920-000264" -> "920000264".

    A code mixes letters and digits (4+ chars) or is 6+ digits; specifications that are a short
    number plus a unit ("1080p", "320gb", "500g") are left out.
    """
    found: list[str] = []
    # A finish or colour suffix after a slash belongs to the code ("DVP-NC800H / B").
    text = _SLASH_SUFFIX.sub(r"\1/\2", _prepare(text))
    for word in re.split(r"[\s,;:()\[\]{}|+&]+", text):
        code = re.sub(r"[^a-z0-9]", "", word)
        if (
            len(code) >= (6 if code.isdigit() else 4)
            and not code.isalpha()
            and word.isascii()
            and not _SPEC_RE.match(code)
            and not _COUNTED_WORD_RE.match(word)
            and code not in found
        ):
            found.append(code)
    return tuple(found)


def code_stem(code: str) -> str:
    """A model code without a short colour/finish suffix: "dsch50b" -> "dsch50"."""
    # Shops often drop the suffix after the last digit ("nnsd797ss" vs "nnsd797s").
    stem = code.rstrip("abcdefghijklmnopqrstuvwxyz")
    return stem if len(stem) >= 4 and len(code) - len(stem) <= 4 else code


def contains_code(haystack: str, code: str) -> bool:
    """Whether a `compact` text holds the code, not running on into more digits."""
    # "f460" is not inside "f4600"; letters may follow ("f460" is inside "f460b").
    start = haystack.find(code)
    while start != -1:
        end = start + len(code)
        if end == len(haystack) or not haystack[end].isdigit():
            return True
        start = haystack.find(code, start + 1)
    return False


def strip_language_tag(name: str) -> str:
    """Drop a leading language tag such as "hi-IN:" from a regional name."""
    return _LANG_TAG_RE.sub("", name.strip(), count=1).strip()


def abbreviates(short: str, long: str) -> bool:
    """Whether `short` is `long` written short: its first 3+ letters ("prem" of "premium"),
    or its first letter and then consonants of it in order ("std" of "standard", "mgr" of
    "manager", "dlx" of "deluxe"), as listings abbreviate edition and product words."""
    if not (short.isalpha() and long.isalpha()) or len(short) >= len(long) or len(short) < 2:
        return False
    if len(short) >= 3 and long.startswith(short):
        return True
    if short[0] != long[0] or len(short) > 4 or any(ch in "aeiouy" for ch in short[1:]):
        return False
    rest = iter(long[1:])
    return all(ch in rest for ch in short[1:])
