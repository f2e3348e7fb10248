"""Reading barcodes from photos taken on phones without a live camera scanner.

The browser's BarcodeDetector reads codes on the device where it exists; everywhere else
the page sends a photo and this module decodes it with zxing-cpp. Retail symbologies only
(EAN/UPC and GTIN-carrying ones): a QR code on the shelf label is not a product code.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import zxingcpp
from PIL import Image, ImageOps

from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.image_files import inspect_image, open_checked, read_limited

# Phone photos are 12+ megapixels; barcodes decode as well at this size, far faster.
MAX_DECODE_SIDE = 1600
FORMATS = [
    zxingcpp.BarcodeFormat.EAN13,
    zxingcpp.BarcodeFormat.EAN8,
    zxingcpp.BarcodeFormat.UPCA,
    zxingcpp.BarcodeFormat.UPCE,
    zxingcpp.BarcodeFormat.Code128,
    zxingcpp.BarcodeFormat.DataBar,
]


@dataclass(frozen=True)
class ScannedCode:
    text: str
    format: str
    gtin: str | None  # the stored form when the text is a valid GTIN, else None


def decode_barcodes(source: bytes | io.BufferedIOBase) -> list[ScannedCode]:
    """Every retail barcode in a JPEG/PNG/WebP photo; raises ImageRejected for bad files."""
    data = read_limited(source)
    inspect_image(data)  # the same guards as uploads: format, size, pixels, damage
    with open_checked(data) as opened:
        image = ImageOps.exif_transpose(opened).convert("L")
    image.thumbnail((MAX_DECODE_SIDE, MAX_DECODE_SIDE), Image.Resampling.LANCZOS)
    found: dict[str, ScannedCode] = {}
    for result in zxingcpp.read_barcodes(image, formats=FORMATS, try_rotate=True):
        if not result.valid or result.text in found:
            continue
        try:
            gtin = normalize_barcode(result.text)
        except InvalidBarcode:
            gtin = None
        found[result.text] = ScannedCode(text=result.text, format=str(result.format), gtin=gtin)
    return list(found.values())
