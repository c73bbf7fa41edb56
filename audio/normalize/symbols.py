"""Symbols and punctuation: what is said (``~`` khoảng, ``±`` cộng trừ, ``&`` và) and what is not.

Bulletins pasted from social media carry emoji (📢, ⚠️, 👉, 1️⃣); a speech engine reads
their names or stumbles, so they are dropped before any other rule looks at the line.
Dashes keep a pause where they separate phrases (``Độc lập - Tự do``) and none inside a
compound (``kinh tế-xã hội``).  A slash left after every other rule is ``trên`` after a
unit word and ``hoặc`` between other words (``xã/phường``).
"""

from __future__ import annotations

import re
import unicodedata

from audio.normalize.plain import SPACES
from audio.normalize.quantities import NUMBER, PER_WORDS

_KEPT_SYMBOLS = frozenset("°℃")
_KEYCAP = re.compile(r"[0-9#*]\ufe0f?\u20e3")
_EMOJI_PARTS = re.compile(r"[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
_BETWEEN_PHRASES = re.compile(r"(?<=\w)[\s\x00]*\x00[\s\x00]*(?=[^\W\d_])(?=[A-ZĐÀ-Ỹ])")
_ARROWS = re.compile(r"\s*[\u2190-\u21ff\u27f0-\u27ff\u2900-\u297f]+\s*")

_APPROXIMATELY = re.compile(rf"(?<![\w~∼≈])(?P<said>(?i:khoảng|chừng|xấp xỉ|tầm|gần)\s*)?[~∼≈]\s*(?=\d|[^\W\d_])")
# An arrow between two numbers or times is a range: "20h → 5h sáng".
_ARROW_RANGE = re.compile(r"(?<=[\dh])\s*[\u2192\u21d2\u2794\u279d\u27f6]\s*(?=\d)")
_TILDE_RANGE = re.compile(rf"(?P<a>{NUMBER})\s*[~∼]\s*(?P<b>{NUMBER})")
_SLASH = re.compile(r"(?<=\w)\s*/\s*(?=\w)")
_WORD_HYPHEN = re.compile(r"(?<=\w)[\-‐–](?=\w)")
_SPACED_DASH = re.compile(r"(?P<before>[”\")]?)\s+[\-–—]\s+(?P<after>[“\"(]?)(?P<next>\w?)")
_SILENT = re.compile(r"[*_#`~|\\^=\[\]{}\-–—]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.;:!?…)”])")
_SPACE_AFTER_OPEN = re.compile(r"(?<=[(“])\s+")
_REPEATED_COMMA = re.compile(r",(?:\s*,)+")
# "từ Quảng Trị-Quảng Ngãi", "từ Nghệ An - Hà Tĩnh": a stretch between two places.
_PLACE_RANGE = re.compile(r"(?P<start>(?<![\w])(?i:từ)\s+(?:[A-ZĐ][^\W\d_]*\s){0,3}[A-ZĐ][^\W\d_]*)\s*[-–—]\s*(?=[A-ZĐ])")
_SYMBOLS = (("&", " và "), ("±", " cộng trừ "), ("+", " cộng "), ("‰", " phần nghìn "), ("%", " phần trăm "),
            ("≥", " lớn hơn hoặc bằng "), ("≤", " nhỏ hơn hoặc bằng "), ("≈", " khoảng "), ("∼", " khoảng "),
            (">", " lớn hơn "), ("<", " nhỏ hơn "), ("@", " a còng "), ("°", " độ "), ("№", " số "),
            ("‼", "!"), ("⁉", "?"))


def without_emoji(line: str) -> str:
    """Drop emoji, pictographs and arrows (``📢 THÔNG BÁO`` → ``THÔNG BÁO``); keep ``°``."""
    line = _KEYCAP.sub(" ", line.replace("℃", "°C"))
    line = _ARROW_RANGE.sub(" đến ", line)
    line = _EMOJI_PARTS.sub("", line)
    line = _ARROWS.sub(" ", line)
    kept = "".join(
        "\x00" if unicodedata.category(c) == "So" and c not in _KEPT_SYMBOLS or 0x1F000 <= ord(c) <= 0x1FAFF else c
        for c in line
    )
    if kept == line:
        return line
    # An emoji between two phrases stood for a pause: "THÔNG BÁO 📢 Đeo khẩu trang".
    kept = _BETWEEN_PHRASES.sub(", ", kept).replace("\x00", " ")
    return SPACES.sub(" ", kept).strip()


def approximately(line: str) -> str:
    """``~50mm``, ``~ cấp 6`` → ``khoảng …``; ``50~100`` is a range, read by the range rule;
    ``khoảng ~200`` says it once."""
    line = _TILDE_RANGE.sub(lambda m: f"{m['a']}-{m['b']}", line)
    return _APPROXIMATELY.sub(lambda m: m["said"] or "khoảng ", line)


def _slash(m: re.Match[str]) -> str:
    before = m.string[max(0, m.start() - 24): m.start()].split()
    return " trên " if before and before[-1].lower() in PER_WORDS else " hoặc "


def _spaced_dash(m: re.Match[str]) -> str:
    pause = m["before"] or m["after"] or m["next"][:1].isupper()
    return f"{m['before']}{',' if pause else ''} {m['after']}{m['next']}"


def read_symbols(line: str) -> str:
    """Speak the symbols left, silence markup, and tidy the spaces around punctuation."""
    line = _PLACE_RANGE.sub(r"\g<start> đến ", line)
    for symbol, spoken in _SYMBOLS:
        line = line.replace(symbol, spoken)
    line = _SLASH.sub(_slash, line).replace("/", " ")
    line = _WORD_HYPHEN.sub(" ", line)
    line = _SPACED_DASH.sub(_spaced_dash, line)
    line = _SILENT.sub(" ", line)
    line = SPACES.sub(" ", line)
    line = _SPACE_BEFORE_PUNCT.sub("", line)
    line = _SPACE_AFTER_OPEN.sub("", line)
    return _REPEATED_COMMA.sub(",", line).strip(" ,")
