"""Abbreviations whose reading depends on what follows them.

``SN`` is *sinh năm* before a year of birth (``Ông Trần Văn B, SN 1975``) and *số nhà*
before a house number (``SN 12 đường Lê Lợi``, ``SN 45/2``).  One dictionary entry cannot
say both, and spelled (*ét en*) it means nothing to a listener.
"""

from __future__ import annotations

import re

_BORN = re.compile(r"(?<![\w])(?:SN|Sn|sn)\.?\s*:?\s*(?=(?:19|20)\d\d(?![\w/]|[.,]\d))")
_HOUSE = re.compile(r"(?<![\w])SN\.?\s*:?\s*(?=\d{1,4}[A-Z]?(?:\s*/\s*\d+[A-Z]?)*(?![\w]|[.,]\d))")


def read_contextual(line: str) -> str:
    """``SN 1975`` → ``sinh năm 1975``; ``SN 12`` → ``số nhà 12`` (the numbers stay for the number rules)."""
    return _HOUSE.sub("số nhà ", _BORN.sub("sinh năm ", line))
