"""What a phone photo of a paper needs before Tesseract can read it.

In order: turn it as the camera's EXIF says; take the brightest channel of each pixel so
that red stamps and blue signatures fade into the paper while black print stays; crop to
the sheet; even out the light (a desk lamp or a window lights one corner); turn the page
upright (Tesseract's orientation detection) and straighten small tilts (the angle whose
row profile is sharpest); stretch the contrast and threshold (Otsu).  Pillow and numpy
do all of it, so no image library beyond those is needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter, ImageOps

log = logging.getLogger(__name__)

MAX_SIDE = 3600
_DESKEW_RANGE = 8.0


@dataclass(frozen=True)
class Prepared:
    """The page ready for OCR (black on white, one bit per pixel) and what was done to it."""

    image: Image.Image
    rotated: int
    skew: float
    cropped: bool


def otsu(values: np.ndarray) -> float:
    """The grey level that best splits ``values`` into two classes (Otsu's method)."""
    hist = np.bincount(values.ravel().astype(np.uint8), minlength=256).astype(np.float64)
    total = hist.sum()
    levels = np.arange(256)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * levels)
    between = (mean[-1] * weight / total - mean) ** 2 / np.maximum(weight * (total - weight), 1e-9)
    return float(np.argmax(between))


def ink_free(image: Image.Image) -> Image.Image:
    """A grey page where coloured ink (stamps, signatures) is as light as the paper: each pixel's brightest channel."""
    rgb = image.convert("RGB")
    return Image.fromarray(np.asarray(rgb).max(axis=2))


def crop_to_page(gray: Image.Image) -> tuple[Image.Image, bool]:
    """Cut away the table around a photographed sheet: the rows and columns that are mostly bright paper."""
    small = gray.copy()
    small.thumbnail((600, 600))
    a = np.asarray(small)
    bright = a > otsu(a)
    rows = np.flatnonzero(bright.mean(axis=1) > 0.5)
    cols = np.flatnonzero(bright.mean(axis=0) > 0.5)
    if len(rows) < 10 or len(cols) < 10:
        return gray, False
    sy, sx = gray.height / a.shape[0], gray.width / a.shape[1]
    box = (int(cols[0] * sx), int(rows[0] * sy), int((cols[-1] + 1) * sx), int((rows[-1] + 1) * sy))
    area = (box[2] - box[0]) * (box[3] - box[1]) / (gray.width * gray.height)
    if area > 0.97 or area < 0.25:
        return gray, False
    return gray.crop(box), True


def even_light(gray: Image.Image) -> Image.Image:
    """Divide the page by its own background (text removed by a max filter, then blurred)."""
    small = gray.resize((max(1, gray.width // 8), max(1, gray.height // 8)), Image.BILINEAR)
    background = small.filter(ImageFilter.MaxFilter(7)).filter(ImageFilter.GaussianBlur(6)).resize(gray.size, Image.BILINEAR)
    a = np.asarray(gray, dtype=np.float32)
    b = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    return Image.fromarray(np.clip(a / b * 255.0, 0, 255).astype(np.uint8))


def skew_angle(gray: Image.Image) -> float:
    """The tilt, in degrees, that makes the text rows sharpest (largest variance of the row profile)."""
    small = gray.copy()
    small.thumbnail((1000, 1000))
    a = np.asarray(small)
    ink = Image.fromarray(((a < otsu(a)) * 255).astype(np.uint8))

    def score(angle: float) -> float:
        rows = np.asarray(ink.rotate(angle, resample=Image.NEAREST, fillcolor=0), dtype=np.float32).sum(axis=1)
        return float(np.var(np.diff(rows)))

    coarse = max(np.arange(-_DESKEW_RANGE, _DESKEW_RANGE + 0.01, 0.5), key=score)
    return float(max(np.arange(coarse - 0.5, coarse + 0.51, 0.1), key=score))


def threshold(gray: Image.Image) -> Image.Image:
    """Contrast stretched, then Otsu: black text on white."""
    stretched = ImageOps.autocontrast(gray, cutoff=1)
    a = np.asarray(stretched)
    return Image.fromarray(((a > otsu(a)) * 255).astype(np.uint8)).convert("1")


def prepare(image: Image.Image, upright: Callable[[Image.Image], int] | None = None) -> Prepared:
    """``image`` as Tesseract reads it best.  ``upright`` tells how many degrees (0, 90, 180,
    270) the page must turn counter-clockwise; it is Tesseract's orientation detection."""
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    gray = ink_free(image)
    gray, cropped = crop_to_page(gray)
    gray = even_light(gray)
    rotated = upright(gray) if upright else 0
    if rotated:
        gray = gray.rotate(rotated, expand=True, fillcolor=255)
    skew = skew_angle(gray)
    if abs(skew) >= 0.2:
        gray = gray.rotate(skew, resample=Image.BICUBIC, expand=True, fillcolor=255)
    log.debug("page prepared: rotated %d, skew %.1f, cropped %s", rotated, skew, cropped)
    return Prepared(threshold(gray), rotated, skew, cropped)
