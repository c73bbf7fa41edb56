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
    r"|tài khoản|stk|mã số|căn cước|cccd|cmnd)|TK)"
    r"(?P<gap>\s*(?:(?i:số)\s*)?:?\s*)(?P<num>\d{3,}(?:[ .\-]\d{2,})*)(?![\w]|[.,]\d)"
)

# The short emergency numbers: 111 (children), 112 (rescue), 113 (police), 114 (fire), 115 (ambulance).
_SHORT = r"11[1-5]"
_SHORT_LIST = re.compile(
    rf"(?<![\w.,/])(?P<list>{_SHORT}(?:\s*(?:,|;|/|-|–|(?i:hoặc|và))\s*{_SHORT})*)(?![\w]|[.,]\d)"
)
_SHORT_NAMED = re.compile(r"^\s*\(?\s*(?i:công an|cảnh sát|cứu hỏa|cứu nạn|cấp cứu|cứu thương|bảo vệ trẻ em|khẩn cấp)")


def _short_numbers(line: str) -> str:
    """``gọi 113, 114 hoặc 115`` → digit by digit, each: they are dialled, not counted.

    Read so only in a list of them, after a telephone word with only other numbers between,
    or before the service they reach; ``113 hộ dân`` stays a count.
    """
    def one(m: re.Match[str]) -> str:
        items = re.findall(_SHORT, m["list"])
        cue = _PHONE_WORD_BEFORE.search(m.string[: m.start()]) or _SHORT_NAMED.match(m.string[m.end():])
        if len(items) < 2 and not cue:
            return m.group(0)
        return re.sub(_SHORT, lambda n: numbers.digits(n.group(0)), m["list"])

    return _SHORT_LIST.sub(one, line)


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


_PHONE_WORD_BEFORE = re.compile(
    r"(?<![\w])(?i:điện thoại|đt|sđt|hotline|đường dây nóng|tổng đài|số máy|gọi|khẩn cấp)"
    r"(?:[\s\d.,:;()\-–/+]|(?i:hoặc|và|số|ngay|đến|tới|vào)(?![\w]))*$"
)


def read_phones(line: str) -> str:
    line = _short_numbers(line)
    line = _AFTER_KEYWORD.sub(lambda m: f"{m['kw']}{m['gap']}{speak_phone(m['num'])}", line)
    line = _INTERNATIONAL.sub(lambda m: speak_phone(m.group(0)), line)
    line = _SERVICE.sub(lambda m: speak_phone(m.group(0)), line)

    def local(m: re.Match[str]) -> str:
        return speak_phone(m.group(0)) if _digit_count(m.group(0)) in (10, 11) else m.group(0)

    return _LOCAL.sub(local, line)
