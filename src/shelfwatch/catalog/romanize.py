"""Product words across scripts and languages: Latin letters for Indic words, a sound key
that spellings of one word share, and a small Hindi/Tamil -> English grocery synonym table.

"अमूल मक्खन", "அமுல்" and "Amul Makhan" are one brand and one thing to a shopkeeper; the
matcher and candidate search compare them through `canonical_words`, which romanises words
in an Indic script (indic-transliteration for Devanagari, Bengali, Gujarati...; Tamil too,
whose single stop letters come out voiced or aspirated and are evened out by the key) and
replaces known Hindi or Tamil grocery words by their English name.

Pure functions, no Django.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from indic_transliteration import sanscript

__all__ = ["SYNONYMS", "canonical_words", "english_for", "romanize", "sound_key"]

# Grocery words by the word a catalog uses most (English, or the Hindi word Indian English
# uses: atta, besan, ghee, paneer, dal), with their other names: Hindi (and a few Tamil,
# Marathi, Bengali) words in their usual Latin spellings, and English phrases. Kept short
# and general on purpose: the staples a kirana shop lists, not the words of any one data
# set. A Latin word must be spelt as listed; a word written in an Indic script is looked up
# by its `sound_key`, so "मक्खन" (makkhan) finds "makhan".
SYNONYMS: dict[str, tuple[str, ...]] = {
    "turmeric": ("haldi", "manjal"),
    "red chilli": ("lal mirch", "lal mirchi"),
    "chilli": ("mirch", "mirchi", "milagai", "milakai"),
    "black pepper": ("kali mirch", "kali mirchi"),
    "pepper": ("milagu", "milaku"),
    "coriander": ("dhaniya", "dhania", "malli", "kothamalli"),
    "cumin": ("jeera", "jira", "jeeragam", "seeragam", "cheerakam"),
    "cardamom": ("elaichi", "elachi", "elakkai", "yelakkai"),
    "clove": ("laung", "lavang", "grambu"),
    "cinnamon": ("dalchini", "pattai"),
    "mustard": ("sarson", "rai", "kadugu"),
    "fenugreek": ("methi", "vendhayam"),
    "carom": ("ajwain",),
    "asafoetida": ("hing", "perungayam"),
    "salt": ("namak", "uppu"),
    "sugar": ("cheeni", "chini", "shakkar", "sakkarai", "sarkarai"),
    "jaggery": ("gur", "gud", "vellam"),
    "honey": ("shahad", "shehad", "madhu"),
    "oil": ("tel", "ennai", "ennei"),
    "ghee": ("ghi", "nei", "ney", "clarified butter"),
    "butter": ("makhan", "makkhan", "venna", "vennai", "vennei"),
    "curd": ("dahi", "thayir", "tayir", "doi"),
    "yogurt": ("yoghurt",),
    "milk": ("doodh", "dudh"),
    "buttermilk": ("chaas", "chhaas", "mattha", "moru"),
    "paneer": ("panir", "cottage cheese"),
    "atta": ("whole wheat flour", "wheat flour", "gehun atta", "godhumai maavu", "kothumai mavu"),
    "besan": ("gram flour", "kadalai maavu", "kadalai mavu"),
    "rice flour": ("chawal atta", "arisi maavu", "arisi mavu"),
    "semolina": ("sooji", "suji", "rava", "ravai"),
    "poha": ("flattened rice", "aval", "chivda"),
    "vermicelli": ("sevai", "semiya", "semiyan"),
    "rice": ("chawal", "chaval", "arisi"),
    "toor dal": ("arhar dal", "tuvar dal", "thuvaram paruppu", "tuvaram paruppu", "pigeon peas"),
    "dal": ("daal", "paruppu", "lentils"),
    "chana": ("chole", "chickpeas"),
    "rajma": ("kidney beans",),
    "moong": ("mung", "pasi paruppu", "payaru", "green gram"),
    "urad": ("ulundu", "ulutham paruppu", "black gram"),
    # English words as Hindi writes them come back romanised in their own spelling.
    "powder": ("choorna", "podi", "thool", "paudar", "pauder"),
    "tea": ("chai", "chaya", "theneer"),
    "coffee": ("kaapi", "kapi"),
    "onion": ("pyaz", "pyaaz", "vengayam"),
    "garlic": ("lahsun", "poondu", "vellai poondu"),
    "ginger": ("adrak", "inji"),
    "potato": ("aloo", "alu", "urulai", "urulaikizhangu"),
    "tomato": ("tamatar", "thakkali"),
    "tamarind": ("imli", "puli"),
    "coconut": ("nariyal", "thengai", "thenga"),
    "peanuts": ("moongphali", "mungfali", "verkadalai", "kadalai"),
    "cashew": ("kaju", "mundhiri"),
    "almonds": ("badam",),
    "raisins": ("kishmish", "kismis", "ular thratchai"),
    "pickle": ("achar", "achaar", "oorugai", "urukai"),
    "water": ("pani", "paani", "thanneer"),
    "soap": ("sabun", "saabun", "sopu"),
    "eggs": ("ande", "anda", "muttai"),
    "bread": ("double roti", "pav", "pao"),
}

# Unicode script names (first word of a letter's name) that `romanize` handles.
_SCHEMES = {
    "DEVANAGARI": sanscript.DEVANAGARI,
    "BENGALI": sanscript.BENGALI,
    "GUJARATI": sanscript.GUJARATI,
    "GURMUKHI": sanscript.GURMUKHI,
    "KANNADA": sanscript.KANNADA,
    "MALAYALAM": sanscript.MALAYALAM,
    "ORIYA": sanscript.ORIYA,
    "TAMIL": sanscript.TAMIL,
    "TELUGU": sanscript.TELUGU,
}
# Tamil letters the transliteration scheme leaves as they are: alveolar n and r.
_TAMIL_FIX = str.maketrans({"ன": "ந", "ற": "ர"})


def _script(word: str) -> str:
    for char in word:
        if char.isalpha():
            return unicodedata.name(char, "").split(" ", 1)[0]
    return ""


@lru_cache(maxsize=16384)
def romanize(word: str) -> str:
    """One word in Latin letters, lower case ("मक्खन" -> "makkhana"); Latin words as they are,
    and words of scripts it does not know unchanged."""
    scheme = _SCHEMES.get(_script(word))
    if scheme is None:
        return word
    if scheme == sanscript.TAMIL:
        word = word.translate(_TAMIL_FIX)
    latin = sanscript.transliterate(word, scheme, sanscript.ITRANS)
    # ITRANS writes the anusvara as M; it is spoken n before most consonants ("सरसों").
    latin = latin.replace("M", "n")
    # A word-final inherent vowel is not spoken in Hindi and its neighbours ("amUla" is
    # "amul"); a written long one is ("TATA").
    if scheme != sanscript.TAMIL and len(latin) > 2 and latin.endswith("a"):
        latin = latin[:-1]
    return re.sub(r"[^a-z0-9]", "", latin.lower())


_ASPIRATED = re.compile(r"([bcdgjkpstz])h")
_DOUBLE = re.compile(r"(.)\1+")
# Pairs of sounds the scripts and their spellers do not keep apart: voiced and voiceless
# stops (Tamil writes both with one letter), f and ph, v and w, z and j, q and k.
_EVEN = str.maketrans({"d": "t", "g": "k", "b": "p", "j": "c", "f": "p", "w": "v", "z": "c"})
_EVEN_MORE = str.maketrans({"q": "k", "x": "k"})


@lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """A coarse sound key of a Latin-letter word: spellings of one spoken word tend to share
    it ("makhan", "makkhan" -> "makan"; "aashirvaad", "ashirvad" -> "asirvat")."""
    w = re.sub(r"[^a-z0-9]", "", word.lower())
    if not w or w.isdigit():
        return w
    w = w.replace("ee", "i").replace("oo", "u").replace("ou", "u")
    w = _ASPIRATED.sub(r"\1", w)
    w = w.translate(_EVEN).translate(_EVEN_MORE)
    return _DOUBLE.sub(r"\1", w)


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(sound_key(word) for word in phrase.split())


# A Latin word is looked up as spelt, so an English word never turns into a Hindi one by
# sounding like it ("tall" is not "dal"); a romanised Indic word by its sound key, since
# its romanisation is one spelling among many.
_SPELT: dict[tuple[str, ...], tuple[str, ...]] = {}
_SOUNDS: dict[tuple[str, ...], tuple[str, ...]] = {}
for _english, _spellings in SYNONYMS.items():
    for _spelling in _spellings:
        _SPELT.setdefault(tuple(_spelling.split()), tuple(_english.split()))
        _SOUNDS.setdefault(_phrase_key(_spelling), tuple(_english.split()))
_LONGEST = max(len(key) for key in _SPELT)


@lru_cache(maxsize=16384)
def canonical_words(text_words: tuple[str, ...]) -> tuple[str, ...]:
    """Normalised words with Indic words romanised and Hindi/Tamil grocery words replaced
    by their English ones: ("हल्दी", "powder") -> ("turmeric", "powder")."""
    latin = [romanize(word) for word in text_words]
    indic = [a != b for a, b in zip(latin, text_words, strict=True)]
    keys = [sound_key(word) for word in latin]
    out: list[str] = []
    i = 0
    while i < len(latin):
        for size in range(min(_LONGEST, len(latin) - i), 0, -1):
            window = tuple(latin[i : i + size])
            english = _SPELT.get(window)
            if english is None and any(indic[i : i + size]):
                english = _SOUNDS.get(tuple(keys[i : i + size]))
            if english:
                out.extend(english)
                i += size
                break
        else:
            out.append(latin[i])
            i += 1
    return tuple(out)


def english_for(words: list[str] | tuple[str, ...]) -> list[str]:
    """The English words the synonym table gives for `words` (normalised words in any
    script), or [] when none of them is a Hindi or Tamil grocery word it knows."""
    canonical = canonical_words(tuple(words))
    latin = {romanize(word) for word in words}
    return [word for word in canonical if word not in latin]


_SPELLINGS_OF: dict[str, list[str]] = {}
for _english, _spellings in SYNONYMS.items():
    for _word in _english.split():
        for _spelling in _spellings:
            _SPELLINGS_OF.setdefault(_word, []).extend(_spelling.split())


def spellings_for(word: str) -> list[str]:
    """The Hindi/Tamil Latin-letter words the synonym table lists for an English word
    ("turmeric" -> ["haldi", "manjal"]), or []."""
    return list(dict.fromkeys(_SPELLINGS_OF.get(word, ())))
