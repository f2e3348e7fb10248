"""Product pictures for the demo, drawn with Pillow at demo time (no network, no files
shipped): a soft backdrop, the product's silhouette (a loaf, a croissant, a sack of atta,
a tea box) in its colour, and a label with a word or two from its pack.

Drawn at twice the size and scaled down, which smooths the edges; the same product always
gets the same bytes, so a second demo load stores nothing new (images are kept by hash).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache

from PIL import Image, ImageDraw, ImageFont

SIZE = 640
SCALE = 2
Box = tuple[float, float, float, float]


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))


def _mix(colour: tuple[int, int, int], other: tuple[int, int, int], share: float):
    return tuple(round(a * (1 - share) + b * share) for a, b in zip(colour, other, strict=True))


def _lighter(colour, share: float = 0.35):
    return _mix(colour, (255, 255, 255), share)


def _darker(colour, share: float = 0.3):
    return _mix(colour, (40, 30, 20), share)


@cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    # Pillow's built-in scalable font: present wherever Pillow has FreeType, no system fonts.
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):
        return ImageFont.load_default()


def _s(value: float) -> int:
    return round(value * SCALE)


def _box(box: Box) -> tuple[int, int, int, int]:
    return tuple(_s(v) for v in box)


def _shadow(draw: ImageDraw.ImageDraw, box: Box) -> None:
    # Opaque: drawing on the transparent layer replaces pixels rather than blending them.
    left, _, right, bottom = box
    draw.ellipse(_box((left + 20, bottom - 18, right - 20, bottom + 18)), fill=(196, 170, 134))


def _loaf(draw, colour) -> None:
    body = (130, 230, 510, 470)
    _shadow(draw, body)
    draw.rounded_rectangle(_box(body), radius=_s(110), fill=colour)
    draw.rounded_rectangle(_box((150, 240, 490, 330)), radius=_s(80), fill=_lighter(colour, 0.18))
    for x in (210, 290, 370):
        draw.line(_box((x, 280, x + 60, 250)), fill=_darker(colour, 0.35), width=_s(10))


def _baguette(draw, colour) -> None:
    _shadow(draw, (90, 300, 550, 420))
    draw.rounded_rectangle(_box((80, 290, 560, 400)), radius=_s(55), fill=colour)
    for x in (150, 250, 350, 450):
        draw.line(_box((x, 330, x + 55, 310)), fill=_darker(colour, 0.3), width=_s(9))


def _croissant(draw, colour) -> None:
    _shadow(draw, (140, 300, 500, 460))
    draw.ellipse(_box((140, 200, 500, 460)), fill=colour)
    draw.ellipse(_box((230, 130, 410, 330)), fill=(0, 0, 0, 0))
    for x in (220, 290, 350, 410):
        draw.arc(_box((x - 40, 260, x + 40, 460)), 200, 340, fill=_darker(colour), width=_s(7))


def _round(draw, colour) -> None:
    _shadow(draw, (170, 200, 470, 470))
    draw.ellipse(_box((170, 190, 470, 460)), fill=colour)
    draw.arc(_box((230, 250, 410, 400)), 0, 300, fill=_darker(colour, 0.35), width=_s(12))
    draw.arc(_box((280, 290, 360, 360)), 60, 360, fill=_darker(colour, 0.35), width=_s(10))


def _muffin(draw, colour) -> None:
    _shadow(draw, (200, 300, 440, 480))
    draw.polygon(
        [(_s(210), _s(330)), (_s(430), _s(330)), (_s(400), _s(470)), (_s(240), _s(470))],
        fill=_lighter(colour, 0.55),
    )
    draw.ellipse(_box((180, 190, 460, 360)), fill=colour)
    for x, y in ((250, 250), (320, 230), (390, 270), (300, 300), (360, 320)):
        draw.ellipse(_box((x - 12, y - 12, x + 12, y + 12)), fill=(62, 74, 150))


def _cookie(draw, colour) -> None:
    for offset, box in enumerate(((120, 250, 330, 460), (300, 200, 520, 420))):
        _shadow(draw, box)
        draw.ellipse(_box(box), fill=colour)
        left, top = box[0], box[1]
        for dx, dy in ((60, 60), (130, 90), (90, 140), (150, 160), (50, 130)):
            dx += offset * 10
            draw.ellipse(
                _box((left + dx, top + dy, left + dx + 22, top + dy + 18)), fill=(74, 44, 28)
            )


def _cake(draw, colour) -> None:
    _shadow(draw, (140, 250, 500, 470))
    draw.rounded_rectangle(_box((140, 270, 500, 460)), radius=_s(24), fill=colour)
    draw.rounded_rectangle(_box((130, 230, 510, 300)), radius=_s(30), fill=(255, 250, 240))
    for x in (180, 260, 340, 420):
        draw.ellipse(_box((x, 290, x + 40, 330)), fill=(255, 250, 240))


def _sack(draw, colour) -> None:
    _shadow(draw, (150, 150, 490, 500))
    draw.polygon(
        [(_s(190), _s(140)), (_s(450), _s(140)), (_s(490), _s(490)), (_s(150), _s(490))],
        fill=colour,
    )
    draw.rectangle(_box((180, 120, 460, 160)), fill=_darker(colour, 0.2))


def _pack(draw, colour) -> None:
    _shadow(draw, (150, 170, 490, 480))
    draw.rounded_rectangle(_box((150, 170, 490, 480)), radius=_s(18), fill=colour)
    draw.polygon(
        [(_s(150), _s(190)), (_s(490), _s(190)), (_s(470), _s(170)), (_s(170), _s(170))],
        fill=_darker(colour, 0.15),
    )


def _carton(draw, colour) -> None:
    _shadow(draw, (210, 120, 430, 500))
    draw.rectangle(_box((210, 180, 430, 500)), fill=colour)
    draw.polygon(
        [(_s(210), _s(180)), (_s(430), _s(180)), (_s(380), _s(120)), (_s(260), _s(120))],
        fill=_darker(colour, 0.15),
    )


def _jar(draw, colour) -> None:
    _shadow(draw, (200, 170, 440, 490))
    draw.rounded_rectangle(_box((200, 200, 440, 490)), radius=_s(36), fill=colour)
    draw.rounded_rectangle(_box((220, 150, 420, 210)), radius=_s(10), fill=_darker(colour, 0.4))


SHAPES: dict[str, Callable[[ImageDraw.ImageDraw, tuple[int, int, int]], None]] = {
    "loaf": _loaf,
    "baguette": _baguette,
    "croissant": _croissant,
    "round": _round,
    "muffin": _muffin,
    "cookie": _cookie,
    "cake": _cake,
    "sack": _sack,
    "pack": _pack,
    "carton": _carton,
    "jar": _jar,
}
# Goods sold loose (bakes) sit on a board; packaged goods carry a label on the pack.
LOOSE = frozenset({"loaf", "baguette", "croissant", "round", "muffin", "cookie", "cake"})


def _label(draw: ImageDraw.ImageDraw, text: str, colour, *, loose: bool) -> None:
    font = _font(_s(44))
    width = draw.textlength(text, font=font)
    centre = _s(SIZE / 2)
    if loose:
        # A small shop tag under the bake.
        top = _s(520)
        pad = _s(22)
        draw.rounded_rectangle(
            (centre - width / 2 - pad, top, centre + width / 2 + pad, top + _s(66)),
            radius=_s(14),
            fill=(255, 255, 255),
            outline=_darker(colour, 0.2),
            width=_s(3),
        )
        draw.text((centre, top + _s(33)), text, font=font, fill=(45, 45, 55), anchor="mm")
        return
    # A white band across the pack with the product's word on it.
    draw.rectangle(_box((SIZE / 2 - 150, 300, SIZE / 2 + 150, 380)), fill=(255, 255, 255))
    draw.text((centre, _s(340)), text, font=font, fill=_darker(colour, 0.45), anchor="mm")


def draw_picture(*, shape: str, colour: str, label: str) -> bytes:
    """A square WebP of a product drawn as `shape` (a key of SHAPES) in `colour` ("#c98a4b")
    with `label` written on its pack or tag; the same arguments give the same bytes."""
    tint = _rgb(colour)
    big = SIZE * SCALE
    image = Image.new("RGBA", (big, big), (*_mix(tint, (255, 255, 255), 0.86), 255))
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if shape in LOOSE:
        # The board the bakes sit on.
        draw.ellipse(_box((70, 380, 570, 520)), fill=(222, 196, 160, 255))
    SHAPES[shape](draw, tint)
    _label(draw, label, tint, loose=shape in LOOSE)
    image = Image.alpha_composite(image, layer).convert("RGB")
    image = image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()
