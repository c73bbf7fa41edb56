"""Lines that a paste flattened: two header columns, a heading run into the body.

A Decree 30 header is a two-column table (issuing body | national motto; number | place
and date), and the signature block sits beside the recipient list.  Copied from Word the
columns arrive separated by tabs; from a PDF viewer, by runs of spaces; from some portals,
by a single space.  A notice typed in a hurry puts the heading and the first sentence on
one line.  :func:`split_line` cuts such a line back into the pieces the cleaner knows, and
only where a piece has a known apparatus shape: a body line is never cut.
"""

from __future__ import annotations

import re

from audio.shapes import DOC_NUMBER, ISSUER_WORD, SIGNED, is_caps, is_name, is_signature_line

_GAP = re.compile(r"\t+|[ \u00a0\u2007\u202f]{3,}")
_NATIONAL_CAPS = re.compile(r"CỘNG H(?:ÒA|OÀ) XÃ HỘI CHỦ NGHĨA VIỆT NAM|ĐẢNG CỘNG SẢN VIỆT NAM")
_MOTTO = re.compile(r"(?i:độc\s*lập\s*[-–—]\s*tự\s*do\s*[-–—]\s*hạnh\s*phúc)")
_NUMBER_START = re.compile(
    r"(?:Số\s*:?\s*(?:\d[\d.]*)?\s*[/\-]?\s*[A-ZĐ][\wĐđ/\-&.]*|\d[\d.]*\s*/\s*[A-ZĐ]{1,10}(?:[-/][A-ZĐ0-9]{1,10})*)(?=\s|$)"
)
_BARE_NUMBER = re.compile(r"\d[\d.]*\s*/\s*[A-ZĐ]{1,10}(?:[-/][A-ZĐ0-9]{1,10})*")
_PLACE = r"(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*\s+){0,3}[A-ZĐÀ-Ỹ][\wÀ-ỹ]*"
_DATE_TAIL = r",?\s*(?i:ngày)(?:[\s\d.…_]*(?i:tháng)[\s\d.…_]*(?i:năm)\s*\d{0,4}|\s*\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{2,4})\s*\.?"
_PLACE_DATE_END = re.compile(rf"(?<!\S)(?P<pd>{_PLACE}{_DATE_TAIL})$")
_SUBJECT_START = re.compile(r"V/[vV]\b")
_TYPES = (
    "NGHỊ QUYẾT", "QUYẾT ĐỊNH", "CHỈ THỊ", "THÔNG CÁO", "THÔNG BÁO", "HƯỚNG DẪN", "CHƯƠNG TRÌNH", "KẾ HOẠCH",
    "PHƯƠNG ÁN", "BÁO CÁO", "TỜ TRÌNH", "CÔNG ĐIỆN", "CÔNG VĂN", "LỜI KÊU GỌI", "THƯ KÊU GỌI", "GIẤY MỜI", "BẢN TIN",
)
_TYPE_START = re.compile(r"(?:%s)(?=\s+\S)" % "|".join(_TYPES))
# How the first sentence of a body opens, after a subject that ran into it.
_OPENER = re.compile(
    r"(?:Ủy ban nhân dân|Uỷ ban nhân dân|UBND|HĐND|Ban Chỉ|Ban chỉ|Thực hiện|Căn cứ|Nhằm|Để|Theo|Hiện nay|Vừa qua|"
    r"Trong (?:tuần|tháng|năm|thời gian|những|đợt|dịp)|Ngày \d|Sáng (?:nay|ngày|\d)|Chiều (?:nay|ngày|\d)|Tối (?:nay|ngày|\d)|"
    r"Đài |Trạm |Trung tâm |Công an |Điện lực |Hưởng ứng|Triển khai|Kính thưa|Chủ tịch (?:UBND|Ủy ban)|Nay |Từ ngày|Do )"
)
_NUMBER_GAP = re.compile(r"^(Số\s*:?)\s+(?=[\d/])")
# Blanks left for the date to be filled in by hand ("ngày     tháng     năm 2025").
_DATE_GAP = re.compile(r"(?i:(ngày|tháng|\d+|[.…_]+))[ \t\u00a0]+(?=(?i:tháng|năm|\d))")
_SIGNED_INLINE = re.compile(r"\s*\(\s*(?i:đã ký|đã kí|ký|kí)\s*\)\s*")


_TABLE_ROW = re.compile(r"\s*\|.*\|\s*")
_TABLE_RULE = re.compile(r"\s*\|?(?:\s*:?-{2,}:?\s*\|)+\s*(?::?-{2,}:?\s*)?")


_CELL_BREAK = re.compile(r"(?i:<br\s*/?>)")


def table_row(text: str) -> list[str]:
    """A markdown table row (``| UBND XÃ … | CỘNG HÒA … |``) as the lines a Word paste gives.

    Portals and converters render the two-column header as a markdown table; its cells are
    the columns a Word paste separates by tabs, so a one-line row becomes tab-separated
    columns for the splitter.  A cell broken with ``<br>`` holds several lines (the recipient
    list beside the signature): those come out one a line, column after column.  The rule
    row under the header (``|---|---|``) is no text at all.  Any other line is returned as is."""
    if _TABLE_RULE.fullmatch(text):
        return [""]
    if not _TABLE_ROW.fullmatch(text):
        return [text]
    cells = [c.strip() for c in text.strip()[1:-1].split("|")]
    if not any(_CELL_BREAK.search(c) for c in cells):
        return ["\t".join(c for c in cells if c)]
    return [p.strip() for c in cells if c for p in _CELL_BREAK.split(c) if p.strip()]


def split_line(text: str) -> list[str]:
    """``text`` (one source line, NFC) cut into pieces; ``[text]`` when nothing is recognised.

    An empty piece stands for a paragraph break, put where a heading ran into the body."""
    stripped = _DATE_GAP.sub(r"\1 ", _NUMBER_GAP.sub(r"\1 ", text.strip()))
    columns = [_flat(c) for c in _GAP.split(stripped) if c.strip()]
    signer = len(columns) > 1 and columns[0].startswith(("-", "+", "•")) and is_name(columns[-1])
    if len(columns) > 1 and (signer or any(is_apparatus(c) for c in columns)):
        pieces = [p for c in columns for p in _split(_flat(c))]
    else:
        pieces = _split(_flat(stripped))
    return pieces if len(pieces) > 1 else [text]


def _flat(text: str) -> str:
    return " ".join(text.split())


def is_apparatus(text: str) -> bool:
    """A column that is apparatus on its own: the cue that a gap separates columns."""
    return bool(
        _NATIONAL_CAPS.fullmatch(text) or _MOTTO.fullmatch(text) or DOC_NUMBER.fullmatch(text)
        or _BARE_NUMBER.fullmatch(text) or _PLACE_DATE_END.fullmatch(text) or is_signature_line(text)
        or SIGNED.fullmatch(text) or re.match(r"(?i:nơi nhận)\s*:", text)
        or (is_caps(text) and ISSUER_WORD.search(text)) or _SUBJECT_START.match(text)
    )


def _split(text: str) -> list[str]:
    for cut in (_national, _number, _place_date, _signature, _heading):
        pieces = cut(text)
        if pieces:
            return [q for p in pieces for q in (_split(p) if p else [p])]
    return [text]


def _national(text: str) -> list[str] | None:
    """Cut around the motto or the national name when they stand beside an issuer or a body."""
    for pattern in (_NATIONAL_CAPS, _MOTTO):
        m = pattern.search(text)
        if not m or (m.start() == 0 and m.end() == len(text)):
            continue
        before, after = text[: m.start()].strip(" -–—"), text[m.end() :].strip(" -–—")
        if before and not (is_caps(before) or _NATIONAL_CAPS.fullmatch(before)):
            continue
        pieces = [before] if before else []
        pieces.append(m.group(0))
        if after:
            if not is_caps(after) and not is_apparatus(after):
                pieces.append("")
            pieces.append(after)
        return pieces
    return None


def _number(text: str) -> list[str] | None:
    """``Số: 12/TB-UBND Tân Lập, ngày …`` or ``Số: 12/UBND V/v …``: the number, then the rest."""
    m = _NUMBER_START.match(text)
    if not m or m.end() == len(text):
        return None
    rest = text[m.end() :].strip()
    if _PLACE_DATE_END.fullmatch(rest) or _SUBJECT_START.match(rest) or _NATIONAL_CAPS.match(rest) or _MOTTO.match(rest):
        return [m.group(0).strip(), rest]
    return None


def _place_date(text: str) -> list[str] | None:
    """A place and date at the end of a line that began with a subject, a number or an issuer."""
    m = _PLACE_DATE_END.search(text)
    if not m or m.start() == 0:
        return None
    before = text[: m.start()].strip()
    if _SUBJECT_START.match(before) or _NUMBER_START.fullmatch(before) or (is_caps(before) and ISSUER_WORD.search(before)):
        return [before, m.group("pd")]
    return None


def _signature(text: str) -> list[str] | None:
    """``KT. CHỦ TỊCH PHÓ CHỦ TỊCH Trần Thị Mai``: the titles, ``(Đã ký)``, the name."""
    words = text.split()
    k = len(words)
    while k > 0 and len(words) - k < 5 and words[k - 1].isalpha() and words[k - 1][:1].isupper() and words[k - 1][1:].islower():
        k -= 1
    if k == 0 or len(words) - k < 2:
        return None
    head, name = " ".join(words[:k]), " ".join(words[k:])
    signed = _SIGNED_INLINE.search(head + " ")
    titles = head[: signed.start()].strip() if signed and signed.end() >= len(head) else head
    if not (is_caps(titles) and is_signature_line(titles)) or not is_name(name):
        return None
    pieces = [titles]
    if titles != head:
        pieces.append(head[len(titles) :].strip())
    pieces.append(name)
    return pieces


def _heading(text: str) -> list[str] | None:
    """A document type, its subject and the body's first sentence, all on one line."""
    m = _TYPE_START.match(text)
    if not m:
        return None
    kind, rest = m.group(0), text[m.end() :].strip()
    if not rest or is_caps(rest):
        return None
    words = rest.split()
    caps = 0
    while caps < len(words) and (is_caps(words[caps]) or not any(c.isalpha() for c in words[caps])):
        caps += 1
    if caps >= 2:
        while caps > 1 and _is_acronym(words[caps - 1]) and caps < len(words) and words[caps][:1].islower():
            caps -= 1
        return [kind, " ".join(words[:caps]), "", " ".join(words[caps:])]
    opener = _body_start(rest)
    if opener is not None:
        return [kind, rest[:opener].strip(), "", rest[opener:].strip()]
    return [kind, rest]


def _is_acronym(word: str) -> bool:
    from audio.normalize.letters import is_syllable

    found = "".join(c for c in word if c.isalpha())
    return bool(found) and found.isupper() and not is_syllable(found)


def _body_start(subject: str) -> int | None:
    """Where the body opens inside a subject that ran into it, when a known opener says so."""
    for m in _OPENER.finditer(subject):
        before = subject[: m.start()].rstrip()
        if not before:
            continue
        last = before.split()[-1]
        if last[:1].islower() or last[:1].isdigit() or last.endswith((".", ":")):
            return m.start()
    return None
