"""Write the second held-out grocery pair set, tests/data/grocery_pairs_heldout2.csv.

Run from the repository root:

    .venv/bin/python bench/grocery_heldout_pairs.py

The products below were written by hand (brand and product names in English, in Hindi
written in Latin letters, in Devanagari and in Tamil, and their usual sizes) before the
matcher was tuned, and the pairs are drawn from them with a fixed seed, so the file is
reproducible and was never shaped by the matcher's answers. Kinds of pair:

- same product: other case and size spelling ("500 g" / "0.5 kg"), brand inside the name
  or in its own field, the name only in Devanagari or only in Tamil, the Hindi word for
  the English one (haldi / turmeric), a one- or two-letter typo, words run together;
- different product: another size, another brand of the same thing, another product of
  the same brand, and each of those with one side written in a regional script.
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "grocery_pairs_heldout2.csv"
SEED = 20261206

# brand | brand in Devanagari | brand in Tamil
BRANDS = {
    "Aashirvaad": ("आशीर्वाद", "ஆசீர்வாத்"),
    "Tata Sampann": ("टाटा संपन्न", "டாடா சம்பன்"),
    "Everest": ("एवरेस्ट", "எவரெஸ்ட்"),
    "MDH": ("एमडीएच", "எம்டிஎச்"),
    "Amul": ("अमूल", "அமுல்"),
    "Mother Dairy": ("मदर डेयरी", "மதர் டெய்ரி"),
    "Fortune": ("फॉर्च्यून", "பார்ச்சூன்"),
    "Patanjali": ("पतंजलि", "பதஞ்சலி"),
    "Catch": ("कैच", "கேட்ச்"),
    "Daawat": ("दावत", "தாவத்"),
    "India Gate": ("इंडिया गेट", "இந்தியா கேட்"),
    "Sakthi": ("शक्ति", "சக்தி"),
    "Aachi": ("आची", "ஆச்சி"),
    "Nandini": ("नंदिनी", "நந்தினி"),
    "Rajdhani": ("राजधानी", "ராஜ்தானி"),
    "24 Mantra": ("24 मंत्रा", "24 மந்த்ரா"),
    "Dhara": ("धारा", "தாரா"),
    "Saffola": ("सफोला", "சஃபோலா"),
}

# English name | Hindi name in Latin letters | Devanagari | Tamil | sizes
TYPES = {
    "Turmeric Powder": ("Haldi Powder", "हल्दी पाउडर", "மஞ்சள் தூள்", ["100 g", "200 g", "500 g"]),
    "Red Chilli Powder": ("Lal Mirch Powder", "लाल मिर्च पाउडर", "மிளகாய் தூள்", ["100 g", "200 g"]),
    "Coriander Powder": ("Dhaniya Powder", "धनिया पाउडर", "மல்லி தூள்", ["100 g", "200 g"]),
    "Cumin Seeds": ("Jeera", "जीरा", "சீரகம்", ["100 g", "200 g"]),
    "Whole Wheat Flour": ("Atta", "आटा", "கோதுமை மாவு", ["1 kg", "5 kg", "10 kg"]),
    "Gram Flour": ("Besan", "बेसन", "கடலை மாவு", ["500 g", "1 kg"]),
    "Basmati Rice": ("Basmati Chawal", "बासमती चावल", "பாசுமதி அரிசி", ["1 kg", "5 kg"]),
    "Curd": ("Dahi", "दही", "தயிர்", ["200 g", "400 g", "1 kg"]),
    "Butter": ("Makhan", "मक्खन", "வெண்ணெய்", ["100 g", "500 g"]),
    "Clarified Butter": ("Ghee", "घी", "நெய்", ["500 ml", "1 l"]),
    "Cottage Cheese": ("Paneer", "पनीर", "பனீர்", ["200 g", "500 g"]),
    "Mustard Oil": ("Sarson Tel", "सरसों तेल", "கடுகு எண்ணெய்", ["1 l", "500 ml"]),
    "Honey": ("Shahad", "शहद", "தேன்", ["250 g", "500 g", "1 kg"]),
    "Salt": ("Namak", "नमक", "உப்பு", ["1 kg"]),
    "Sugar": ("Cheeni", "चीनी", "சர்க்கரை", ["1 kg", "5 kg"]),
    "Black Pepper": ("Kali Mirch", "काली मिर्च", "மிளகு", ["50 g", "100 g"]),
    "Toor Dal": ("Arhar Dal", "अरहर दाल", "துவரம் பருப்பு", ["500 g", "1 kg"]),
    "Green Cardamom": ("Elaichi", "इलायची", "ஏலக்காய்", ["50 g", "100 g"]),
    "Garam Masala": ("Garam Masala", "गरम मसाला", "கரம் மசாலா", ["50 g", "100 g"]),
    "Milk": ("Doodh", "दूध", "பால்", ["500 ml", "1 l"]),
}

# Which brand makes what (a hand-written, plausible catalog).
MAKES = {
    "Aashirvaad": ["Whole Wheat Flour", "Salt", "Turmeric Powder", "Red Chilli Powder"],
    "Tata Sampann": ["Turmeric Powder", "Toor Dal", "Gram Flour", "Coriander Powder"],
    "Everest": ["Turmeric Powder", "Red Chilli Powder", "Garam Masala", "Coriander Powder"],
    "MDH": ["Garam Masala", "Red Chilli Powder", "Cumin Seeds", "Black Pepper"],
    "Amul": ["Butter", "Clarified Butter", "Curd", "Cottage Cheese", "Milk"],
    "Mother Dairy": ["Curd", "Milk", "Cottage Cheese", "Clarified Butter"],
    "Fortune": ["Mustard Oil", "Basmati Rice", "Gram Flour", "Sugar"],
    "Patanjali": ["Honey", "Clarified Butter", "Whole Wheat Flour", "Mustard Oil"],
    "Catch": ["Black Pepper", "Cumin Seeds", "Turmeric Powder", "Salt"],
    "Daawat": ["Basmati Rice"],
    "India Gate": ["Basmati Rice"],
    "Sakthi": ["Turmeric Powder", "Coriander Powder", "Red Chilli Powder", "Garam Masala"],
    "Aachi": ["Red Chilli Powder", "Turmeric Powder", "Coriander Powder"],
    "Nandini": ["Milk", "Curd", "Clarified Butter", "Butter"],
    "Rajdhani": ["Gram Flour", "Toor Dal", "Whole Wheat Flour"],
    "24 Mantra": ["Green Cardamom", "Cumin Seeds", "Sugar", "Toor Dal"],
    "Dhara": ["Mustard Oil"],
    "Saffola": ["Honey"],
}

FIELDS = [
    "left_name",
    "left_brand",
    "left_quantity",
    "left_regional",
    "right_name",
    "right_brand",
    "right_quantity",
    "right_regional",
    "label",
]
_OTHER_UNIT = {"g": ("kg", Decimal("0.001")), "kg": ("g", Decimal(1000))}
_OTHER_UNIT |= {"ml": ("l", Decimal("0.001")), "l": ("ml", Decimal(1000))}


def other_spelling(size: str, rng: random.Random) -> str:
    amount, unit = size.split()
    if rng.random() < 0.5:
        to, factor = _OTHER_UNIT[unit]
        value = format((Decimal(amount) * factor).normalize(), "f")
        return f"{value} {to}"
    spelt = {"g": ["gm", "GM", "gms", "G"], "kg": ["KG", "Kg", "kgs"], "ml": ["ML", "mls"]}
    spelt["l"] = ["Ltr", "litre", "L"]
    return f"{amount}{rng.choice(['', ' '])}{rng.choice(spelt[unit])}"


def typo(text: str, rng: random.Random) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.choice(["drop", "swap", "double", "change"])
    if kind == "drop":
        w = w[:j] + w[j + 1 :]
    elif kind == "swap":
        w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    elif kind == "double":
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + rng.choice("aeiourstn") + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def latin(brand: str, kind: str, rng: random.Random) -> str:
    case = rng.choice([str, str.upper, str.lower, str.title])
    return case(f"{brand} {kind}")


def row(left: tuple, right: tuple, label: int) -> dict[str, str]:
    return dict(zip(FIELDS, [*left, *right, str(label)], strict=True))


def same_product(brand: str, kind: str, rng: random.Random) -> dict[str, str]:
    hindi, deva, tamil, sizes = TYPES[kind]
    b_hi, b_ta = BRANDS[brand]
    size = rng.choice(sizes)
    left = (latin(brand, kind, rng), brand, size, "")
    how = rng.choice(["spelling", "devanagari", "tamil", "hindi", "typo", "joined", "regional"])
    if how == "spelling":
        right = (f"{latin(brand, kind, rng)} {other_spelling(size, rng)}", "", "", "")
    elif how == "devanagari":
        right = (f"{b_hi} {deva}", brand, other_spelling(size, rng), "")
    elif how == "tamil":
        right = (f"{b_ta} {tamil}", "", size, "")
    elif how == "hindi":
        right = (latin(brand, hindi, rng), brand, other_spelling(size, rng), "")
    elif how == "typo":
        right = (typo(latin(brand, kind, rng), rng), brand, size, "")
    elif how == "joined":
        words = kind.split()
        joined = "".join(words[:2]) + (" " + " ".join(words[2:]) if len(words) > 2 else "")
        right = (f"{brand} {joined if len(words) > 1 else kind}", brand, size, "")
    else:
        right = (kind, brand, size, f"hi-IN:{b_hi} {deva}|ta-IN:{b_ta} {tamil}")
    if rng.random() < 0.5:
        left, right = right, left
    return row(left, right, 1)


def different_product(brand: str, kind: str, rng: random.Random) -> dict[str, str] | None:
    _hindi, deva, _tamil, sizes = TYPES[kind]
    size = rng.choice(sizes)
    left = (latin(brand, kind, rng), brand, size, "")
    how = rng.choice(["size", "brand", "kind", "brand script", "kind script", "kind hindi"])
    if how == "size":
        others = [s for s in sizes if s != size]
        if not others:
            return None
        right = (latin(brand, kind, rng), brand, rng.choice(others), "")
    elif how in {"brand", "brand script"}:
        others = [b for b, made in MAKES.items() if kind in made and b != brand]
        if not others:
            return None
        other = rng.choice(others)
        o_hi, _o_ta = BRANDS[other]
        if how == "brand":
            right = (latin(other, kind, rng), other, size, "")
        else:
            right = (f"{o_hi} {deva}", "", other_spelling(size, rng), "")
    else:
        others = [k for k in MAKES[brand] if k != kind]
        if not others:
            return None
        other = rng.choice(others)
        o_hindi, o_deva, o_tamil, o_sizes = TYPES[other]
        b_hi, b_ta = BRANDS[brand]
        o_size = size if size in o_sizes else rng.choice(o_sizes)
        if how == "kind":
            right = (latin(brand, other, rng), brand, o_size, "")
        elif how == "kind hindi":
            right = (latin(brand, o_hindi, rng), brand, o_size, "")
        else:
            right = (f"{rng.choice([b_hi, b_ta])} {rng.choice([o_deva, o_tamil])}", "", o_size, "")
    if rng.random() < 0.5:
        left, right = right, left
    return row(left, right, 0)


def generate(seed: int = SEED, positives: int = 160, negatives: int = 200) -> list[dict]:
    """The pairs, positives then negatives shuffled together; same seed, same file."""
    rng = random.Random(seed)
    made = [(brand, kind) for brand, kinds in MAKES.items() for kind in kinds]
    rows = [same_product(*rng.choice(made), rng) for _ in range(positives)]
    while len(rows) < positives + negatives:
        drawn = different_product(*rng.choice(made), rng)
        if drawn is not None:
            rows.append(drawn)
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = generate()
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        fh.write(
            "# Second held-out set of labelled Indian grocery pairs (1 = same product), drawn "
            "by bench/grocery_heldout_pairs.py from hand-written products; never tuned on.\n"
        )
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} pairs ({sum(r['label'] == '1' for r in rows)} same) to {OUT.name}")


if __name__ == "__main__":
    main()
