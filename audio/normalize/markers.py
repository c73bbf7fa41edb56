"""Headings and list markers: what an announcer says instead of ``II.``, ``4.1.``, ``a)``, ``-``.

``II. NỘI DUNG`` → ``Phần hai. Nội dung``; ``1. Mục đích`` → ``Một. Mục đích``;
``4.1. Đối với`` → ``Bốn chấm một. Đối với``; ``b) ...`` → ``Bê. ...``; a leading dash or
bullet is silent.  Inline ``(i) ... (ii) ...`` become ``thứ nhất, ... thứ hai, ...``.
Roman numerals after words such as ``Đại hội``, ``khóa``, ``Mục`` are read as numbers,
and ``thứ 2`` as ``thứ hai`` (1 and 4 have their own ordinal words: nhất, tư).
"""

from __future__ import annotations

import re

from audio.normalize import numbers
from audio.normalize.letters import LETTER_NAMES

_ROMAN_HEADING = re.compile(r"^(?P<r>X{0,3}(?:IX|IV|V?I{0,3}))\s*[.\-–:)]\s+(?=\S)")
_NUMBER_HEADING = re.compile(r"^(?:(?P<multi>\d{1,2}(?:\.\d{1,2}){1,3})\.?|(?P<single>\d{1,2})[.)/])\s+(?=\S)")
_LETTER_HEADING = re.compile(r"^(?P<l>[a-hkđ])[.)]\s+(?=\S)")
_BULLET = re.compile(r"^(?:[-–—+]\s+|[•·◦▪]\s*)")
_INLINE_ROMAN = re.compile(r"\((?P<r>i{1,3}|iv|vi{0,3}|ix|x)\)")
_KEYWORD_ROMAN = re.compile(
    r"(?<![\w])(?P<kw>(?i:đại hội|khóa|khoá|mục|phần|chương|lần thứ|thứ|kỳ|kì|quý|điều|phụ lục|tập|thế kỷ|thế kỉ|hội nghị trung ương"
    r"|báo động|cấp độ|cấp|hạng|loại|vùng|khu vực))"
    r"\s+(?P<r>[IVXLC]+)(?![\w])"
)
_ORDINAL = re.compile(r"(?<![\w])(?P<kw>(?i:thứ))\s+(?P<n>\d{1,3})(?![\w]|[.,/]\d)")
_VALID_ROMAN = re.compile(r"C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")


def _roman_value(text: str) -> int | None:
    if not text or not _VALID_ROMAN.fullmatch(text) or not re.search("[IVX]", text):
        return None  # "hạng C", "loại L": a letter grade, not a numeral
    return numbers.roman(text)


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def split_marker(line: str) -> tuple[str, str]:
    """Split a leading heading or list marker into its spoken form and the rest of the line."""
    m = _ROMAN_HEADING.match(line)
    if m and m["r"]:
        return f"Phần {numbers.cardinal(numbers.roman(m['r']))}. ", line[m.end():]
    m = _NUMBER_HEADING.match(line)
    if m:
        label = m["multi"] or m["single"]
        return capitalize(" chấm ".join(numbers.integer(p) for p in label.split("."))) + ". ", line[m.end():]
    m = _LETTER_HEADING.match(line)
    if m:
        return capitalize(LETTER_NAMES[m["l"].upper()]) + ". ", line[m.end():]
    m = _BULLET.match(line)
    if m:
        return "", line[m.end():]
    return "", line


def read_ordinals(line: str) -> str:
    """Inline list markers, Roman numerals after their keywords, and ``thứ N``."""
    line = _INLINE_ROMAN.sub(lambda m: f"thứ {numbers.ordinal(numbers.roman(m['r'].upper()))},", line)

    def keyword_roman(m: re.Match[str]) -> str:
        value = _roman_value(m["r"])
        if value is None:
            return m.group(0)
        spoken = numbers.ordinal(value) if m["kw"].lower().endswith("thứ") else numbers.cardinal(value)
        return f"{m['kw']} {spoken}"

    line = _KEYWORD_ROMAN.sub(keyword_roman, line)
    return _ORDINAL.sub(lambda m: f"{m['kw']} {numbers.ordinal(int(m['n']))}", line)
