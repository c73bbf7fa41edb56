"""Upper-case words: read the Vietnamese ones as words, spell the rest letter by letter.

A heading such as ``II. NỘI DUNG TUYÊN TRUYỀN`` must be read as words, while an unknown
acronym such as ``ATTT`` must be spelled (``a tê tê tê``), the way a listener would hear it
from an announcer.  Telling them apart needs no word list: a Vietnamese syllable has a
fixed shape (onset, vowel nucleus, limited set of final consonants), and acronyms do not.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

from audio.normalize import numbers

LETTER_NAMES = {
    "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "Ê": "ê",
    "F": "ép", "G": "giê", "H": "hát", "I": "i", "J": "gi", "K": "ca", "L": "e lờ", "M": "em",
    "N": "en", "O": "ô", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy", "R": "e rờ", "S": "ét",
    "T": "tê", "U": "u", "Ư": "ư", "V": "vê", "W": "vê kép", "X": "ích", "Y": "i", "Z": "dét",
}
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"[aăâeêioôơuưy]{1,3}"
    r"(?:ch|ng|nh|[cmnpt])?"
)
_UPPER_WORD = re.compile(r"(?<![\w])[^\W\d_]{2,}(?![\w])")


def _toneless(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))


def is_syllable(word: str) -> bool:
    """True when ``word`` has the shape of one Vietnamese syllable (``TRUYỀN``, ``gì``)."""
    toneless = _toneless(word)
    m = _SYLLABLE.fullmatch(toneless)
    if m is None:
        return False
    # A lone "y" is an open syllable (ty, mỹ, kỹ); before a final consonant it needs "u" (huých).
    return not re.fullmatch(r"[^aăâeêioôơuưy]*y[cmnpt]h?|[^aăâeêioôơuưy]*y(?:ng|nh|ch)", toneless)


def spell(word: str) -> str:
    """Spell letters by their Vietnamese names: ``spell('ATTT') == 'a tê tê tê'``."""
    return " ".join(LETTER_NAMES.get(c.upper(), c.lower()) for c in word if c.isalpha())


def speak_capitals(line: str, on_spelled: Callable[[str, str], None] | None = None) -> str:
    """Lower-case upper-case Vietnamese words and spell upper-case acronyms.

    ``on_spelled(word, spoken)`` hears of each acronym spelled: no rule or dictionary
    entry explained it, so the official should check how it is read."""

    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        if not word.isupper():
            return word
        if is_syllable(word):
            return word.lower()
        spoken = spell(word)
        if on_spelled is not None:
            on_spelled(word, spoken)
        return spoken

    return _UPPER_WORD.sub(one, line)


_VIETNAMESE_LETTERS = re.compile(r"[đĐ]|[^\x00-\x7f]")
# Place names of the Central Highlands and the north-west end in k, r, l or h (Ea Kar, Lắk).
HIGHLAND_SYLLABLE = re.compile(_SYLLABLE.pattern.replace("[cmnpt])?", "[cmnptkrlh])?"))
_LATIN_WORD = re.compile(r"(?<![\w])[A-Za-z]{2,}(?![\w])")


def foreign_words(line: str) -> list[str]:
    """Words left in ``line`` that cannot be Vietnamese (``Festival``, ``Samsung``).

    A word written without Vietnamese letters or tone marks and not shaped like a
    Vietnamese syllable is foreign; the speech engine will guess at it."""
    return [w for w in _LATIN_WORD.findall(line)
            if not _VIETNAMESE_LETTERS.search(w) and not HIGHLAND_SYLLABLE.fullmatch(_toneless(w))]


_CODE = re.compile(r"(?<![\w])(?=[^\W_]*\d)(?=[^\W_]*[^\W\d_])[^\W_]+(?![\w])")
# "H12.34", "QH15.2": a dot inside a letter-digit code is said.
_CODE_DOT = re.compile(r"(?<=(?<![\w])[A-Z]\d)\.(?=\d)|(?<=(?<![\w])[A-Z]\d\d)\.(?=\d)|(?<=(?<![\w])[A-Z]{2}\d\d)\.(?=\d)|(?<=(?<![\w])[A-Z]{2}\d)\.(?=\d(?![\d.]))")
# A letter standing alone after a word that names a class or a place: "hạng C", "nhà B", "viêm gan B".
_GRADE_LETTER = re.compile(
    r"(?<![\w])(?P<kw>(?i:hạng|loại|khối|nhà|dãy|lô|khu|nhóm|viêm gan|tuýp|phụ lục|mẫu|tòa|toà|tầng|cổng|phân khu|đề))"
    r"\s+(?P<l>[A-ZĐ])(?![\w.])"
)
_RUN = re.compile(r"\d+|[^\W\d_]+")
# "vắc xin 6in1": six diseases in one shot, said "sáu trong một".
_IN_ONE = re.compile(r"(?<![\w])(?P<a>\d)\s?in\s?(?P<b>\d)(?![\w])", re.IGNORECASE)


def read_codes(line: str, read_digits: Callable[[str], str]) -> str:
    """Letters glued to digits (``H5N1``, ``4G``, ``A1``): each run read on its own.

    Upper-case letters are spelled (``OM18`` → *ô em mười tám*); a run of three digits or
    more inside a code is read digit by digit (``A320``, ``TBR225``), as codes are."""

    def code(m: re.Match[str]) -> str:
        parts = _RUN.findall(m.group(0))
        letters_first = not parts[0].isdigit()

        def run(part: str) -> str:
            if part.isdigit():
                # "A320", "TBR225", "B00", "CT01": as codes are said, digit by digit.
                by_digit = letters_first and (len(part) >= 3 or (part.startswith("0") and len(part) > 1))
                return numbers.digits(part) if by_digit else read_digits(part)
            return spell(part) if part.isupper() else part

        return " ".join(run(p) for p in parts)

    line = _IN_ONE.sub(lambda m: f"{read_digits(m['a'])} trong {read_digits(m['b'])}", line)
    line = _CODE_DOT.sub(" chấm ", line)
    line = _GRADE_LETTER.sub(lambda m: f"{m['kw']} {spell(m['l'])}", line)
    return _CODE.sub(code, line)
