"""The nightly rebuild: bought-together lists from orders, similar lists from the catalog."""

from __future__ import annotations

import pytest
from django.db.models import F

from shelfwatch.cli import main
from shelfwatch.config.periodic import PERIODIC_JOBS
from shelfwatch.recommend.models import Similar, Together
from shelfwatch.recommend.refresh import (
    HISTORY_DAYS,
    refresh_all,
    refresh_similar,
    refresh_together,
)
from shelfwatch.recommend.tasks import refresh_recommendations


def listed(model, product) -> list[int]:
    return list(
        model.objects.filter(product=product).order_by("rank").values_list("other_id", flat=True)
    )


def breakfast_history(g, times: int = 3) -> None:
    for _ in range(times):
        g.order(["bread", "jam"])
        g.order(["bread", "butter", "milk"])
        g.order(["milk", "curd"])
        g.order(["milk"])


def test_products_bought_together_list_each_other_and_never_themselves(grocery):
    breakfast_history(grocery)

    refresh_together()

    assert set(listed(Together, grocery["jam"])) == {grocery["bread"].pk}
    assert set(listed(Together, grocery["bread"])) == {
        grocery["jam"].pk,
        grocery["butter"].pk,
        grocery["milk"].pk,
    }
    assert not Together.objects.filter(product_id=F("other_id")).exists()


def test_a_pair_bought_only_once_is_not_enough(grocery):
    breakfast_history(grocery)
    grocery.order(["jam", "turmeric"])

    refresh_together()

    assert grocery["turmeric"].pk not in listed(Together, grocery["jam"])


def test_a_partner_seen_with_everything_ranks_below_a_specific_one(grocery):
    # Milk is in nearly every order, with bread twice as often as jam is; but jam only
    # ever goes with bread.
    for _ in range(4):
        grocery.order(["bread", "jam", "milk"])
        grocery.order(["bread", "milk"])
    for _ in range(16):
        grocery.order(["milk", "curd"])
        grocery.order(["milk", "chilli"])

    refresh_together()

    ranked = listed(Together, grocery["bread"])
    assert ranked.index(grocery["jam"].pk) < ranked.index(grocery["milk"].pk)


def test_cancelled_and_too_old_orders_do_not_count(grocery):
    for _ in range(3):
        grocery.order(["bread", "jam"], status="cancelled")
        grocery.order(["milk", "curd"], days_ago=HISTORY_DAYS + 5)

    refresh_together()

    assert Together.objects.count() == 0


def test_a_product_nobody_may_see_is_never_listed(grocery):
    for _ in range(3):
        grocery.order(["bread", "pending"])
        grocery.order(["bread", "jam"])

    refresh_together()

    assert grocery["pending"].pk not in listed(Together, grocery["bread"])
    assert listed(Together, grocery["pending"]) == []


def test_a_refresh_replaces_the_old_lists(grocery):
    breakfast_history(grocery)
    refresh_together()
    first = Together.objects.count()
    refresh_together()
    assert Together.objects.count() == first

    from shelfwatch.shop.models import Order

    Order.objects.update(status="cancelled")
    refresh_together()
    assert Together.objects.count() == 0


def test_similar_products_share_words_across_scripts_within_their_category(grocery):
    refresh_similar()

    # Everest turmeric and Catch haldi share the Hindi name and the English meaning.
    assert listed(Similar, grocery["turmeric"])[0] == grocery["haldi"].pk
    assert grocery["turmeric"].pk in listed(Similar, grocery["haldi"])
    # Same brand, other category: never similar.
    assert grocery["curd"].pk not in listed(Similar, grocery["turmeric"])
    for product in grocery.products.values():
        assert product.pk not in listed(Similar, product)
    assert not Similar.objects.filter(other=grocery["pending"]).exists()


def test_the_nightly_job_and_the_command_rebuild_both_lists(grocery, capsys):
    breakfast_history(grocery)

    jobs = {job.name: job for job in PERIODIC_JOBS}
    assert (
        jobs["refresh-recommendations"].task == "shelfwatch.recommend.tasks.refresh_recommendations"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["recommend-refresh"])
    assert exit_info.value.code == 0

    out = capsys.readouterr().out
    assert (
        f"done: {Together.objects.count()} together rows, {Similar.objects.count()} similar rows"
        in out
    )
    assert Together.objects.exists() and Similar.objects.exists()
    assert refresh_recommendations.call() == refresh_all()


@pytest.mark.parametrize("orders", [0, 1])
def test_no_orders_leave_no_lists_and_no_error(grocery, orders):
    for _ in range(orders):
        grocery.order(["milk"])

    assert refresh_together() == 0


def chained_history(g) -> None:
    # Bread goes with butter, jam goes with butter; bread and jam meet only where butter
    # is, and less often there than butter alone would predict. Turmeric and chilli are
    # a pair of their own, bought least.
    for _ in range(10):
        g.order(["bread", "butter"])
        g.order(["butter", "jam"])
    for _ in range(5):
        g.order(["bread", "butter", "jam"])
    for _ in range(3):
        g.order(["turmeric", "chilli"])


def test_with_enough_orders_the_most_bought_products_list_their_ease_weights(grocery, settings):
    settings.RECOMMEND_EASE_MIN_ORDERS = 10
    settings.RECOMMEND_EASE_MAX_ITEMS = 3
    settings.RECOMMEND_EASE_L2 = 1.0
    chained_history(grocery)

    written = refresh_together()

    # EASE: jam says nothing about bread that butter does not already say.
    assert listed(Together, grocery["bread"]) == [grocery["butter"].pk]
    assert listed(Together, grocery["jam"]) == [grocery["butter"].pk]
    assert set(listed(Together, grocery["butter"])) == {grocery["bread"].pk, grocery["jam"].pk}
    # Beyond the three most bought: the pair scorer's list, scaled to the fitted weights.
    assert listed(Together, grocery["turmeric"]) == [grocery["chilli"].pk]
    fitted_best = sorted(
        Together.objects.filter(
            rank=0, product__in=[grocery[n] for n in ("bread", "butter", "jam")]
        ).values_list("score", flat=True)
    )
    turmeric = Together.objects.get(product=grocery["turmeric"])
    assert turmeric.score == pytest.approx(fitted_best[1])
    assert written == Together.objects.count() == 6


def test_with_too_few_orders_or_ease_off_the_pair_scorer_builds_every_list(grocery, settings):
    settings.RECOMMEND_EASE_L2 = 1.0
    chained_history(grocery)

    for min_orders, max_items in ((1000, 3000), (10, 0)):
        settings.RECOMMEND_EASE_MIN_ORDERS = min_orders
        settings.RECOMMEND_EASE_MAX_ITEMS = max_items
        refresh_together()

        assert listed(Together, grocery["bread"]) == [grocery["butter"].pk, grocery["jam"].pk]
        assert Together.objects.get(product=grocery["bread"], rank=0).score == 1.0
