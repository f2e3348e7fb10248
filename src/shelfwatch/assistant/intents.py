"""The rule-based reading of a shopper's question: which of the six things is asked, about
which product (or order), and in which language to answer.

English, Hindi in Devanagari, and the romanised Hindi people type on phones ("kya amul
butter stock mein hai", "amul butter kitne ka hai") are read alike: the question words are
known per intent, every other word that is not a filler names the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STOCK, PRICE, SIMILAR, ORDER, POINTS, ALERT, HELP = (
    "stock",
    "price",
    "similar",
    "order",
    "points",
    "alert",
    "help",
)

_WORD = re.compile(r"[0-9a-z\u0900-\u097f]+")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")


def _words(text: str) -> set[str]:
    return set(text.split())


# Words only romanised Hindi uses (not English ones like "to" or "me").
_ROMAN_HINDI = _words(
    """kya hai hain mein kitne kitna kitni kahan kahaan mera meri mere batana batao bata dena
    jaisa jaisi jaise wapas vapas kab mujhe milega milegi daam keemat kimat chahiye aayega
    aaye hoga hogi dukaan dukan yahan koi kuch wala wali dikhao abhi"""
)

# Intent words, in the order intents are tried (the first that matches wins).
_INTENT_WORDS: list[tuple[str, set[str]]] = [
    (ORDER, _words("order orders ऑर्डर आर्डर ordr delivery track डिलीवरी")),
    (POINTS, _words("points point loyalty rewards reward पॉइंट पॉइंट्स अंक प्वाइंट")),
    (
        ALERT,
        _words(
            """notify alert batana batao बताना बताएं बताइए सूचित wapas vapas वापस back restock
            restocked"""
        ),
    ),
    (
        SIMILAR,
        _words(
            """similar alternative alternatives instead like जैसा जैसी जैसे समान jaisa jaisi
            jaise milta milti"""
        ),
    ),
    (
        PRICE,
        _words(
            """cost costs price prices much कीमत दाम कितने कितना कितनी kitne kitna kitni daam
            keemat kimat rate mrp"""
        ),
    ),
]
# "in stock ... back" is a stock question, "tell me when it is back" an alert: "back" alone
# counts as an alert only with a "when".
_ALERT_NEEDS_WHEN = {"back", "wapas", "vapas", "वापस"}
_WHEN = {"when", "jab", "जब", "once", "as", "soon"}

# Words that name no product, in English, Hindi and romanised Hindi.
_FILLERS = _words(
    """is are am do does did you your have has got the a an at this that store shop here in
    on stock available availability what whats how many of for me my tell when it its any
    there please show something some to products product items item i can could get buy
    which where let know again be will would and or with left still anything else other find
    search sell selling carry rupees rs now today currently hi hello hey we us own status
    balance once as soon comes come s much about than just see thanks thank placed number no
    arrive arriving reach
    क्या है हैं में मे का की के स्टॉक इस दुकान स्टोर पर मुझे जब आए आये बता देना दीजिए कुछ और
    उपलब्ध मिलेगा मिलेगी मेरा मेरे मेरी कहाँ कहां कोई यहाँ यहां दिखाओ हो तो करें करना कर दो दें
    भी कब तक आएगा पहुंचेगा मिला कैसा रहा अभी बताओ नंबर सामान चीज़ चीज
    kya hai hain mein ka ki ke mera meri mere kahan kahaan kab tak aayega mujhe jab aaye aye
    bata dena dukaan dukan par pe yahan koi hoga hogi tho toh kuch aur milega milegi wala
    wali dikhao samaan abhi chahiye hua pahunchega gaya"""
)


@dataclass(frozen=True)
class Intent:
    """What the question asks: `kind`, the `product` words, an `order_number`, and the
    `language` to answer in."""

    kind: str
    product: str
    order_number: int | None
    language: str


def detect_language(text: str, *, default: str) -> str:
    """ "hi" for Devanagari or romanised Hindi, else `default` (the page's language)."""
    if _DEVANAGARI.search(text):
        return "hi"
    words = set(_WORD.findall(text.lower()))
    if words & _ROMAN_HINDI:
        return "hi"
    return "hi" if default.lower().startswith("hi") else "en"


def _kind(words: list[str]) -> str:
    present = set(words)
    for kind, vocabulary in _INTENT_WORDS:
        hits = present & vocabulary
        if kind == ALERT and hits and hits <= _ALERT_NEEDS_WHEN and not present & _WHEN:
            continue
        if kind == SIMILAR and hits == {"like"} and {"would", "d"} & present:
            continue  # "I'd like butter" asks for butter
        if hits:
            return kind
    return STOCK


def parse(text: str, *, default_language: str = "en") -> Intent:
    """Read `text` into an Intent; a question naming nothing and asking nothing known is
    HELP."""
    language = detect_language(text, default=default_language)
    words = _WORD.findall(text.lower().replace("'", " "))
    kind = _kind(words)
    order_number = None
    if kind == ORDER:
        digits = [word for word in words if word.isdigit()]
        order_number = int(digits[0]) if digits and len(digits[0]) <= 12 else None
    intent_words = set().union(*(vocabulary for _kind_name, vocabulary in _INTENT_WORDS))
    product = " ".join(
        word
        for word in words
        if word not in _FILLERS
        and word not in intent_words
        and not (kind == ORDER and word.isdigit())
    )
    if kind in (STOCK, PRICE, SIMILAR, ALERT) and not product:
        kind = HELP
    if kind in (ORDER, POINTS):
        product = ""
    return Intent(kind=kind, product=product, order_number=order_number, language=language)
