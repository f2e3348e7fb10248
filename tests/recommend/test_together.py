"""The pair scorer and the quality protocol, on hand-made baskets and on real ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwatch.recommend.evaluation import evaluate, read_baskets, split
from shelfwatch.recommend.together import (
    DEFAULT_SCORING,
    RAW_COUNTS,
    Scoring,
    count_pairs,
    decay_weights,
)

GROCERIES = Path(__file__).resolve().parent.parent / "data" / "groceries" / "groceries.csv"

# 0 milk is in almost every basket; 1 bread and 2 butter go together; 3 jam only with bread.
MILK, BREAD, BUTTER, JAM, TEA = range(5)
BASKETS = [
    [MILK, BREAD, BUTTER],
    [MILK, BREAD, BUTTER],
    [MILK, BREAD, JAM],
    [BREAD, JAM],
    [MILK],
    [MILK, TEA],
    [MILK, TEA],
    [MILK],
    [MILK, BUTTER],
]


def test_a_partner_bought_with_the_item_outranks_one_that_is_merely_everywhere():
    co = count_pairs(BASKETS, 5)

    raw = [item for item, _ in co.companions(BREAD, RAW_COUNTS, 3)]
    shipped = [item for item, _ in co.companions(BREAD, DEFAULT_SCORING, 3)]

    assert raw[0] == MILK  # milk is with bread 3 times, but it is with everything
    assert shipped[0] in (BUTTER, JAM)
    assert shipped.index(JAM) < shipped.index(MILK)


def test_pairs_under_the_minimum_support_are_never_recommended():
    co = count_pairs(BASKETS, 5)

    companions = dict(co.companions(BUTTER, Scoring(alpha=0.5, min_support=2), 5))

    assert BREAD in companions and MILK in companions
    assert JAM not in companions  # never together
    assert TEA not in dict(co.companions(MILK, Scoring(alpha=0.5, min_support=3), 5))


def test_an_item_twice_in_one_basket_counts_once():
    co = count_pairs([[BREAD, BREAD, JAM]], 5)

    assert co.item_counts[BREAD] == 1
    assert dict(co.companions(BREAD, RAW_COUNTS, 5)) == {JAM: 1.0}


def test_recent_baskets_weigh_more_than_old_ones():
    weights = decay_weights([0, 30, 60], half_life_days=30)
    co = count_pairs([[BREAD, JAM], [BREAD, BUTTER], [BREAD, BUTTER]], 5, weights=weights)

    assert weights.tolist() == pytest.approx([1.0, 0.5, 0.25])
    scores = dict(co.companions(BREAD, RAW_COUNTS, 5))
    assert scores[JAM] == pytest.approx(1.0)
    assert scores[BUTTER] == pytest.approx(0.75)


def test_a_basket_recommendation_never_repeats_the_basket_and_fills_from_popularity():
    co = count_pairs(BASKETS, 5)

    picked = co.recommend([BREAD, BUTTER], DEFAULT_SCORING, 3, fallback=co.popularity())

    assert len(picked) == 3
    assert BREAD not in picked and BUTTER not in picked
    assert set(picked) == {MILK, JAM, TEA}


def test_top_per_item_lists_every_item_with_partners_best_first():
    co = count_pairs(BASKETS, 5)

    lists = co.top_per_item(DEFAULT_SCORING, 2)

    assert set(lists) == {MILK, BREAD, BUTTER, JAM, TEA}
    for best in lists.values():
        assert len(best) <= 2
        assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)


def test_no_pairs_at_all_gives_empty_lists():
    co = count_pairs([[MILK], [BREAD]], 5)

    assert co.top_per_item(DEFAULT_SCORING, 5) == {}
    assert co.recommend([MILK], DEFAULT_SCORING, 2, fallback=co.popularity()) == [BREAD, 2]


def test_on_real_baskets_the_shipped_scorer_beats_popularity_and_widens_coverage():
    data = read_baskets(GROCERIES)
    n = len(data.names)
    train, test = split(data.baskets, seed=20261206)
    co = count_pairs(train, n)
    order = co.popularity().tolist()

    def popular(visible):
        return [i for i in order if i not in visible][:10]

    def shipped(visible):
        return co.recommend(visible, DEFAULT_SCORING, 10, fallback=co.popularity())

    test = test[:600]
    base = evaluate(popular, test, catalog_size=n)
    ours = evaluate(shipped, test, catalog_size=n)

    assert (n, len(data.baskets)) == (169, 9835)
    assert ours.trials == base.trials > 1000
    assert ours.hit_rate > base.hit_rate
    assert ours.coverage > 3 * base.coverage


def test_the_split_is_fixed_by_its_seed_and_loses_no_basket():
    baskets = [[i] for i in range(100)]

    train, test = split(baskets, seed=1)

    assert (len(train), len(test)) == (80, 20)
    assert sorted(train + test) == baskets
    assert split(baskets, seed=1) == (train, test)
    assert split(baskets, seed=2) != (train, test)


def test_hit_rate_counts_each_hidden_item_once():
    always_milk = evaluate(
        lambda visible: [MILK], [[MILK, BREAD], [JAM, TEA], [MILK]], catalog_size=5
    )

    assert always_milk.trials == 4  # the one-item basket is skipped
    assert always_milk.hits == 1
    assert always_milk.coverage == pytest.approx(1 / 5)
    assert np.mean(always_milk.outcomes) == pytest.approx(0.25)
