"""Sentence case for an upper-case heading, with the names kept.

A title typed in capitals (``KẾ HOẠCH TỔ CHỨC NGÀY CHỦ NHẬT XANH TẠI XÃ PHƯỚC AN``) is read
as the official will see it in the script, so it is put in sentence case.  Lower-casing
every word would lose the names (``xã phước an``) that the listener should hear as names
and the official should see spelled right.  Three sources say which words are names:

* the document itself: a capitalised run in its mixed-case text (``xã Phước An``,
  ``ông Hoàng Văn Tư``) restores the same words in the heading;
* the abbreviation dictionary: its expansions spell organisation names
  (``Ủy ban Mặt trận Tổ quốc``);
* the words before a name: a place kind (``xã``, ``thôn``, ``bản``…) or a form of address
  (``ông``, ``bà``, ``đồng chí``) capitalises the words after it, up to a function word.

Tokens that are not Vietnamese syllables (``UBND``, ``COVID-19``, ``IV``) stay as written.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable

from audio.normalize.letters import is_syllable

_NAME_BEFORE = (
    "xã", "phường", "thị trấn", "huyện", "quận", "thị xã", "thành phố", "tỉnh", "thôn", "ấp", "bản", "xóm", "làng",
    "buôn", "sóc", "bon", "plei", "khu phố", "tổ dân phố", "khóm", "ông", "bà", "đồng chí", "đ/c",
)
# Words that end a name, and words that make the word before them a common noun
# ("xã hội", "tỉnh ủy", "bà con", "bản tin"), not a place kind.
_STOP = frozenset(
    "và của năm trên tại đến từ cho với về trong ngoài theo các những đợt mùa tháng ngày giai đoạn địa bàn như sau "
    "đối là có được để nhằm thuộc khu vực vùng toàn lần thứ khóa nhiệm kỳ số quý tuần hằng hàng "
    "hội ủy uỷ đoàn đội viên lộ con bà ông tin đồ cam sao in thảo kế chất quyền án nhạc cáo tính táo làng ngũ".split()
)
_MAX_NAME_WORDS = 3
_WORD = re.compile(r"\S+")
_EDGE = re.compile(r"^([\"“”'‘’(\[]*)(.*?)([\"“”'‘’)\].,:;!?…]*)$")


def _core(token: str) -> tuple[str, str, str]:
    m = _EDGE.match(token)
    assert m is not None
    return m.group(1), m.group(2), m.group(3)


def _titled(word: str) -> bool:
    return len(word) >= 1 and word[0].isupper() and (len(word) == 1 or not word[1:].isupper() or not word[1:].isalpha())


def _is_title_word(word: str) -> bool:
    return word[:1].isupper() and word[1:].islower() and word.isalpha()


@functools.lru_cache(maxsize=1)
def _dictionary_phrases() -> tuple[tuple[str, ...], ...]:
    """Expansions of the built-in dictionary that contain a capital: organisation names."""
    from audio.normalize import load_abbreviations

    dictionary = load_abbreviations()
    phrases = {tuple(v.split()) for v in (*dictionary.abbreviations.values(), *dictionary.words.values())}
    return tuple(p for p in phrases if any(w[:1].isupper() for w in p) and len(p) >= 2)


def learn_names(texts: Iterable[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Capitalised runs of a document's mixed-case lines, keyed by their lower-case words.

    A run that starts a sentence loses its first word (``Thôn Đồng Tâm:`` teaches
    ``Đồng Tâm``); a single capitalised word counts only if the document never writes it
    in lower case."""
    runs: dict[tuple[str, ...], tuple[str, ...]] = {}
    lower_words: set[str] = set()
    singles: dict[str, str] = {}
    for text in texts:
        letters = [c for c in text if c.isalpha()]
        if not letters or all(c.isupper() for c in letters):
            continue
        tokens = _WORD.findall(text)
        words = [_core(t)[1] for t in tokens]
        starts, ends = {0}, set()
        for k, token in enumerate(tokens):
            if re.search(r"[.!?:;…]$", token) or token in {"-", "–", "+", "•"}:
                starts.add(k + 1)
            if re.match(r"^[\"“(\[-]", token):
                starts.add(k)
            if _core(token)[2] or re.match(r"^[\"“(\[]", token):
                ends.add(k)
        k = 0
        while k < len(words):
            w = words[k]
            if w.islower():
                lower_words.add(w)
            if not _is_title_word(w):
                k += 1
                continue
            j = k
            while j < len(words) and _is_title_word(words[j]):
                j += 1
                if j - 1 in ends:
                    break
            run = words[k:j]
            if k in starts and (len(run) == 1 or run[0].lower() in _NAME_BEFORE):
                run = run[1:]
            if len(run) >= 2:
                runs[tuple(x.lower() for x in run)] = tuple(run)
            elif len(run) == 1:
                singles[run[0].lower()] = run[0]
            k = j
    for low, word in singles.items():
        if low not in lower_words:
            runs.setdefault((low,), (word,))
    return runs


def sentence_case(heading: str, names: dict[tuple[str, ...], tuple[str, ...]] | None = None, first: bool = True) -> str:
    """``heading`` in sentence case, with acronyms, learned names and dictionary names kept.

    ``first`` says whether the first word takes a capital (not when the heading continues
    a document type, as in ``Kế hoạch`` + ``tổ chức …``)."""
    names = dict(names or {})
    for phrase in _dictionary_phrases():
        names.setdefault(tuple(w.lower() for w in phrase), phrase)
    longest = max((len(k) for k in names), default=0)
    tokens = _WORD.findall(heading)
    parts = [_core(t) for t in tokens]
    ends = {k for k, (_, _, after) in enumerate(parts) if after}
    out = [core for _, core, _ in parts]
    fixed = [False] * len(parts)
    for k, core in enumerate(out):
        letters = "".join(c for c in core if c.isalpha())
        keep = any(c.isdigit() for c in core) or (letters and not is_syllable(letters))
        if keep and letters.isupper():
            fixed[k] = True
        else:
            out[k] = core.lower()
    lowered = [w.lower() for w in out]
    k = 0
    while k < len(out):
        for size in range(min(longest, len(out) - k), 0, -1):
            key = tuple(lowered[k : k + size])
            if key in names and not any(fixed[k : k + size]):
                out[k : k + size] = list(names[key])
                for m in range(k, k + size):
                    fixed[m] = True
                k += size
                break
        else:
            k += 1
    _after_name_words(out, lowered, fixed, ends)
    if first and out:
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(f"{a}{core}{b}" for (a, _, b), core in zip(parts, out))


def _after_name_words(out: list[str], lowered: list[str], fixed: list[bool], ends: set[int]) -> None:
    """Capitalise the words after a place kind or a form of address, up to a function word."""
    kinds = sorted((tuple(k.split()) for k in _NAME_BEFORE), key=len, reverse=True)
    k = 0
    while k < len(out):
        kind = next((c for c in kinds if tuple(lowered[k : k + len(c)]) == c), None)
        if not kind:
            k += 1
            continue
        j = k + len(kind)
        count = 0
        while j < len(out) and count < _MAX_NAME_WORDS and not fixed[j] and lowered[j] not in _STOP and out[j].isalpha():
            out[j] = out[j][:1].upper() + out[j][1:]
            fixed[j] = True
            j += 1
            count += 1
            if j - 1 in ends:
                break
        k = max(j, k + 1)
