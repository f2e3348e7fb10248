"""EASE on handmade baskets: a staple in every basket earns no weight from being everywhere,
a basket's companions are the sum of its items' weights, and only the most bought items
are fitted while the rest keep the pair scorer's lists."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwatch.recommend.ease import (
    basket_scores,
    fit_ease,
    gram,
    most_bought,
    recommend,
    served_lists,
)
from shelfwatch.recommend.together import DEFAULT_SCORING, RAW_COUNTS, count_pairs

MILK, BREAD, JAM, PASTA, SAUCE, SAFFRON, CARDAMOM = range(7)
TEA, SUGAR, LEMON = range(3)


def breakfast_and_dinner() -> list[list[int]]:
    # Milk is in half the baskets, whatever else is in them.
    baskets = [[MILK, BREAD, JAM]] * 5 + [[BREAD, JAM]] * 5
    baskets += [[MILK, PASTA, SAUCE]] * 5 + [[PASTA, SAUCE]] * 5 + [[MILK]] * 10 + [[]] * 10
    # A rare pair, bought too seldom to be among the most bought.
    baskets += [[SAFFRON, CARDAMOM]] * 2
    return baskets


def first(lists, item) -> int:
    return lists[item][0][0]


def test_each_item_lists_the_one_it_goes_with_before_the_staple():
    co = count_pairs(breakfast_and_dinner(), 7)
    fit = fit_ease(co, l2=1.0, max_items=7)

    lists = fit.lists(5)

    assert first(lists, JAM) == BREAD
    assert first(lists, BREAD) == JAM
    assert first(lists, PASTA) == SAUCE
    assert first(lists, SAUCE) == PASTA


def test_a_companion_reached_only_by_way_of_another_item_gets_no_weight():
    # Tea goes with sugar, lemon goes with sugar; tea and lemon meet only where sugar is,
    # and less often there than sugar alone would predict.
    baskets = [[TEA, SUGAR]] * 10 + [[SUGAR, LEMON]] * 10 + [[TEA, SUGAR, LEMON]] * 5
    co = count_pairs(baskets, 3)

    lists = fit_ease(co, l2=1.0, max_items=3).lists(3)

    assert [o for o, _ in co.top_per_item(RAW_COUNTS, 3)[TEA]] == [SUGAR, LEMON]
    assert [o for o, _ in lists[TEA]] == [SUGAR]
    assert [o for o, _ in lists[LEMON]] == [SUGAR]


def test_an_item_never_lists_itself_and_only_positive_weights_are_kept():
    co = count_pairs(breakfast_and_dinner(), 7)
    fit = fit_ease(co, l2=1.0, max_items=7)

    assert np.all(np.diag(fit.weights) == 0)
    for anchor, best in fit.lists(7).items():
        assert anchor not in [other for other, _ in best]
        assert all(weight > 0 for _, weight in best)
        assert [w for _, w in best] == sorted((w for _, w in best), reverse=True)


def test_the_gram_matrix_is_the_pair_counts_with_the_item_counts_on_its_diagonal():
    co = count_pairs([[0, 1], [0, 1, 2], [2]], 3, weights=[1.0, 0.5, 2.0])

    g = gram(co, np.array([0, 1, 2]))

    assert g.tolist() == [[1.5, 1.5, 0.5], [1.5, 1.5, 0.5], [0.5, 0.5, 2.5]]


def test_a_basket_sums_its_items_weights():
    lists = {BREAD: [(JAM, 0.5), (MILK, 0.3)], PASTA: [(SAUCE, 0.4), (MILK, 0.3)]}

    scores = basket_scores(lists, [BREAD, PASTA], 7)

    assert scores[MILK] == pytest.approx(0.6) and scores[JAM] == 0.5 and scores[SAUCE] == 0.4
    # Milk is neither item's best, but both vote for it.
    assert recommend(lists, [BREAD, PASTA], 7, 3) == [MILK, JAM, SAUCE]
    # Never what is held; short lists are filled from the fallback order.
    fallback = np.array([BREAD, PASTA, CARDAMOM])
    assert recommend(lists, [BREAD, JAM], 7, 3, fallback=fallback) == [MILK, PASTA, CARDAMOM]


def test_only_the_most_bought_items_are_fitted_and_the_rest_keep_the_pair_scorer():
    co = count_pairs(breakfast_and_dinner(), 7)
    fit = fit_ease(co, l2=1.0, max_items=5)

    lists = served_lists(co, scoring=DEFAULT_SCORING, fit=fit, limit=5)

    assert most_bought(co, 5).tolist() == [MILK, BREAD, JAM, PASTA, SAUCE]
    assert set(fit.items.tolist()) == {MILK, BREAD, JAM, PASTA, SAUCE}
    # Outside the fitted five, the pair scorer's list, its best scaled to the median of the
    # fitted items' best weights.
    tops = [best[0][1] for item, best in lists.items() if item in fit.items.tolist()]
    assert lists[SAFFRON] == [(CARDAMOM, float(np.median(tops)))]
    assert lists[CARDAMOM] == [(SAFFRON, float(np.median(tops)))]
    assert lists[JAM][0][0] == BREAD


def test_without_a_fit_the_pair_scorers_lists_are_scaled_so_the_best_counts_one():
    co = count_pairs(breakfast_and_dinner(), 7)

    lists = served_lists(co, scoring=DEFAULT_SCORING, fit=None, limit=5)

    expected = co.top_per_item(DEFAULT_SCORING, 5)
    assert set(lists) == set(expected)
    for item, best in lists.items():
        assert [o for o, _ in best] == [o for o, _ in expected[item]]
        assert best[0][1] == 1.0


def test_nothing_is_fitted_until_two_items_were_bought():
    assert fit_ease(count_pairs([[3], [3]], 5), l2=1.0, max_items=10) is None
    assert fit_ease(count_pairs([], 5), l2=1.0, max_items=10) is None
