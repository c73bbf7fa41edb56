"""What reading an uploaded document gives back, and the one error it raises.

Every reader returns a :class:`Document`: the text in the line layout the bulletin
cleaner knows, plus, for text that came from OCR, each word's confidence and where it
sits in that text, so the compose page can mark the doubtful words for the official.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


class IntakeError(Exception):
    """A file that cannot be read; ``message`` is Vietnamese, for the official who uploaded it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IntakeLimits:
    """How much one upload may ask of the machine; refusals name the limit."""

    max_bytes: int = 50 * MB
    max_pages: int = 30
    max_image_pixels: int = 60_000_000
    low_confidence: float = 75.0
    ocr_timeout_s: float = 120.0
    preview_pages: int = 10
    preview_width: int = 1000


@dataclass(frozen=True)
class Word:
    """One OCR word: ``start``/``end`` are its character offsets in :attr:`Document.text`.

    ``confidence`` is Tesseract's, 0 to 100.
    """

    text: str
    confidence: float
    page: int
    start: int
    end: int


@dataclass(frozen=True)
class PageImage:
    """A page as the official sees it beside the extracted text (JPEG, downscaled)."""

    number: int
    jpeg: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Document:
    """An uploaded file, read.

    ``kind`` names the reader that the content (not the name) chose: text, docx, pdf
    (text layer), pdf-scan or image.  ``notices`` are Vietnamese remarks for the official,
    such as a file whose name claims another type.
    """

    text: str
    kind: str
    pages: int = 1
    words: tuple[Word, ...] = ()
    images: tuple[PageImage, ...] = ()
    notices: tuple[str, ...] = ()
    dropped_lines: tuple[str, ...] = field(default=())

    @property
    def ocr(self) -> bool:
        return self.kind in ("pdf-scan", "image")

    def low_confidence(self, threshold: float) -> tuple[Word, ...]:
        """The words the official must look at: those read with less than ``threshold`` confidence."""
        return tuple(w for w in self.words if w.confidence < threshold)
