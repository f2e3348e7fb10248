"""Similar products by words, within a category."""

from __future__ import annotations

from shelfwatch.catalog.similarity import ProductRecord
from shelfwatch.recommend.similar import SAME_CATEGORY, Described, similar_lists


def described(pid: int, category: int | None, name: str, brand: str = "", regional=()):
    return Described(pid, category, ProductRecord(name=name, brand=brand, regional_names=regional))


def test_products_sharing_words_rank_before_the_rest_of_their_shelf():
    lists = similar_lists(
        [
            described(1, 7, "Butter Croissant"),
            described(2, 7, "Almond Croissant"),
            described(3, 7, "Cinnamon Roll"),
            described(4, 8, "Butter Chicken Masala"),
        ],
        limit=5,
    )

    assert [other for other, _ in lists[1]] == [2, 3]
    assert lists[1][1][1] == SAME_CATEGORY  # the roll shares only the shelf
    assert 4 not in dict(lists[1])  # another category, however alike the words
    assert 4 not in lists  # alone in its category


def test_uncategorised_products_need_words_in_common():
    lists = similar_lists(
        [
            described(1, None, "Basmati Rice Premium"),
            described(2, None, "Basmati Rice Classic"),
            described(3, None, "Dish Soap"),
            described(4, None, ""),
        ],
        limit=5,
    )

    assert [other for other, _ in lists[1]] == [2]
    assert 3 not in lists and 4 not in lists


def test_a_regional_name_makes_two_spellings_similar():
    lists = similar_lists(
        [
            described(1, None, "Everest Turmeric Powder", "Everest", ("हल्दी",)),
            described(2, None, "Catch Haldi", "Catch"),
            described(3, None, "Catch Jeera", "Catch"),
        ],
        limit=5,
    )

    assert lists[2][0][0] == 1


def test_the_limit_holds():
    lists = similar_lists([described(i, 1, f"Tea {i}") for i in range(1, 40)], limit=3)

    assert all(len(best) == 3 for best in lists.values())
