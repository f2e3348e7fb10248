"""Catalog search, barcode lookup and duplicate matching over a generated catalog.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/catalog_search.py [--products 200000] [--skip-scale-out]

For each deployment (see deployments.py): migrate a fresh database, load the generated
catalog (catalog_data.py; on PostgreSQL followed by the VACUUM ANALYZE that autovacuum
would run after a bulk load), then, in a subprocess with the deployment's environment,
time the domain functions the API calls, in-process and on one thread:

- `search_products(filter_products(visible_products(None), ...), q=..., limit=20)`, first
  page and the page after its cursor, for the kinds of query in SEARCH_KINDS (Latin words,
  prefixes, Devanagari, Tamil, brand and in_stock_at filters, misspellings), each kind
  `--queries` distinct queries drawn from the catalog, all kinds shuffled together. Per
  kind: how many first pages are full (20 products), how many came with a correction
  (`corrected_query`) and, for misspellings, how many were corrected back to the word that
  was misspelt; and, as a check on relevance, how many of the products on first pages hold
  every word of the query (as answered) in their name rather than only in the brand or a
  regional name;
- `Product.objects.filter(barcode=normalize_barcode(code))` and barcode-prefix search;
- `find_candidates(principal=<an admin>, ...)` for new products described after existing
  ones (MATCH_KINDS: other case, "500 g" written "0.5 kg", a dropped word, a regional
  name, a misspelt word, two words run together, a word cut short, only a regional name)
  with how often the product they came from is found, and for products of brands the
  catalog lacks, with how often one is wrongly flagged as a duplicate. Target p99 < 50 ms.

A warm-up round of other queries runs first. Latencies are wall-clock milliseconds per
call, rows fetched included; p99 is the nearest-rank 99th percentile. The CPU the rest of
the machine used meanwhile is reported: this is a 2-core machine other work shares.
`--explain` prints the SQL and query plan of one query of each kind instead of timing.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import cpuload
import deployments
import machine
from inner_process import percentile, run_inner, setup_django
from tables import render_table

ADMIN_EMAIL = "bench-admin@example.com"
SEARCH_KINDS = {
    "word": "one Latin word",
    "prefix": "a word prefix (3-5 letters)",
    "two words": "two Latin words",
    "devanagari": "Devanagari (hi/mr), 1-2 words",
    "tamil": "Tamil, 1-2 words",
    "brand filter": "brand= filter + product type word",
    "in stock at": "in_stock_at= filter + one word",
    "misspelt": "a misspelt word",
}
MATCH_KINDS = {
    "case": "name in other case",
    "units": '"500 g" as "0.5 kg"',
    "dropped word": "a word of the name dropped",
    "regional": "brand + type and a regional name",
    "misspelt": "a word of the name misspelt",
    "joined": "two words of the name run together",
    "abbreviated": "a long word cut to its first 4 letters",
    "script only": "only a regional name, in its script, as the name",
    "new": "a brand the catalog lacks",
}
# Brands no generated product has: a "new" product is one the catalog does not hold.
NEW_BRANDS = ("Anand Foods", "Prakash Masale", "Shubh Dairy", "Ujala Mills", "Navya Naturals")
_LATIN = re.compile(r"^[A-Za-z]{3,}$")
# Each unit written in the other unit of its dimension: 500 g -> 0.5 kg, 1 l -> 1000 ml.
_CONVERSIONS = {
    "g": ("kg", Decimal("0.001")),
    "kg": ("g", Decimal(1000)),
    "ml": ("l", Decimal("0.001")),
    "l": ("ml", Decimal(1000)),
    "pcs": ("pcs", Decimal(1)),
}
_SIZE = re.compile(r"\s(?:Pack of \d+|\d+ ?(?:g|gm|Gm|kg|Kg|ml|ML|l|L|Ltr|litre|pcs))$")


# --- inside the deployment ----------------------------------------------------------------


def inner_load(products: int, seed: int) -> dict:
    import catalog_data
    from django.db import connection

    from shelfwatch.accounts.models import User

    specs = catalog_data.generate(products, seed)
    stats = catalog_data.load(specs, seed=seed)
    User.objects.create_superuser(email=ADMIN_EMAIL, password=None)
    if connection.vendor == "postgresql":
        try:  # the vocabulary's exact recount, as a periodic job would run it
            from shelfwatch.catalog.vocabulary import refresh_vocabulary
        except ImportError:  # code from before the vocabulary
            refresh_vocabulary = None
        if refresh_vocabulary is not None:
            started = time.perf_counter()
            stats["vocabulary_words"] = refresh_vocabulary()
            stats["vocabulary_refresh_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        stats["vacuum_analyze_seconds"] = time.perf_counter() - started
    return stats


def _words(text: str) -> list[str]:
    return [w for w in _SIZE.sub("", text).split() if _LATIN.match(w)]


def _misspell(word: str, rng: random.Random) -> str:
    i = rng.randint(1, len(word) - 2)
    edit = rng.choice(("drop", "swap", "double"))
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i] + word[i:]


def _search_queries(sample, stores: list[int], rng: random.Random, per_kind: int) -> list:
    """(kind, q, filters, intended) tuples, `per_kind` of each kind, distinct while the
    catalog allows; `intended` is the word a misspelling was made from, else None."""
    kinds: dict[str, set] = {kind: set() for kind in SEARCH_KINDS}
    intended: dict[str, str] = {}
    for product in sample:
        words = _words(product.name)
        regional = {r.language: r.name.split() for r in product.regional_names.all()}
        if words:
            word = rng.choice(words)
            kinds["word"].add((word.lower(), ()))
            kinds["prefix"].add((word[: rng.randint(3, min(5, len(word)))].lower(), ()))
            kinds["in stock at"].add((word.lower(), (("in_stock_at", rng.choice(stores)),)))
            long_words = [w for w in words if len(w) >= 5]
            if long_words:
                word = rng.choice(long_words).lower()
                wrong = _misspell(word, rng)
                intended.setdefault(wrong, word)
                kinds["misspelt"].add((wrong, ()))
        if len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            kinds["two words"].add((f"{words[i]} {words[i + 1]}".lower(), ()))
        kinds["brand filter"].add((product.category.name.split()[-1], (("brand", product.brand),)))
        for kind, languages in (("devanagari", ("hi-IN", "mr-IN")), ("tamil", ("ta-IN",))):
            for language in languages:
                if language in regional:
                    names = regional[language]
                    i = rng.randrange(len(names))
                    kinds[kind].add((" ".join(names[i : i + rng.randint(1, 2)]), ()))
    queries = []
    for kind, found in kinds.items():
        pool = sorted(found)
        rng.shuffle(pool)
        queries += [(kind, q, dict(f), intended.get(q)) for q, f in (pool * per_kind)[:per_kind]]
    rng.shuffle(queries)
    return queries


def _perturbed(product, kind: str, rng: random.Random) -> dict | None:
    """A new product described after `product`, or None when this kind does not apply."""
    name, amount, unit = product.name, product.net_quantity, product.net_unit
    if kind == "case":
        name = rng.choice((str.upper, str.lower, str.title))(name)
    elif kind == "units":
        other, factor = _CONVERSIONS[unit]
        amount = amount * factor
        if unit == "pcs":
            spelt = f"{amount:g} pcs" if "Pack of" in name else f"Pack of {amount:g}"
        else:
            spelt = f"{amount:g} {other}"
        name, unit = _SIZE.sub(" " + spelt, name), other
    elif kind == "dropped word":
        size = _SIZE.search(name)
        words = _SIZE.sub("", name).split()
        droppable = [i for i, w in enumerate(words) if w not in product.brand.split()]
        if len(droppable) < 2:
            return None
        del words[rng.choice(droppable)]
        name = " ".join(words) + (size.group() if size else "")
    elif kind == "misspelt":
        words = name.split()
        typeable = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not typeable:
            return None
        i = rng.choice(typeable)
        words[i] = _misspell(words[i], rng)
        name = " ".join(words)
    elif kind in {"joined", "abbreviated"}:
        words = name.split()
        if kind == "joined":
            pairs = [
                i for i in range(len(words) - 1) if words[i].isalpha() and words[i + 1].isalpha()
            ]
            if not pairs:
                return None
            i = rng.choice(pairs)
            words[i : i + 2] = [words[i] + words[i + 1].lower()]
        else:
            long = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha()]
            if not long:
                return None
            i = rng.choice(long)
            words[i] = words[i][:4]
        name = " ".join(words)
    elif kind == "script only":
        regional = [r.name for r in product.regional_names.all()]
        if not regional:
            return None
        return {"name": rng.choice(regional), "net_quantity": amount, "net_unit": unit}
    elif kind == "new":
        brand = rng.choice(NEW_BRANDS)
        name = name.replace(product.brand, brand, 1)
        return {"name": name, "brand": brand, "net_quantity": amount, "net_unit": unit}
    elif kind == "regional":
        regional = [r.name for r in product.regional_names.all()]
        if not regional:
            return None
        return {
            "name": f"{product.brand} {product.category.name}",
            "brand": product.brand,
            "net_quantity": amount,
            "net_unit": unit,
            "regional_names": [rng.choice(regional)],
        }
    return {"name": name, "brand": product.brand, "net_quantity": amount, "net_unit": unit}


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def inner_measure(per_kind: int, seed: int, *, explain: bool) -> dict:
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.catalog.barcodes import normalize_barcode
    from shelfwatch.catalog.matching import find_candidates
    from shelfwatch.catalog.models import Product
    from shelfwatch.catalog.search import query_terms, search_products
    from shelfwatch.catalog.selectors import filter_products, visible_products
    from shelfwatch.catalog.similarity import MATCH_THRESHOLD
    from shelfwatch.inventory.models import Store

    rng = random.Random(seed)
    verified = list(Product.objects.filter(status="verified").values_list("pk", flat=True))
    sample_ids = rng.sample(verified, min(len(verified), 4 * per_kind))
    sample = list(
        Product.objects.filter(pk__in=sample_ids)
        .select_related("category")
        .prefetch_related("regional_names")
    )
    rng.shuffle(sample)
    stores = list(Store.objects.values_list("pk", flat=True))
    admin = Principal(user=User.objects.get(email=ADMIN_EMAIL), method="jwt")

    def search(q: str, filters: dict, cursor: str | None = None):
        products = filter_products(visible_products(None), **filters)
        return search_products(products, q=q, cursor=cursor, limit=20)

    queries = _search_queries(sample, stores, rng, per_kind)
    warmup = _search_queries(sample[::-1], stores, random.Random(seed + 1), 15)
    if explain:
        return _explain(queries, search)
    # The first correction reads the vocabulary (a pass over the SQLite index, once per
    # process until the catalog changes); timed apart, before the warm-up.
    cold = next((q for kind, q, _, _ in queries if kind == "misspelt"), None)
    out: dict = {"search": {}, "second page": [], "barcode": [], "barcode prefix": []}
    out["cold correction"] = _timed(lambda: search(cold, {}))[0] if cold else None
    for _kind, q, filters, _ in warmup:
        search(q, filters)

    cursors = []
    for kind, q, filters, intended in queries:
        ms, page = _timed(lambda q=q, filters=filters: search(q, filters))
        corrected = getattr(page, "corrected_query", None)  # absent before corrections
        answered = query_terms(corrected or q)
        in_names = [
            all(any(w.startswith(t) for w in query_terms(p.name)) for t in answered)
            for p in page.products
        ]
        out["search"].setdefault(kind, []).append(
            (
                ms,
                len(page.products),
                bool(corrected),
                bool(corrected) and intended in corrected.split(),
                sum(in_names),
            )
        )
        if page.next_cursor:
            cursors.append((q, filters, page.next_cursor))
    rng.shuffle(cursors)
    for q, filters, cursor in cursors[: 2 * per_kind]:
        ms, _page = _timed(lambda q=q, f=filters, c=cursor: search(q, f, c))
        out["second page"].append(ms)

    codes = [p.barcode for p in sample if p.barcode][:per_kind]
    for code in codes:
        # As scanners and people type them: plain, with spaces, with hyphens.
        typed = rng.choice((code, f"{code[:1]} {code[1:7]} {code[7:]}", f"{code[:7]}-{code[7:]}"))
        ms, found = _timed(
            lambda t=typed: Product.objects.filter(barcode=normalize_barcode(t)).first()
        )
        assert found is not None and found.barcode == code
        out["barcode"].append(ms)
        prefix = code[: rng.randint(6, 12)]
        out["barcode prefix"].append(_timed(lambda p=prefix: search(p, {}))[0])

    out["match"] = {}
    jobs = [(kind, product) for kind in MATCH_KINDS for product in sample]
    rng.shuffle(jobs)
    for kind, product in jobs:
        rows = out["match"].setdefault(kind, [])
        if len(rows) >= per_kind:
            continue
        described = _perturbed(product, kind, rng)
        if described is None:
            continue
        ms, found = _timed(lambda d=described: find_candidates(principal=admin, **d))
        ids = [c.product_id for c in found]
        alarm = any(c.score >= MATCH_THRESHOLD for c in found)
        rows.append((ms, product.pk in ids, bool(ids) and ids[0] == product.pk, alarm))
    return out


def _explain(queries: list, search: Callable) -> dict:
    """The SQL one query of each kind runs, with the database's plan for each statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    shown: set[str] = set()
    for kind, q, filters, _ in queries:
        if kind in shown:
            continue
        shown.add(kind)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            search(q, filters)
            ms = (time.perf_counter() - started) * 1000
        print(f"\n=== {kind}: q={q!r} {filters} ({ms:.1f} ms)", file=sys.stderr)
        for statement in captured.captured_queries:
            sql = statement["sql"]
            print(f"-- {statement['time']} s\n{sql}", file=sys.stderr)
            prefix = (
                "EXPLAIN (ANALYZE, BUFFERS) "
                if connection.vendor == "postgresql"
                else "EXPLAIN QUERY PLAN "
            )
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql)
                for row in cursor.fetchall():
                    print("   ", " | ".join(str(x) for x in row), file=sys.stderr)
    return {}


# --- outside: deployments, subprocesses, the table ----------------------------------------


def _ms(values: list[float]) -> tuple[str, str]:
    return f"{statistics.median(values):.1f}", f"{percentile(values, 99):.1f}"


def _share(rows: list, column: int, test: Callable[[object], bool] = bool) -> str:
    return f"{sum(1 for row in rows if test(row[column])) / max(1, len(rows)):.0%}"


def summary_rows(data: dict) -> dict[str, tuple[str, ...]]:
    """Figure name -> (p50, p99, n, note) for one deployment."""
    rows: dict[str, tuple[str, ...]] = {}
    everything = [run[0] for kind in data["search"].values() for run in kind]
    rows["search, first page, all kinds"] = (*_ms(everything), str(len(everything)), "")
    for kind, label in SEARCH_KINDS.items():
        runs = data["search"].get(kind, [])
        notes = [f"{_share(runs, 1, lambda n: n == 20)} full pages"]
        corrected = sum(1 for run in runs if run[2])
        if kind == "misspelt":
            notes.append(f"corrected to the word misspelt {_share(runs, 3)}")
        elif corrected:
            notes.append(f"corrected {corrected}")
        shown = sum(run[1] for run in runs)
        if shown and not kind.startswith(("devanagari", "tamil")):
            notes.append(f"words in the name {sum(run[4] for run in runs) / shown:.0%}")
        rows[f"  {label}"] = (*_ms([run[0] for run in runs]), str(len(runs)), ", ".join(notes))
    rows["search, second page (cursor)"] = (
        *_ms(data["second page"]),
        str(len(data["second page"])),
        "",
    )
    if data.get("cold correction") is not None:
        rows["first misspelt query of the process"] = (
            f"{data['cold correction']:.1f}",
            "",
            "1",
            "reads the vocabulary (SQLite: again after catalog changes)",
        )
    rows["barcode exact lookup"] = (*_ms(data["barcode"]), str(len(data["barcode"])), "")
    rows["barcode prefix search"] = (
        *_ms(data["barcode prefix"]),
        str(len(data["barcode prefix"])),
        "",
    )
    every = [row for kind, runs in data["match"].items() if kind != "new" for row in runs]
    rows["find_candidates, all kinds"] = (
        *_ms([row[0] for runs in data["match"].values() for row in runs]),
        str(sum(len(runs) for runs in data["match"].values())),
        f"source found {_share(every, 1)} (duplicates)",
    )
    for kind, label in MATCH_KINDS.items():
        runs = data["match"].get(kind, [])
        if kind == "new":
            note = f"flagged as a duplicate {_share(runs, 3)}"
        else:
            note = f"source found {_share(runs, 1)}, first {_share(runs, 2)}"
        rows[f"  {label}"] = (*_ms([row[0] for row in runs]), str(len(runs)), note)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300, help="queries per kind")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print plans, do not time")
    parser.add_argument("--inner", choices=("load", "measure"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "load":
            result = inner_load(args.products, args.seed)
        else:
            result = inner_measure(args.queries, args.seed, explain=args.explain)
        print(json.dumps(result))
        return

    info = machine.describe()
    print(machine.render(info), flush=True)
    results: dict[str, dict] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-catalog-") as tmp:
        picked = deployments.chosen(
            skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
        )
        for deploy in picked:
            with deploy(Path(tmp)) as deployment:
                print(f"\n{deployment.name}: loading {args.products:,} products", flush=True)
                common = ["--products", str(args.products), "--seed", str(args.seed)]
                loaded, _ = run_inner(__file__, deployment.env, "load", *common)
                print(f"  loaded in {loaded['total_seconds']:.1f} s: {loaded}", flush=True)
                cpuload.wait_for_quiet(max_wait=30)
                extra = ["--queries", str(args.queries), *(["--explain"] if args.explain else [])]
                data, share = run_inner(
                    __file__,
                    deployment.env,
                    "measure",
                    *common,
                    *extra,
                    database=deployment.database,
                )
                if args.explain:
                    continue
                results[deployment.name] = summary_rows(data)
                notes.append(
                    f"{deployment.name}: {args.products:,} products loaded in "
                    f"{loaded['products_seconds']:.0f} s "
                    f"({args.products / loaded['products_seconds']:,.0f}/s); measuring took "
                    + share.describe()
                )
                print(table({deployment.name: results[deployment.name]}), flush=True)
    if results:
        print(f"\n{args.products:,} products, {info['date']}, {info['cpus']}\n")
        print(table(results))
        print()
        print("\n".join(f"- {note}" for note in notes))


def table(results: dict[str, dict]) -> str:
    names = list(next(iter(results.values())))
    header = ["ms per call"]
    for deployment in results:
        header += [f"{deployment} p50", f"{deployment} p99", "n", "note"]
    rows = [[name, *(c for data in results.values() for c in data[name])] for name in names]
    return render_table(header, rows)


if __name__ == "__main__":
    main()
