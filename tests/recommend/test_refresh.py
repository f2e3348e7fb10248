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
