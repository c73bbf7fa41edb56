"""Abbreviations whose reading depends on what follows them.

``SN`` is *sinh năm* before a year of birth (``Ông Trần Văn B, SN 1975``) and *số nhà*
before a house number (``SN 12 đường Lê Lợi``, ``SN 45/2``); ``THT`` is a cooperative or,
beside livestock, a cattle disease.  One dictionary entry cannot say both, and spelled
(*ét en*) it means nothing to a listener.
"""

from __future__ import annotations

import re

_BORN = re.compile(r"(?<![\w])(?:SN|Sn|sn)\.?\s*:?\s*(?=(?:19|20)\d\d(?![\w/]|[.,]\d))")
_HOUSE = re.compile(r"(?<![\w])SN\.?\s*:?\s*(?=\d{1,4}[A-Z]?(?:\s*/\s*\d+[A-Z]?)*(?![\w]|[.,]\d))")

# "THT" is a cooperative (tổ hợp tác) in an economic notice, and the cattle disease
# (tụ huyết trùng) beside foot-and-mouth, vaccines and livestock.
_THT = re.compile(r"(?<![\w])THT(?![\w])")
_LIVESTOCK = re.compile(r"(?i:LMLM|lở mồm|tiêm phòng|vắc xin|vaccine|trâu|bò|lợn|heo|gia súc|gia cầm|dịch bệnh|thú y)")

# "TT" is thông tin alone, but the standing committee (Thường trực) before a council or a
# Party committee, and a centre (Trung tâm) before what it serves.
_TT_STANDING = re.compile(r"(?<![\w])TT(?=\s+(?:HĐND|UBND|UBMTTQ|MTTQ|Đảng ủy|Đảng uỷ|ĐU|HU|TU|Huyện ủy|Tỉnh ủy|Thành ủy)(?![\w]))")
_TT_CENTRE = re.compile(r"(?<![\w])TT(?=\s+(?:Y tế|Văn hóa|Giáo dục|GDNN|Dạy nghề|Hành chính|Phục vụ|Chính trị)(?![\w]))")


def read_contextual(line: str) -> str:
    """``SN 1975`` → ``sinh năm 1975``; ``SN 12`` → ``số nhà 12``; ``THT`` beside livestock → tụ huyết trùng;
    ``TT HĐND`` → ``Thường trực HĐND``, ``TT Y tế`` → ``Trung tâm Y tế``."""
    line = _TT_CENTRE.sub("Trung tâm", _TT_STANDING.sub("Thường trực", line))
    if _LIVESTOCK.search(line):
        line = _THT.sub("tụ huyết trùng", line)
    return _HOUSE.sub("số nhà ", _BORN.sub("sinh năm ", line))
