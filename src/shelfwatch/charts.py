"""Charts drawn on the server: a figure over days and a horizontal bar chart.

Each chart renders to SVG text for pages (responsive, with a <title> and <desc> named by
`aria-labelledby`, ids unique per chart) and to PNG bytes for emails. Output is
deterministic: the same input gives the same bytes. Figures are built with
`matplotlib.figure.Figure` on the Agg/SVG canvases, never through pyplot, so rendering holds
no shared state and may run in many threads at once.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape

import fontpkg_noto_sans_devanagari
import matplotlib
from django.utils.translation import gettext as _
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

# Text in SVG stays text (the browser draws it, in any script the page's fonts have, and it
# is a tenth of the size of glyph outlines). Set once at import, before any rendering.
matplotlib.rcParams["svg.fonttype"] = "none"

# PNG charts draw store and product names themselves, many in Hindi. matplotlib's own
# DejaVu Sans has no Devanagari and a fresh Debian machine has no font that does, so the
# Noto Sans Devanagari of a pinned package is registered as the fallback behind DejaVu
# Sans: Latin text looks as before, Devanagari gets glyphs instead of empty boxes (and
# matplotlib shapes it, so vowel signs and conjuncts join as they should).
FONT_FAMILIES = ["DejaVu Sans", fontpkg_noto_sans_devanagari.FAMILY]
for _font in sorted((fontpkg_noto_sans_devanagari.ROOT / "files").glob("*.ttf")):
    font_manager.fontManager.addfont(str(_font))
matplotlib.rcParams["font.family"] = FONT_FAMILIES

# Colour-blind-safe (Okabe-Ito), dark enough against white for lines and bars.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
# Each line also has its own dash, so lines and their legend keys differ without colour
# (for colour-blind readers, greyscale printers and e-ink screens): solid, dashed, dotted,
# dash-dot, then round again.
LINE_STYLES = (
    ("solid", "-"),
    ("dashed", (0, (5, 2.5))),
    ("dotted", (0, (1, 1.8))),
    ("dash-dot", (0, (5, 2, 1, 2))),
)
INK = "#333333"
GRID = "#dddddd"

WIDTH_IN = 6.4
DAY_HEIGHT_IN = 2.6
BAR_ROW_IN = 0.28
PNG_DPI = 100  # 640 px wide: the width of a mail column
MAX_LABEL = 32


@dataclass(frozen=True)
class Series:
    """One named line over the chart's days; `values` has one number per day."""

    label: str
    values: Sequence[float]


@dataclass(frozen=True)
class Chart:
    """A chart ready to render; build it with `day_chart` or `bar_chart`."""

    key: str
    title: str
    description: str
    _draw: Callable[[], Figure] = field(repr=False)

    def svg(self) -> str:
        """SVG markup to inline in a page: scales to its container's width, no fixed size."""
        fig = self._draw()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        return _accessible_svg(
            buf.getvalue(), key=self.key, title=self.title, desc=self.description
        )

    def png(self, *, dpi: int = PNG_DPI) -> bytes:
        """PNG bytes (for an email's inline image), `WIDTH_IN * dpi` pixels wide."""
        fig = self._draw()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()


def day_chart(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    key: str,
    title: str,
    description: str = "",
    area: bool = False,
    legend: bool | None = None,
) -> Chart:
    """A line chart over `days` (an area under the first series if `area`), one line each.

    Lines differ by colour and dash. The legend names them (`legend`: by default only when
    there is more than one) above the plot, and with several lines the description read
    out by screen readers ends with the same names and the dash of each: a screen reader
    reads the picture's name and description, never the legend's text inside it.

    Raises ValueError when a series does not have one value per day. No days draws an empty
    frame with the title, so a page can always show the chart.
    """
    days = list(days)
    for s in series:
        if len(s.values) != len(days):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(days)} days")
    frozen = [Series(s.label, [float(v) for v in s.values]) for s in series]
    with_legend = len(frozen) > 1 if legend is None else legend and bool(frozen)
    if with_legend and days and len(frozen) > 1:  # one line: its name is the title's
        description = _with_legend_words(description, [s.label for s in frozen])

    def draw() -> Figure:
        fig, ax = _frame(DAY_HEIGHT_IN)
        if days and frozen:
            x = date2num(days)
            for i, s in enumerate(frozen):
                colour = PALETTE[i % len(PALETTE)]
                dash = LINE_STYLES[i % len(LINE_STYLES)][1]
                ax.plot(
                    x, s.values, color=colour, linestyle=dash, linewidth=1.8, label=_short(s.label)
                )
                if area and i == 0:
                    ax.fill_between(x, s.values, color=colour, alpha=0.15, linewidth=0)
            if len(days) == 1:
                ax.set_xlim(x[0] - 1, x[0] + 1)
            else:
                ax.set_xlim(x[0], x[-1])
            locator = AutoDateLocator(minticks=3, maxticks=8)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
            ax.set_ylim(bottom=0)
            if with_legend:
                # Above the plot, so it never hides a line; keys long enough to show the dash.
                ax.legend(
                    loc="lower left",
                    bbox_to_anchor=(0, 1),
                    frameon=False,
                    fontsize=8,
                    ncols=min(len(frozen), 4),
                    borderaxespad=0,
                    handlelength=3.2,
                )
        else:
            _empty(ax)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
        ax.yaxis.set_major_formatter(FuncFormatter(_compact))
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        fig.tight_layout(pad=0.4)
        return fig

    return Chart(key=_key(key), title=title, description=description, _draw=draw)


def _with_legend_words(description: str, labels: Sequence[str]) -> str:
    """`description` followed by the legend in words: each line's name and its dash."""
    styles = {
        "solid": _("solid line"),
        "dashed": _("dashed line"),
        "dotted": _("dotted line"),
        "dash-dot": _("dash-dot line"),
    }
    lines = "; ".join(
        f"{label} ({styles[LINE_STYLES[i % len(LINE_STYLES)][0]]})"
        for i, label in enumerate(labels)
    )
    legend = _("Lines: %(lines)s.") % {"lines": lines}
    return f"{description} {legend}" if description else legend


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    key: str,
    title: str,
    description: str = "",
) -> Chart:
    """A horizontal bar chart, first label at the top, each bar labelled with its value.

    Long labels are shortened with an ellipsis; raises ValueError if the lengths differ.
    """
    labels = [_short(str(label)) for label in labels]
    numbers = [float(v) for v in values]
    if len(labels) != len(numbers):
        raise ValueError(f"{len(labels)} labels for {len(numbers)} values")

    def draw() -> Figure:
        fig, ax = _frame(max(1.2, 0.5 + BAR_ROW_IN * len(labels)))
        if labels:
            rows = range(len(labels))
            bars = ax.barh(rows, numbers, color=PALETTE[0], height=0.7)
            ax.set_yticks(rows, labels, fontsize=8)
            ax.invert_yaxis()
            ax.bar_label(bars, labels=[_compact(v) for v in numbers], padding=3, fontsize=8)
            ax.set_xlim(0, (max(numbers) or 1) * 1.15)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.xaxis.set_major_formatter(FuncFormatter(_compact))
            ax.grid(axis="x", color=GRID, linewidth=0.6)
            ax.tick_params(axis="y", length=0)
        else:
            _empty(ax)
        fig.tight_layout(pad=0.4)
        return fig

    return Chart(key=_key(key), title=title, description=description, _draw=draw)


def _frame(height_in: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=PNG_DPI, facecolor="white")
    ax = fig.add_subplot()
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=INK, labelsize=8)
    return fig, ax


def _empty(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, "—", ha="center", va="center", color=INK, transform=ax.transAxes)


def _compact(value: float, _pos: object = None) -> str:
    """12, 1.2k, 3.4M: tick and bar labels that stay short on a phone."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0")
            return f"{sign}{text}{suffix}"
    if value == int(value):
        return f"{sign}{int(value)}"
    return f"{sign}{value:.2f}".rstrip("0").rstrip(".")


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _key(key: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", key).strip("-")
    if not cleaned:
        raise ValueError("a chart needs a key of letters, digits, '-' or '_'")
    return cleaned if cleaned[0].isalpha() else f"c-{cleaned}"


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_ID_USE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)


def _accessible_svg(raw: str, *, key: str, title: str, desc: str) -> str:
    """Make matplotlib's SVG fit inline in a page: no prolog or metadata, ids renumbered
    under `key` (unique per chart, and stable, unlike matplotlib's random ones), a
    viewBox without a fixed size, and an accessible name and description."""
    svg = _PROLOG.sub("", raw, count=1)
    svg = _METADATA.sub("", svg, count=1)
    numbers: dict[str, str] = {}

    def renumber(m: re.Match[str]) -> str:
        new = numbers.setdefault(m.group(2), f"{key}-{len(numbers) + 1}")
        return m.group(1) + new

    svg = _ID_USE.sub(renumber, svg)
    view_box = re.search(r'viewBox="([^"]+)"', svg)
    labelled = f"{key}-title" + (f" {key}-desc" if desc else "")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="{view_box.group(1) if view_box else "0 0 460 190"}" role="img" '
        f'aria-labelledby="{labelled}" class="chart" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{key}-title">{escape(title)}</title>'
    )
    if desc:
        head += f'<desc id="{key}-desc">{escape(desc)}</desc>'
    return _SVG_OPEN.sub(lambda _m: head, svg, count=1).strip()
