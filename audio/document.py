"""From an administrative document to the text an announcer reads.

Bulletins arrive as text pasted from Word or PDF files written to Decree 30/2020/NĐ-CP:
a header (issuing body, national motto, number and symbol, place and date), a title, an
addressee list, the body, then the recipient list and the signature block, sometimes
several documents in a row (a cover letter and the plan it forwards).  A human announcer
reads the title and the body and nothing else.  The cleaner drops the apparatus, and says
what it dropped and why, so the official can check that no body text was lost.

Its rule is to keep anything it does not recognise: a line is dropped only when it matches
a known apparatus shape in the place where that shape occurs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from audio import portal
from audio.casing import learn_names, sentence_case
from audio.layout import split_line, table_row
from audio.tables import spoken_tables
from audio.normalize.plain import BOOKMARK, SPACES, plain, without_end_marks
from audio.shapes import AUTHORITY as _AUTHORITY
from audio.shapes import DOC_NUMBER as _DOC_NUMBER
from audio.shapes import ISSUER_WORD as _ISSUER_WORD
from audio.shapes import NATIONAL as _NATIONAL
from audio.shapes import PLACE_DATE as _PLACE_DATE
from audio.shapes import POSITION as _POSITION
from audio.shapes import SIGNED as _SIGNED
from audio.shapes import is_caps as _is_caps
from audio.shapes import is_name as _is_name
from audio.shapes import is_signature_line as _is_signature_line

NATIONAL_MOTTO = "Quốc hiệu, tiêu ngữ"
ISSUER = "Cơ quan ban hành"
NUMBER = "Số, ký hiệu"
PLACE_DATE = "Địa danh, ngày tháng"
ADDRESSEES = "Kính gửi"
RECIPIENTS = "Nơi nhận"
SIGNATURE = "Chữ ký"
LINK = "Đường dẫn"
PHOTO = "Chú thích ảnh"
SEE_MORE = "Lời dẫn xem chi tiết"
MARKUP = "Mã định dạng"
TYPIST = "Ký hiệu người soạn thảo"


@dataclass(frozen=True)
class Removed:
    """One piece of the source that will not be read, with the reason shown to the official."""

    text: str
    reason: str
    line: int


@dataclass(frozen=True)
class CleanedDocument:
    """The broadcast script of one bulletin: its title and body paragraphs, and what was dropped."""

    title: str
    paragraphs: tuple[str, ...]
    removed: tuple[Removed, ...] = ()

    @property
    def text(self) -> str:
        """Title and paragraphs separated by blank lines, the form the official edits."""
        return "\n\n".join(p for p in (self.title, *self.paragraphs) if p)

    @property
    def is_empty(self) -> bool:
        return not self.title and not self.paragraphs


# --- line preparation ------------------------------------------------------------------

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>“”\"]*[^\s<>“”\".,;:!?)]")
_TYPIST = re.compile(r"(?<=[.!?…;:”\"])\s*\*(?P<t>[a-zđ]{2,10})\*\s*$")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")
_HEADING_HASHES = re.compile(r"^#{1,6}\s+")
_DECORATION = re.compile(r"^[\s*_=~\-–—.·•]*$")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.;:!?)])")


@dataclass
class _Line:
    number: int
    text: str
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def cut(self, text: str, pattern: re.Pattern[str], reason: str, shown: int = 0, keep: str = "") -> str:
        """``text`` with ``pattern`` replaced by ``keep``; each match's group ``shown`` is noted as dropped."""
        for m in pattern.finditer(text):
            self.dropped.append((m.group(shown), reason))
        return pattern.sub(keep, text)


def _prepare(number: int, raw: str) -> _Line:
    line = _Line(number, "")
    text = line.cut(plain(raw), BOOKMARK, MARKUP)
    text = line.cut(text, _IMAGE, PHOTO)
    text = line.cut(text, _LINK, LINK, shown=2, keep=r"\1")
    typist = _TYPIST.search(text)
    if typist:
        line.dropped.append((typist["t"], TYPIST))
        text = text[: typist.start()]
    text = line.cut(text, _URL, LINK)
    text = _ESCAPE.sub(r"\1", text).replace("*", "")
    text = _HEADING_HASHES.sub("", SPACES.sub(" ", text).strip())
    if _DECORATION.fullmatch(text):
        text = ""
    text = without_end_marks(text)
    text = _SPACE_BEFORE_PUNCT.sub("", _EMPTY_BRACKETS.sub("", text)).strip()
    line.text = SPACES.sub(" ", text)
    return line


# --- line shapes -----------------------------------------------------------------------

_SUBJECT = re.compile(r"V/[vV]\b.*")
_ADDRESSEES = re.compile(r"(?i:kính gửi)\s*:?.*")
_RECIPIENTS = re.compile(r"(?i:nơi nhận)\s*(?::.*)?")
_DOCUMENT_TYPES = (
    "NGHỊ QUYẾT", "QUYẾT ĐỊNH", "CHỈ THỊ", "QUY CHẾ", "QUY ĐỊNH", "THÔNG CÁO", "THÔNG BÁO", "HƯỚNG DẪN",
    "CHƯƠNG TRÌNH", "KẾ HOẠCH", "PHƯƠNG ÁN", "ĐỀ ÁN", "DỰ ÁN", "BÁO CÁO", "TỜ TRÌNH", "CÔNG ĐIỆN",
    "CÔNG VĂN", "LỜI KÊU GỌI", "THƯ KÊU GỌI", "GIẤY MỜI", "BẢN TIN", "TIN", "THƯ",
)
_TYPE_LINE = re.compile(r"(?:%s)(?:\s.*)?" % "|".join(_DOCUMENT_TYPES))
_LIST_ITEM = re.compile(r"[-–+•·]\s*\S.*")
_PHOTO_CAPTION = re.compile(r"\(?\s*(?i:ảnh|hình ảnh|hình)(?:\s+(?i:minh họa|minh hoạ))?\s*(?::[^.]{0,80})?\)?\.?")
_SEE_MORE = re.compile(
    r"(?i:xem|tải|bấm|nhấn|click)\b[^.]{0,60}\b(?i:tại đây|ở đây|tại đường dẫn|tại link|đính kèm|toàn văn)\b.{0,12}"
    r"|(?i:xem chi tiết|xem toàn văn|chi tiết xem)\b.{0,60}"
)
_SENTENCE_END = re.compile(r"[.!?…:;”\"»)]$")
_MAX_TITLE = 300
_HEADER_MARKS = (NATIONAL_MOTTO, NUMBER, PLACE_DATE)
_TELEGRAM_TO = re.compile(r"(?P<who>.+?)\s+(?i:điện)\s*:")
_HEADER_LOOKAHEAD = 8


def _is_type_line(text: str) -> bool:
    return _is_caps(text) and len(text) <= 120 and bool(_TYPE_LINE.fullmatch(text))


def _is_telegram_to(text: str) -> bool:
    """The addressee line of a công điện: ``CHỦ TỊCH UBND XÃ … điện:``."""
    m = _TELEGRAM_TO.fullmatch(text)
    return bool(m and _is_caps(m["who"]) and _ISSUER_WORD.search(m["who"]))


def _join(lines: list[str]) -> list[str]:
    """Join lines broken inside a sentence (PDF copies, wrapped titles) into paragraphs."""
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs and not _SENTENCE_END.search(paragraphs[-1]) and line[:1].islower():
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
    return paragraphs


_ABOUT = re.compile(r"(?i:về|v/v|v/v:)\s")


def _continues_title(text: str, first: bool, kind: str) -> bool:
    """Whether a line after the document-type line still belongs to the title.

    Titles are in capitals, or wrapped (the next line starts in lower case), or a
    ``Về việc …`` line under a bare ``THÔNG BÁO``.  A sentence of the body in mixed case
    (``Trạm Y tế xã … như sau:``) is not, even with no empty line before it: a pasted
    portal page often has none."""
    if _is_caps(text) or text[:1].islower() or (text[:1] in "(“\"«" and len(text) <= 200):
        return True
    if not first or len(text) > _MAX_TITLE:
        return False
    bare_kind = _TYPE_LINE.fullmatch(kind) is not None and kind in _DOCUMENT_TYPES
    return bool(_ABOUT.match(text)) or (bare_kind and not _SENTENCE_END.search(text))


def _sentence_case(text: str) -> str:
    return text[:1] + text[1:].lower()


# --- the cleaner -----------------------------------------------------------------------


@dataclass
class _HeaderScan:
    end: int
    strong: bool
    parts: list[tuple[int, str]]
    title_lines: list[int]
    title: str


class _Cleaner:
    def __init__(self, text: str):
        raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        tables = spoken_tables(plain(raw) for raw in raw_lines)
        self.lines = [
            _prepare(number, piece)
            for number, raw in tables.lines
            for row in table_row(raw)
            for piece in split_line(row)
        ]
        self.furniture = portal.mark([line.text for line in self.lines])
        self.names = learn_names(line.text for line in self.lines)
        self.title: str | None = None
        self.paragraphs: list[str] = []
        self.block: list[str] = []
        self.removed: list[Removed] = [Removed(a.text, a.reason, a.line) for a in tables.set_aside]
        self.at_start = True
        self.last_drop = -1

    # helpers
    def text(self, i: int) -> str:
        return self.lines[i].text

    def drop(self, i: int, reason: str) -> None:
        line = self.lines[i]
        last = self.removed[-1] if self.removed else None
        adjacent = 0 <= self.last_drop < i and not any(self.lines[k].text for k in range(self.last_drop + 1, i))
        if last and last.reason == reason and adjacent:
            self.removed[-1] = Removed(f"{last.text}\n{line.text}", reason, last.line)
        else:
            self.removed.append(Removed(line.text, reason, line.number))
        line.text = ""
        self.last_drop = i

    def flush(self) -> None:
        self.paragraphs.extend(_join(self.block))
        self.block = []

    def set_title(self, title: str) -> None:
        if self.title is None:
            self.title = title
        else:
            self.paragraphs.append(title)

    # header ---------------------------------------------------------------------------
    def scan_header(self, start: int) -> _HeaderScan:
        scan = _HeaderScan(start, False, [], [], "")
        i = start
        while i < len(self.lines):
            t = self.text(i)
            if not t:
                i += 1
                continue
            if i in self.furniture:
                scan.parts.append((i, self.furniture[i]))
            elif _NATIONAL.fullmatch(t):
                scan.parts.append((i, NATIONAL_MOTTO))
            elif _DOC_NUMBER.fullmatch(t):
                scan.parts.append((i, NUMBER))
            elif _PLACE_DATE.fullmatch(t):
                scan.parts.append((i, PLACE_DATE))
            elif _SUBJECT.fullmatch(t) and not scan.title_lines:
                i = self.scan_subject(i, scan)
                continue
            elif _is_type_line(t) and not scan.title_lines:
                i = self.scan_title(i, scan)
                break
            elif _is_caps(t) and len(t) <= 120 and _ISSUER_WORD.search(t) and not _is_signature_line(t):
                scan.parts.append((i, ISSUER))
            else:
                break
            i += 1
        scan.end = i
        scan.strong = bool(scan.title_lines) or any(reason in _HEADER_MARKS for _, reason in scan.parts)
        return scan

    def scan_subject(self, i: int, scan: _HeaderScan) -> int:
        lines = [i]
        i += 1
        while i < len(self.lines) and self.text(i)[:1].islower():
            lines.append(i)
            i += 1
        scan.title_lines = lines
        scan.title = " ".join(self.text(k) for k in lines)
        return i

    def scan_title(self, i: int, scan: _HeaderScan) -> int:
        kind = self.text(i)
        subject = []
        j = i + 1
        while j < len(self.lines) and self.text(j) and _continues_title(self.text(j), not subject, kind):
            subject.append(j)
            j += 1
        if not subject:
            k = j
            while k < len(self.lines) and not self.text(k):
                k += 1
            single = k + 1 >= len(self.lines) or not self.text(k + 1)
            if k < len(self.lines) and single and len(self.text(k)) <= _MAX_TITLE and not self.text(k).endswith("."):
                subject, j = [k], k + 1
        about = " ".join(_join([self.text(k) for k in subject]))
        if _is_caps(about):
            about = sentence_case(about, self.names, first=False)
        if about.casefold().startswith(kind.casefold()):
            title = about
        elif about:
            first = about[:1].lower() if about[1:2].islower() else about[:1]
            title = f"{_sentence_case(kind)} {first}{about[1:]}"
        else:
            title = sentence_case(kind, self.names)
        scan.title_lines = [i, *subject]
        scan.title = title
        return j

    def header(self, start: int) -> int:
        """Consume a document header at ``start`` if there is one; returns the next line."""
        scan = self.scan_header(start)
        if not scan.strong:
            return start
        for i, reason in scan.parts:
            self.drop(i, reason)
        if scan.title_lines:
            self.set_title(scan.title)
            for i in scan.title_lines:
                self.lines[i].text = ""
        self.at_start = True
        return scan.end

    def starts_document(self, i: int) -> bool:
        t = self.text(i)
        shaped = (_is_caps(t) and _ISSUER_WORD.search(t)) or _NATIONAL.fullmatch(t) or _DOC_NUMBER.fullmatch(t) or _PLACE_DATE.fullmatch(t)
        return bool(shaped) and self.scan_header(i).strong

    # addressees and closing apparatus ---------------------------------------------------
    def addressees(self, i: int) -> int:
        self.drop(i, ADDRESSEES)
        i += 1
        seen_item = False
        while i < len(self.lines):
            t = self.text(i)
            if not t:
                i += 1
            elif _LIST_ITEM.fullmatch(t) or (seen_item and t[:1].islower()):
                self.drop(i, ADDRESSEES)
                seen_item = True
                i += 1
            else:
                break
        return i

    def signature_follows(self, i: int) -> bool:
        """True when only signature-like lines remain until the end or the next document."""
        for k in range(i, len(self.lines)):
            t = self.text(k)
            if not t:
                continue
            if k in self.furniture:
                continue
            if k > i and self.starts_document(k):
                return True
            if _RECIPIENTS.fullmatch(t):
                return True
            if not (_is_caps(t) or _is_name(t) or _SIGNED.fullmatch(t)):
                return False
        return True

    def apparatus(self, i: int) -> int:
        """Recipient list and signature block, in either order; returns where the body resumes."""
        in_recipients = False
        after_blank = False
        while i < len(self.lines):
            t = self.text(i)
            if not t:
                after_blank = True
                i += 1
                continue
            if i in self.furniture:
                self.drop(i, self.furniture[i])
            elif _RECIPIENTS.fullmatch(t):
                in_recipients, after_blank = True, False
                self.drop(i, RECIPIENTS)
            elif _is_signature_line(t) or _SIGNED.fullmatch(t):
                self.drop(i, SIGNATURE)
            elif self.starts_document(i):
                return i
            elif _is_name(t) and not _LIST_ITEM.fullmatch(t):
                in_recipients = False
                self.drop(i, SIGNATURE)
            elif in_recipients and (not after_blank or _LIST_ITEM.fullmatch(t)):
                after_blank = False
                self.drop(i, RECIPIENTS)
            elif (_is_caps(t) and len(t) <= 120) or _is_name(t):
                in_recipients = False
                self.drop(i, SIGNATURE)
            else:
                return i
            i += 1
        return i

    # body -----------------------------------------------------------------------------
    def run(self) -> CleanedDocument:
        i = self.header(0)
        while i < len(self.lines):
            line = self.lines[i]
            for text, reason in line.dropped:
                self.removed.append(Removed(text, reason, line.number))
            line.dropped = []
            t = line.text
            if not t:
                self.flush()
                i += 1
            elif i in self.furniture:
                self.drop(i, self.furniture[i])
            elif _RECIPIENTS.fullmatch(t) or (_is_signature_line(t) and self.signature_follows(i)):
                self.flush()
                i = self.apparatus(i)
            elif self.starts_document(i):
                self.flush()
                i = self.header(i)
            elif (_ADDRESSEES.fullmatch(t) or _is_telegram_to(t)) and self.at_start:
                i = self.addressees(i)
            elif _PHOTO_CAPTION.fullmatch(t):
                self.drop(i, PHOTO)
            elif _SEE_MORE.fullmatch(t) and len(t) <= 100:
                self.drop(i, SEE_MORE)
            else:
                self.block.append(t)
                self.at_start = False
                i += 1
        self.flush()
        for line in self.lines:
            self.removed.extend(Removed(text, reason, line.number) for text, reason in line.dropped)
        title = self.title
        if title is None:
            title = self.paragraphs.pop(0) if self._first_is_headline() else ""
        return CleanedDocument(title, tuple(self.paragraphs), tuple(sorted(self.removed, key=lambda r: r.line)))

    def _first_is_headline(self) -> bool:
        if len(self.paragraphs) < 2:
            return False
        first = self.paragraphs[0]
        return len(first) <= 250 and not first.endswith(":") and not re.search(r"[.!?] \S", first)


def clean_document(text: str) -> CleanedDocument:
    """Keep a bulletin's title and body; drop and report header, addressees, recipients,
    signatures, links, photo captions and formatting marks."""
    return _Cleaner(text).run()
