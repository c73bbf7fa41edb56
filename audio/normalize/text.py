"""The normalization pipeline: one written line in, one spoken line out.

The order of the steps matters and is the point of this module: document references and
telephone numbers are claimed before the dictionary (their letters are not abbreviations
to expand), the dictionary before dates and numbers (``F0``, ``5K``, ``COVID-19`` hold
digits), dates and times before plain numbers, and upper-case words last, so that only
what no rule explained is spelled.
"""

from __future__ import annotations

import re

from audio.normalize import numbers
from audio.normalize.dates import read_dates, read_times
from audio.normalize.dictionary import Abbreviations
from audio.normalize.letters import read_codes, speak_capitals
from audio.normalize.markers import capitalize, read_ordinals, split_marker
from audio.normalize.phones import read_phones
from audio.normalize.plain import BOOKMARK, SPACES, plain, without_end_marks
from audio.normalize.quantities import PER_WORDS, read_numbers, read_quantities, read_ranges
from audio.normalize.references import read_references

_ROUND_THE_CLOCK = re.compile(r"(?<![\w])24\s*(?P<h>h|giờ)?\s*/\s*7(?![\w]|[.,]\d)")
_SLASH = re.compile(r"(?<=\w)\s*/\s*(?=\w)")
_WORD_HYPHEN = re.compile(r"(?<=\w)[\-‐–](?=\w)")
_SPACED_DASH = re.compile(r"(?P<before>[”\")]?)\s+[\-–—]\s+(?P<after>[“\"(]?)(?P<next>\w?)")
_SILENT = re.compile(r"[*_#`~|\\^=\[\]{}\-–—]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.;:!?…)”])")
_SPACE_AFTER_OPEN = re.compile(r"(?<=[(“])\s+")
_REPEATED_COMMA = re.compile(r",(?:\s*,)+")
_SYMBOLS = (("&", " và "), ("+", " cộng "), ("%", " phần trăm "), ("≥", " lớn hơn hoặc bằng "),
            ("≤", " nhỏ hơn hoặc bằng "), (">", " lớn hơn "), ("<", " nhỏ hơn "), ("@", " a còng "),
            ("°", " độ "))


def _prepare(line: str) -> str:
    line = plain(line)
    line = BOOKMARK.sub("", line).replace("*", "")
    line = without_end_marks(line)
    return SPACES.sub(" ", line).strip()


def _round_the_clock(m: re.Match[str]) -> str:
    return "hai mươi tư giờ trên bảy" if m["h"] else "hai mươi tư trên bảy"


def _slash(m: re.Match[str]) -> str:
    before = m.string[max(0, m.start() - 24): m.start()].split()
    return " trên " if before and before[-1].lower() in PER_WORDS else " hoặc "


def _spaced_dash(m: re.Match[str]) -> str:
    pause = m["before"] or m["after"] or m["next"][:1].isupper()
    return f"{m['before']}{',' if pause else ''} {m['after']}{m['next']}"


def _symbols(line: str) -> str:
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


def normalize_line(line: str, dictionary: Abbreviations) -> str:
    """Normalize one line; the result never contains a line break."""
    line = _prepare(line)
    if not line:
        return ""
    prefix, rest = split_marker(line)
    starts_upper = next((c.isupper() for c in rest if c.isalnum()), False)
    rest = _ROUND_THE_CLOCK.sub(_round_the_clock, rest)
    rest = read_references(rest, dictionary)
    rest = read_phones(rest)
    rest = dictionary.expand(rest)
    rest = read_times(read_dates(read_ranges(rest)))
    rest = read_ordinals(rest)
    rest = read_quantities(rest)
    rest = read_codes(rest, numbers.integer)
    rest = read_numbers(rest)
    rest = _symbols(speak_capitals(rest))
    if prefix or starts_upper:
        rest = capitalize(rest)
    return (prefix + rest).strip()


def normalize_text(text: str, dictionary: Abbreviations) -> str:
    """Normalize line by line: the output has exactly as many lines as the input."""
    return "\n".join(normalize_line(line.rstrip("\r"), dictionary) for line in text.split("\n"))
