"""OCR words back into the lines of the page, as the bulletin cleaner expects them.

Tesseract often reads the two header columns as one line ("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ
HỘI…") or as separate blocks.  Either way the words keep their boxes, so the page is
redrawn as fixed-width text (each word at its x position, rows by their y position) and
handed to the same :func:`audio.intake.layout.rebuild_columns` as a PDF's text layer.

Stamps and signatures leave marks that Tesseract reads as short runs of symbols with low
confidence; such words and line pieces are dropped here and listed, never read aloud.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass
from statistics import median

from audio.intake.layout import rebuild_columns
from audio.intake.ocr import OcrWord

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Piece:
    """Words of one line lying close together (one column's part of that line)."""

    words: tuple[OcrWord, ...]

    @property
    def left(self) -> int:
        return self.words[0].left

    @property
    def right(self) -> int:
        return self.words[-1].right

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        return sum(w.confidence for w in self.words) / len(self.words)


@dataclass(frozen=True)
class AssembledPage:
    text: str
    words: tuple[tuple[OcrWord, int, int], ...]
    dropped: tuple[str, ...]


def is_noise(text: str, confidence: float) -> bool:
    """A stamp's ring or a signature's scrawl: few letters among few characters, read without
    confidence, or anything Tesseract itself hardly believes (the official sees these in the
    compare step as dropped)."""
    chars = text.replace(" ", "")
    if not chars or confidence < 35:
        return True
    letters = sum(c.isalpha() for c in chars) / len(chars)
    mostly_symbols, short = letters < 0.6, len(chars) <= 12
    return (confidence < 60 and (mostly_symbols or short)) or (mostly_symbols and short and confidence < 80)


def _junk_word(w: OcrWord) -> bool:
    return not any(c.isalnum() for c in w.text) and w.confidence < 50


def _pieces(words: list[OcrWord], char_w: float) -> list[_Piece]:
    words = sorted(words, key=lambda w: w.left)
    groups: list[list[OcrWord]] = [[words[0]]]
    for w in words[1:]:
        if w.left - groups[-1][-1].right > 3 * char_w:
            groups.append([w])
        else:
            groups[-1].append(w)
    return [_Piece(tuple(g)) for g in groups]


def _spread(piece: _Piece, columns: int) -> str:
    """The piece's words with up to three spaces between them, so the text spans about ``columns`` characters."""
    texts = [w.text for w in piece.words]
    gaps = len(texts) - 1
    extra = max(0, columns - len(" ".join(texts)))
    if not gaps or not extra:
        return " ".join(texts)
    each = min(2, extra // gaps)
    return (" " * (1 + each)).join(texts)


def assemble(words: list[OcrWord]) -> AssembledPage:
    """The page's text in reading order, each kept word with its offsets in that text, and the noise dropped."""
    dropped = [w.text for w in words if _junk_word(w)]
    words = [w for w in words if not _junk_word(w)]
    if not words:
        return AssembledPage("", (), tuple(dropped))
    char_w = median((w.right - w.left) / len(w.text) for w in words)
    height = median(w.bottom - w.top for w in words)
    by_line: dict[tuple[int, int, int], list[OcrWord]] = defaultdict(list)
    for w in words:
        by_line[w.line].append(w)
    pieces: list[_Piece] = []
    for line_words in by_line.values():
        for piece in _pieces(line_words, char_w):
            if is_noise(piece.text, piece.confidence):
                dropped.append(piece.text)
            else:
                pieces.append(piece)
    rows: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: median(w.top for w in p.words)):
        top = median(w.top for w in piece.words)
        if rows and abs(top - median(w.top for w in rows[-1][0].words)) < height * 0.6:
            rows[-1].append(piece)
        else:
            rows.append([piece])
    lines: list[str] = []
    order: list[OcrWord] = []
    last_bottom = None
    for row in rows:
        row.sort(key=lambda p: p.left)
        top = min(w.top for p in row for w in p.words)
        if last_bottom is not None and top - last_bottom > height * 1.1:
            lines.append("")
        last_bottom = max(w.bottom for p in row for w in p.words)
        line = ""
        for piece in row:
            at = round(piece.left / char_w)
            line += " " * max(at - len(line), 4 if line else 0) + _spread(piece, round((piece.right - piece.left) / char_w))
            order.extend(piece.words)
        lines.append(line)
    text = rebuild_columns("\n".join(lines)).strip("\n")
    return AssembledPage(text, _locate(text, order), tuple(dropped))


def _locate(text: str, order: list[OcrWord]) -> tuple[tuple[OcrWord, int, int], ...]:
    """Each word of ``text`` matched to the OCR word it came from (same text, earliest unused)."""
    pending: dict[str, deque[OcrWord]] = defaultdict(deque)
    for w in order:
        pending[w.text].append(w)
    found = []
    for m in _WORD.finditer(text):
        queue = pending.get(m.group())
        if queue:
            found.append((queue.popleft(), m.start(), m.end()))
    return tuple(found)
