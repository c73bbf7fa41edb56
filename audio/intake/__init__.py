"""Documents in: plain text, Word, PDF (text layer or scan) and phone photos, read by content.

:func:`read_document` is the one entry point; see :mod:`audio.intake.read`.
"""

from audio.intake.model import Document, IntakeError, IntakeLimits, PageImage, Word
from audio.intake.read import ACCEPTED, read_document

__all__ = ["ACCEPTED", "Document", "IntakeError", "IntakeLimits", "PageImage", "Word", "read_document"]
