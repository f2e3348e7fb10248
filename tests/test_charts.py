"""The shared charts: SVG for pages and PNG for emails, deterministic and thread-safe."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from shelfwatch import charts

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(30)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 -- our own output, not untrusted input


def views_chart(key: str = "views") -> charts.Chart:
    return charts.day_chart(
        DAYS,
        [
            charts.Series("Views", [100 + (i * 7) % 40 for i in range(30)]),
            charts.Series("Orders", [i % 5 for i in range(30)]),
        ],
        key=key,
        title="Views & orders <30 days>",
        description="Views rose from 100 to 139.",
        area=True,
    )


def top_chart() -> charts.Chart:
    return charts.bar_chart(
        ["Tea", "Basmati rice 5 kg " + "with a very long name that goes on", "Milk"],
        [1200, 800, 3],
        key="top",
        title="Top products",
    )


def test_day_chart_svg_is_one_accessible_element_that_scales_with_its_container() -> None:
    svg = views_chart().svg()
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "views-title views-desc"
    assert root.get("width") is None and root.get("height") is None
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox"))
    title, desc = root[0], root[1]
    assert (title.tag, title.get("id"), title.text) == (
        f"{SVG}title",
        "views-title",
        "Views & orders <30 days>",
    )
    assert desc.get("id") == "views-desc"
    assert desc.text.startswith("Views rose from 100 to 139.")
    assert not svg.startswith("<?xml") and "<metadata" not in svg


def test_svg_ids_are_prefixed_by_the_key_so_two_charts_can_share_a_page() -> None:
    first, second = views_chart("a").svg(), views_chart("b").svg()
    ids_a = set(re.findall(r'id="([^"]+)"', first))
    ids_b = set(re.findall(r'id="([^"]+)"', second))
    assert ids_a and all(i.startswith("a-") for i in ids_a)
    assert not ids_a & ids_b
    # Every reference points at an id the chart defines.
    refs = set(re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', first))
    assert {r for pair in refs for r in pair if r} <= ids_a


def test_text_stays_text_in_svg_so_any_script_shows() -> None:
    svg = charts.bar_chart(["दूध", "Tea"], [1200, 3], key="hi", title="दूध").svg()
    assert "<text" in svg and "दूध" in svg and "Tea" in svg
    assert "1.2k" in svg  # the bar's value label, compact


def test_long_bar_labels_are_shortened_with_an_ellipsis() -> None:
    svg = top_chart().svg()
    assert "Basmati rice 5 kg with a very l…" in svg
    assert "goes on" not in svg


def test_rendering_is_deterministic_for_svg_and_png() -> None:
    assert views_chart().svg() == views_chart().svg()
    assert views_chart().png() == views_chart().png()
    assert top_chart().png() == top_chart().png()


def test_png_is_a_small_mail_column_wide_image() -> None:
    png = views_chart().png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width == int(charts.WIDTH_IN * charts.PNG_DPI)
    assert len(png) < 60_000
    assert len(views_chart().svg()) < 60_000


def test_bar_chart_height_grows_with_the_number_of_bars() -> None:
    def height(n: int) -> int:
        png = charts.bar_chart([f"p{i}" for i in range(n)], range(n), key="k", title="t").png()
        return int.from_bytes(png[20:24], "big")

    assert height(20) > height(5)


def test_rendering_in_threads_gives_the_same_output_as_one_by_one() -> None:
    expected = [views_chart(f"c{i}").svg() for i in range(6)] + [top_chart().png()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda i: views_chart(f"c{i}").svg(), range(6)))
        got.append(pool.submit(lambda: top_chart().png()).result())
    assert got == expected


def test_empty_and_single_day_charts_still_render() -> None:
    for chart in (
        charts.day_chart([], [], key="e", title="Nothing yet"),
        charts.day_chart(DAYS[:1], [charts.Series("Views", [4])], key="one", title="One day"),
        charts.bar_chart([], [], key="none", title="No products"),
        charts.bar_chart(["a"], [0], key="zero", title="Zero"),
    ):
        assert parse(chart.svg()).get("role") == "img"
        assert chart.png()[:4] == b"\x89PNG"


def test_mismatched_input_is_refused() -> None:
    with pytest.raises(ValueError, match="values for 30 days"):
        charts.day_chart(DAYS, [charts.Series("Views", [1, 2])], key="x", title="t")
    with pytest.raises(ValueError, match="labels"):
        charts.bar_chart(["a", "b"], [1], key="x", title="t")
    with pytest.raises(ValueError, match="key"):
        charts.bar_chart(["a"], [1], key="!!", title="t")


def test_keys_are_made_safe_for_html_ids() -> None:
    svg = charts.bar_chart(["a"], [1], key="top products/7", title="t").svg()
    assert 'id="top-products-7-title"' in svg


def test_values_are_written_compactly() -> None:
    assert [charts._compact(v) for v in (0, 12, 999, 1200, 1000, 2_500_000, 0.5, -1500)] == [
        "0",
        "12",
        "999",
        "1.2k",
        "1k",
        "2.5M",
        "0.5",
        "-1.5k",
    ]


HINDI_NAME = "ताज़ा दूध अमूल"


def _glyph_fonts(text: str, families: list[str]) -> list[tuple[int, str]]:
    """(glyph index, font file name) of each glyph matplotlib lays `text` out with."""
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties
    from matplotlib.ft2font import LoadFlags

    paths = font_manager.fontManager._find_fonts_by_props(FontProperties(family=families))
    font = font_manager.get_font(paths)
    return [
        (item.glyph_index, item.ft_object.fname.rsplit("/", 1)[-1])
        for item in font._layout(text, LoadFlags.DEFAULT)
    ]


def test_devanagari_names_are_drawn_with_real_glyphs_not_empty_boxes() -> None:
    import matplotlib

    assert list(matplotlib.rcParams["font.family"]) == charts.FONT_FAMILIES
    glyphs = _glyph_fonts(HINDI_NAME, charts.FONT_FAMILIES)
    assert glyphs
    assert all(index != 0 for index, _ in glyphs)  # 0 is a font's missing glyph
    assert not [name for _, name in glyphs if name.startswith("LastResort")]
    assert any("Devanagari" in name for _, name in glyphs)
    # Without the fallback the same text falls to the last-resort boxes.
    plain = _glyph_fonts(HINDI_NAME, ["DejaVu Sans"])
    assert any(name.startswith("LastResort") or index == 0 for index, name in plain)


def test_a_png_chart_with_a_hindi_label_renders_without_missing_glyph_warnings() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        png = charts.bar_chart([HINDI_NAME, "Bread"], [5, 3], key="hi", title="t").png()
    assert png.startswith(b"\x89PNG")


def line_styles(svg: str) -> dict[str, str]:
    """The drawn lines of each palette colour: colour -> the dash pattern ('' when solid)."""
    styles: dict[str, str] = {}
    for style in re.findall(r'<path d="[^"]*"[^>]*style="(fill: none;[^"]*)"', svg):
        colour = re.search(r"stroke: (#[0-9a-f]{6})", style).group(1)
        if colour in charts.PALETTE:
            dash = re.search(r"stroke-dasharray: ([^;]+)", style)
            styles.setdefault(colour, dash.group(1) if dash else "")
    return styles


def test_a_chart_of_several_lines_names_them_in_a_legend_not_by_colour_alone() -> None:
    svg = views_chart().svg()
    # The legend is text the page shows (and a screen reader finds in the description).
    assert re.search(r"<text[^>]*>Views</text>", svg)
    assert re.search(r"<text[^>]*>Orders</text>", svg)
    desc = parse(svg).find(f"{SVG}desc").text
    assert desc == "Views rose from 100 to 139. Lines: Views (solid line); Orders (dashed line)."
    # Each line, and its key in the legend, has its own dash as well as its own colour.
    styles = line_styles(svg)
    assert styles[charts.PALETTE[0]] == "" and styles[charts.PALETTE[1]] != ""


def test_one_line_has_no_legend_unless_asked_for() -> None:
    def chart(**legend: bool) -> str:
        series = [charts.Series("Orders", [i % 5 for i in range(30)])]
        return charts.day_chart(DAYS, series, key="o", title="Orders per day", **legend).svg()

    assert not re.search(r"<text[^>]*>Orders</text>", chart())
    named = chart(legend=True)
    assert re.search(r"<text[^>]*>Orders</text>", named)
    assert parse(named).find(f"{SVG}desc") is None  # one line: the title names it
