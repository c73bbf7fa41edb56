"""Tesseract with its Vietnamese model, run as a program, words and confidences kept.

Tesseract's TSV output gives every word with its box and confidence; :mod:`audio.intake.assemble`
turns the boxes into lines.  Tesseract reads with one thread: on a small shared machine
OpenMP threads only fight each other.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import subprocess
from dataclasses import dataclass

from PIL import Image

from audio.intake.model import IntakeError

log = logging.getLogger(__name__)

LANGUAGE = "vie"
_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_CONFIDENCE = re.compile(r"Orientation confidence:\s*([\d.]+)")


@dataclass(frozen=True)
class OcrWord:
    """One word as Tesseract saw it: its text, confidence (0-100) and box in pixels."""

    text: str
    confidence: float
    left: int
    top: int
    right: int
    bottom: int
    line: tuple[int, int, int]


def _env() -> dict[str, str]:
    # One thread per page: on a small shared machine, OpenMP threads only fight each other.
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def _run(args: list[str], image: Image.Image, timeout_s: float, quiet: bool = False) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    try:
        done = subprocess.run(["tesseract", "-", "stdout", *args], input=buf.getvalue(), capture_output=True,
                              timeout=timeout_s, env=_env(), check=False)
    except FileNotFoundError:
        raise IntakeError("ocr_unavailable", "Máy chủ chưa cài chương trình nhận dạng chữ (Tesseract); "
                                             "hãy báo quản trị viên.") from None
    except subprocess.TimeoutExpired:
        raise IntakeError("ocr_timeout", f"Nhận dạng chữ quá {timeout_s:.0f} giây cho một trang; "
                                         "hãy chụp lại ảnh nhỏ hơn hoặc rõ hơn.") from None
    if done.returncode != 0:
        (log.debug if quiet else log.warning)("tesseract failed: %s", done.stderr.decode(errors="replace")[-500:])
        raise IntakeError("ocr_failed", "Không nhận dạng được chữ trong ảnh này; hãy chụp lại rõ hơn.")
    return done.stdout.decode("utf-8", errors="replace")


def orientation(image: Image.Image, timeout_s: float = 30.0) -> int:
    """Degrees to turn ``image`` counter-clockwise so its text stands upright (0 when unsure)."""
    small = image.copy()
    small.thumbnail((1600, 1600))
    try:
        out = _run(["--psm", "0", "--dpi", "300"], small, timeout_s, quiet=True)
    except IntakeError:
        return 0  # too little text to tell: leave the page as it is
    rotate, confidence = _ROTATE.search(out), _CONFIDENCE.search(out)
    if not rotate or not confidence or float(confidence.group(1)) < 1.5:
        return 0
    return (360 - int(rotate.group(1))) % 360  # Tesseract says clockwise; Pillow turns counter-clockwise


def recognise(image: Image.Image, timeout_s: float = 120.0) -> list[OcrWord]:
    """Every word Tesseract reads on a prepared page, in its reading order."""
    tsv = _run(["-l", LANGUAGE, "--psm", "3", "--dpi", "300", "tsv"], image, timeout_s)
    words: list[OcrWord] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        left, top = int(row["left"]), int(row["top"])
        words.append(OcrWord(text, max(0.0, float(row["conf"])), left, top, left + int(row["width"]),
                             top + int(row["height"]), (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))))
    return words
