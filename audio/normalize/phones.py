"""Telephone numbers, read digit by digit in the groups they are written in.

``0912 345 678`` → ``không chín một hai, ba bốn năm, sáu bảy tám``; a hotline such as
``1900 9095`` or an emergency number after ``gọi`` (``gọi 115``) likewise.  A number is a
telephone number when it starts with 0 and has ten or eleven digits, starts with +84,
is a 1800/1900 service number, or follows words such as ``điện thoại`` or ``đường dây nóng``.
Account and identity numbers (after ``tài khoản``, ``mã số``, ``CCCD``) are read the same way.
"""

from __future__ import annotations

import re

from audio.normalize import numbers

_LOCAL = re.compile(r"(?<![\w.,/+])\(?0\d{1,3}\)?(?:[ .\-]?\d{2,4}){2,3}(?![\w]|[.,]\d)")
_INTERNATIONAL = re.compile(r"(?<![\w])\+84[ .\-]?\d{1,3}(?:[ .\-]?\d{2,4}){2,3}(?![\w]|[.,]\d)")
_SERVICE = re.compile(r"(?<![\w.,])(?:1800|1900)[ .]?\d{3,6}(?![\w]|[.,]\d)")
_AFTER_KEYWORD = re.compile(
    r"(?<![\w])(?P<kw>(?i:điện thoại|đt|sđt|hotline|đường dây nóng|tổng đài|số máy|gọi(?: ngay)?(?: đến| tới| vào)?"
    r"|tài khoản|stk|mã số|căn cước|cccd|cmnd))"
    r"(?P<gap>\s*(?:(?i:số)\s*)?:?\s*)(?P<num>\d{3,}(?:[ .\-]\d{2,})*)(?![\w]|[.,]\d)"
)


def _groups(number: str) -> list[str]:
    groups = [g for g in re.split(r"[^\d+]+", number) if g]
    if len(groups) == 1 and len(groups[0]) in (10, 11):
        g = groups[0]
        groups = [g[:4], g[4:7], g[7:]] if len(g) == 10 else [g[:3], g[3:7], g[7:]]
    return groups


def speak_phone(number: str) -> str:
    spoken = []
    for group in _groups(number):
        prefix = "cộng " if group.startswith("+") else ""
        spoken.append(prefix + numbers.digits(group))
    return ", ".join(spoken)


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def read_phones(line: str) -> str:
    line = _AFTER_KEYWORD.sub(lambda m: f"{m['kw']}{m['gap']}{speak_phone(m['num'])}", line)
    line = _INTERNATIONAL.sub(lambda m: speak_phone(m.group(0)), line)
    line = _SERVICE.sub(lambda m: speak_phone(m.group(0)), line)

    def local(m: re.Match[str]) -> str:
        return speak_phone(m.group(0)) if _digit_count(m.group(0)) in (10, 11) else m.group(0)

    return _LOCAL.sub(local, line)
