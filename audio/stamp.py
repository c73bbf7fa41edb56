"""The text of a digital-signature stamp, as a signed PDF's text layer carries it.

A document signed in the provinces' document systems carries a stamp box on its first or
last page: who signed (the body or the person), the e-mail, the agency, and the signing
time ("Ký bởi: Sở Y tế … Email: … Cơ quan: … Thời gian ký: 12.03.2025 15:20:11 +07:00").
Extracted or copied, the box becomes three to five short labelled lines, sometimes run
together on one.  None of it is read on air.

The labels "Ký bởi", "Người ký", "Thời gian ký" exist only in stamps, so a line made of them
is certain; "Email:", "Cơ quan:", "Chức vụ:" can be body text (a notice's contact line), so
they are weak and go only beside a certain stamp line.
"""

from __future__ import annotations

import re

STAMP = "Chữ ký số"

_VALUE = r"[^\n]{1,160}?"
_STRONG_LABEL = (
    r"(?:(?:được\s+)?ký\s+(?:số\s+)?bởi|người\s+ký|ký\s+số|thời\s+gian\s+ký|ngày\s+giờ\s+ký|ngày\s+ký|"
    r"signed\s+by|signing\s+time|signature\s+valid|chứng\s+thư\s+số|serial|nhà\s+cung\s+cấp\s+chứng\s+thư)"
)
_WEAK_LABEL = r"(?:e-?mail|cơ\s+quan|tổ\s+chức|chức\s+vụ|đơn\s+vị|organization|location|reason|lý\s+do|vị\s+trí)"
_LABEL = rf"(?:{_STRONG_LABEL}|{_WEAK_LABEL})"
_FIELD = rf"{_LABEL}\s*:\s*{_VALUE}"
_LINE = re.compile(rf"(?i:{_FIELD}(?:\s*[,;|]?\s+{_FIELD})*)\s*")
_STRONG = re.compile(rf"(?i:{_STRONG_LABEL})\s*:")
_VALID = re.compile(r"(?i:signature\s+valid|chữ\s+ký\s+hợp\s+lệ|đã\s+ký\s+số|văn\s+bản\s+(?:đã\s+)?được\s+ký\s+số)\.?")


def stamp_line(text: str) -> bool | None:
    """True when ``text`` (one whole line) is certainly stamp text, False when it may be
    (a weak labelled line), None when it is not stamp-shaped at all."""
    if not text or len(text) > 320:
        return None
    if _VALID.fullmatch(text):
        return True
    if not _LINE.fullmatch(text):
        return None
    return bool(_STRONG.match(text) or _STRONG.search(text))
