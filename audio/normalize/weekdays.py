"""Weekday ranges and lists: ``thứ 2-thứ 6``, ``thứ Hai - thứ Sáu``, ``thứ 7, CN``.

Office hours and vaccination days are written with a dash between weekdays, which the
general rules read as a pause (*thứ hai thứ sáu*), and ``CN`` beside a weekday is Sunday,
not the dictionary's *cử nhân*.  The weekday numbers themselves are left to the ordinal
rule (``thứ 2`` → *thứ hai*).
"""

from __future__ import annotations

import re

_DAY = r"(?i:thứ)\s*(?:[2-7]|(?i:hai|ba|tư|năm|sáu|bảy))(?![\w])"
_SUNDAY = r"(?:CN|(?i:chủ nhật))(?![\w])"
_RANGE = re.compile(rf"(?P<a>{_DAY})\s*[-–—]\s*(?P<b>{_DAY}|{_SUNDAY})")
_CN_AFTER_DAY = re.compile(rf"(?P<day>{_DAY})(?P<sep>\s*(?:,|và|hoặc|/)\s*|\s*[-–—]\s*)CN(?![\w])")
_CN_IN_DAYS = re.compile(r"(?P<kw>(?i:các ngày|ngày|sáng|chiều|tối|trưa))\s+CN(?![\w])")


def read_weekdays(line: str) -> str:
    if "thứ" not in line.lower() and "CN" not in line:
        return line
    line = _CN_AFTER_DAY.sub(lambda m: m["day"] + (" đến " if m["sep"].strip() in "-–—" and m["sep"].strip() else m["sep"])
                             + "chủ nhật", line)
    line = _CN_IN_DAYS.sub(lambda m: f"{m['kw']} chủ nhật", line)
    return _RANGE.sub(lambda m: f"{m['a']} đến {m['b']}", line)
