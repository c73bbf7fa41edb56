"""Document references: ``Nghị quyết 128/NQ-CP``, ``Công văn số 14-CV/TU``, ``30/2021/QH15``.

An announcer does not spell the symbol after the number.  The document type in it (NQ, QĐ,
KH) repeats the word before the number, so it is dropped; the issuer (CP, TU, BYT) is read
as ``của Chính phủ`` unless the sentence names the issuer itself a few words later
(``... ngày 11/10/2021 của Chính phủ``).  The year of a law-style number is read as
``năm``: ``Nghị quyết số 30/2021/QH15`` → ``Nghị quyết số ba mươi năm hai nghìn không trăm
hai mươi mốt của Quốc hội khóa mười lăm``.
"""

from __future__ import annotations

import re

from audio.normalize import numbers
from audio.normalize.dictionary import Abbreviations
from audio.normalize.letters import spell

# Document-type symbols of Decree 30/2020/NĐ-CP and of Party documents.
DOCUMENT_TYPES = frozenset(
    {"NQ", "QĐ", "CT", "QC", "QyĐ", "TB", "HD", "CTr", "KH", "PA", "ĐA", "DA", "BC", "BB", "TTr",
     "HĐ", "CĐ", "GUQ", "GM", "GGT", "PG", "PC", "PB", "CV", "KL", "NĐ", "TT", "TTLT", "L", "PL",
     "UBTVQH", "QĐ-TTg"}
)
_ISSUERS_WITH_DRAFTER = frozenset({"UBND", "HĐND", "VP", "VPUBND", "BCĐ", "BCH"})
_CODE_PART = r"[A-ZĐ][A-Za-zĐđ]*\d*"
_REFERENCE = re.compile(
    r"(?<![\w/.,])(?P<num>\d{1,5})(?:/(?P<year>(?:19|20)\d{2}))?\s*[/\-]\s*"
    rf"(?P<code>{_CODE_PART}(?:[\-/&]{_CODE_PART})*)(?![\w])"
)
_ISSUER_WITH_TERM = re.compile(r"(?P<body>[A-ZĐ][A-Za-zĐđ]*?)(?P<term>\d+)")
_NAMES_ISSUER = re.compile(r"(?<![\w])của(?![\w])")
_SENTENCE_END = re.compile(r"[.;:!?]")
_LOOKAHEAD = 60
# "Công văn số 78/UBND": a number after "số" or a document's name, with its issuer alone.
_NUMBERED = re.compile(
    r"(?:(?i:số)|(?i:công văn|quyết định|thông báo|kế hoạch|báo cáo|tờ trình|giấy mời|công điện|chỉ thị|hướng dẫn))\s*:?\s*$"
)


def _issuer(parts: list[str], dictionary: Abbreviations) -> str:
    spoken = []
    for part in parts:
        known = dictionary.lookup(part)
        if known:
            spoken.append(known)
            continue
        m = _ISSUER_WITH_TERM.fullmatch(part)
        if m and dictionary.lookup(m["body"]):
            spoken.append(f"{dictionary.lookup(m['body'])} khóa {numbers.cardinal(int(m['term']))}")
        else:
            spoken.append(spell(part))
    return " ".join(spoken)


def _issuer_follows(text: str, end: int) -> bool:
    after = text[end:end + _LOOKAHEAD]
    stop = _SENTENCE_END.search(after)
    return bool(_NAMES_ISSUER.search(after[: stop.start()] if stop else after))


# "Đề án 06", "Chỉ thị 05": a zero-led number naming a document is said with its zero.
_NAMED_NUMBER = re.compile(
    r"(?P<kw>(?i:đề án|chỉ thị|nghị quyết|kết luận|quy định|chương trình|nghị định|thông tư|công điện)(?:\s+(?i:số))?\s+)"
    r"(?P<n>0\d)(?![\w/.,\-])"
)


def read_references(line: str, dictionary: Abbreviations) -> str:
    def one(m: re.Match[str]) -> str:
        parts = re.split(r"[\-/]", m["code"])
        if len(parts) < 2 and not m["year"]:
            before = m.string[max(0, m.start() - 30): m.start()]
            if not (_NUMBERED.search(before) and dictionary.lookup(parts[0])):
                return m.group(0)
        if parts[0] in DOCUMENT_TYPES:
            parts = parts[1:]
        if len(parts) > 1 and parts[0] in _ISSUERS_WITH_DRAFTER:
            parts = parts[:1]  # 456/UBND-NN: the People's Committee issues, NN only drafted it
        spoken = numbers.integer(m["num"])
        if m["year"]:
            spoken += f" năm {numbers.cardinal(int(m['year']))}"
        if parts and not _issuer_follows(m.string, m.end()):
            spoken += f" của {_issuer(parts, dictionary)}"
        return spoken

    line = _REFERENCE.sub(one, line)
    return _NAMED_NUMBER.sub(lambda m: m["kw"] + numbers.digits(m["n"]), line)
