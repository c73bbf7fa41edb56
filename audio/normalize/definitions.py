"""An abbreviation defined in parentheses is not read twice.

Documents introduce their abbreviations: ``Ủy ban nhân dân (UBND)``, ``Ban Quản lý dự án
(BQLDA)``, ``sốt xuất huyết (SXH)``.  Read by the dictionary, that became *Ủy ban nhân dân
(Ủy ban nhân dân)*; spelled, *… (bê quy e lờ dê a)*.  An announcer skips the parenthesis:
it is there for the reader.  A parenthesis is such a definition when its letters are the
initials of the words just before it, or when the dictionary's reading of it stands just
before it.
"""

from __future__ import annotations

import re
import unicodedata

from audio.normalize.dictionary import Abbreviations

_DEFINED = re.compile(r"\s*\((?P<abbr>[A-ZĐ][A-Za-zĐđ&]{1,11})\)")
_WORD = re.compile(r"[^\W\d_]+")
_LOOKBACK = 80


def _bare(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"\w+", bare))


def _initials_match(abbr: str, before: str) -> bool:
    letters = _bare(abbr).replace(" ", "")
    # "thiên tai và tìm kiếm (PCTT&TKCN)": the "and" has no letter of its own.
    words = [w for w in _WORD.findall(before) if w.casefold() != "và"] if "&" in abbr else _WORD.findall(before)
    if len(letters) < 2 or len(words) < len(letters):
        return False
    return "".join(_bare(w)[0] for w in words[-len(letters):]) == letters


def _spoken_before(abbr: str, before: str, dictionary: Abbreviations) -> bool:
    spoken = dictionary.lookup(abbr)
    return bool(spoken) and _bare(spoken) in _bare(before)


def drop_definitions(line: str, dictionary: Abbreviations) -> str:
    if "(" not in line:
        return line

    def one(m: re.Match[str]) -> str:
        abbr = m["abbr"]
        if not any(c.isupper() for c in abbr[1:]):
            return m.group(0)  # "(Hà)", "(Tổng)": a word, not an abbreviation
        before = m.string[max(0, m.start() - _LOOKBACK): m.start()]
        if _initials_match(abbr, before) or _spoken_before(abbr, before, dictionary):
            return ""
        return m.group(0)

    return _DEFINED.sub(one, line)
