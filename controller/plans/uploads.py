"""An uploaded document (text, Word, PDF, scan or phone photo) read for the compose page.

The reading is :mod:`audio.intake`'s; this module is the controller's door to it: it turns
a refusal into an :class:`InputError` with the reader's Vietnamese message, and the
:class:`Document` into what the page shows: the text, the page images beside it, and the
OCR words read with low confidence, which the official must look at before the preview.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

from pathlib import PurePath

from audio.intake import IntakeError, IntakeLimits, read_document
from audio.intake.sniff import NAMES, claimed
from audio.progress import ProgressCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadUpload:
    """The page's view of one upload (see :meth:`to_dict`)."""

    text: str
    kind: str
    pages: int
    ocr: bool
    low_confidence: tuple[dict[str, Any], ...]
    images: tuple[dict[str, Any], ...]
    notices: tuple[str, ...]
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind, "pages": self.pages, "ocr": self.ocr,
                "low_confidence": list(self.low_confidence), "images": list(self.images),
                "notices": list(self.notices), "threshold": self.threshold}


def read_upload(data: bytes, name: str, limits: IntakeLimits = IntakeLimits(),
                progress: ProgressCallback | None = None) -> ReadUpload:
    """Read ``data`` by its content; raises ``InputError`` (code from the reader) when it cannot be read."""
    from controller.errors import InputError

    try:
        doc = read_document(data, name, limits, progress)
    except IntakeError as exc:
        log.info("refused upload %s: %s", name, exc.code)
        raise InputError(exc.code, exc.message, "file") from None
    said = claimed(name)
    if doc.kind == "text" and said in ("docx", "pdf", "image"):
        # A Word file, a PDF or a photo that holds bare text is a broken or truncated file:
        # what it says is not what the official meant to send.
        raise InputError("not_what_it_claims",
                         f"Tệp “{PurePath(name).name}” mang đuôi của {NAMES[said]} nhưng bên trong chỉ là chữ thường: "
                         "tệp bị hỏng hoặc tải về chưa hết. Hãy mở lại tệp gốc, hoặc dán nội dung vào ô văn bản.", "file")
    words = tuple(
        {"text": w.text, "confidence": round(w.confidence, 1), "page": w.page, "start": w.start, "end": w.end}
        for w in doc.low_confidence(limits.low_confidence)
    )
    images = tuple(
        {"page": im.number, "width": im.width, "height": im.height,
         "src": "data:image/jpeg;base64," + base64.b64encode(im.jpeg).decode("ascii")}
        for im in doc.images
    )
    return ReadUpload(doc.text, doc.kind, doc.pages, doc.ocr, words, images, doc.notices, limits.low_confidence)
