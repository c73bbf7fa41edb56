"""Plain text as both the cleaner and the normalizer expect it.

Word and PDF exports carry decomposed accents, zero-width characters, soft hyphens,
non-breaking spaces and Word bookmark markers; two texts that look alike must compare
alike before any rule looks at them.
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")


def plain(text: str) -> str:
    """NFC-composed text without invisible characters (spacing is left to the caller)."""
    return unicodedata.normalize("NFC", text).translate(_INVISIBLE)

_END_MARK = re.compile(r"\s*\.?/\.\s*$")
_TRAILING_SLASH = re.compile(r"\s+/\s*$")


def without_end_marks(line: str) -> str:
    """Drop the clerical end mark of a document (``thực hiện./.``, ``thực hiện. /``)."""
    return _TRAILING_SLASH.sub("", _END_MARK.sub(".", line))
