"""Data tables in a bulletin's body, read row by row as sentences.

Vaccination rounds, power cuts, polling stations and aid lists arrive as tables: from Word
as tab-separated columns, from portals and converters as markdown.  Flattened, a row is a
run of cells that a listener cannot parse (*Thôn Đông, thôn Tây mười tháng tư viêm gan
bê …*) and the header is read once, far from the values it names.  An announcer reads
each row as a sentence that names its columns: *Thôn Đông, thôn Tây: ngày tiêm 10/4;
vắc xin viêm gan B.*  The row number column (``STT``) is not read.

Only a table that looks like data is read so: a header of short labels and rows with as
many cells.  The two-column Decree 30 header and the recipients beside the signature are
apparatus tables; the cleaner knows them, and they pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from audio.layout import is_apparatus

_MARKDOWN_ROW = re.compile(r"\s*\|(?P<cells>.*)\|\s*")
_MARKDOWN_RULE = re.compile(r"\s*\|?(?:\s*:?-{2,}:?\s*\|)+\s*(?::?-{2,}:?\s*)?")
_INDEX_LABELS = frozenset({"stt", "tt", "số tt", "số thứ tự", "thứ tự", "số"})
_EMPTY_CELL = re.compile(r"[-–—_.…\s]*")
_NUMBER_LABEL = re.compile(r"(?i:số)\s+\D+")  # "Số CCCD", "Số hộ": a label, not a document number
_LABEL_END = re.compile(r"[.;!?]$")
_MAX_LABEL_WORDS = 6


TABLE_HEADER = "Tiêu đề cột bảng (đọc kèm từng dòng)"
ROW_NUMBER = "Số thứ tự dòng bảng"


@dataclass(frozen=True)
class SetAside:
    """A piece of a table that is not read as written: the header, a row's number."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class SpokenTables:
    lines: list[tuple[int, str]]
    set_aside: list[SetAside]


@dataclass(frozen=True)
class _Row:
    number: int
    cells: tuple[str, ...]


def _cells(text: str) -> tuple[str, ...] | None:
    m = _MARKDOWN_ROW.fullmatch(text)
    if m:
        return tuple(c.replace("*", "").strip() for c in m["cells"].split("|"))
    if "\t" in text.strip():
        return tuple(c.strip() for c in text.rstrip("\r\n").split("\t"))
    return None


def _apparatus(cell: str) -> bool:
    """A cell of the Decree 30 header or signature table; one word (``THÔN``) is a label."""
    if "<br" in cell.lower():
        return True
    return len(cell.split()) > 1 and is_apparatus(cell) and not _NUMBER_LABEL.fullmatch(cell)


def _is_header(cells: tuple[str, ...], ruled: bool) -> bool:
    """Short labels, none of them apparatus; two columns only under a markdown rule or beside a row number."""
    labels = [c for c in cells if c]
    if len(labels) < 2 or len(labels) != len(cells):
        return False
    if any(len(c.split()) > _MAX_LABEL_WORDS or _LABEL_END.search(c) or c.replace(".", "").isdigit() for c in labels):
        return False
    if any(_apparatus(c) for c in labels):
        return False
    return len(labels) >= 3 or ruled or labels[0].lower().rstrip(".") in _INDEX_LABELS


def _label(text: str, all_caps: bool) -> str:
    """A column label as said inside a sentence: lower case, acronyms kept."""
    words = text.split()
    return " ".join(w.lower() if all_caps or not (w.isupper() and len(w) > 1) else w for w in words)


_DATE_VALUE = re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?")


def _said(label: str, value: str, all_caps: bool) -> str:
    """``Ngày tiêm`` and ``10/4`` → ``tiêm ngày 10/4``: the date rule says *ngày* itself."""
    words = _label(label, all_caps).split()
    if words[0] == "ngày" and _DATE_VALUE.fullmatch(value):
        return " ".join([*words[1:], "ngày", value])
    return f"{' '.join(words)} {value}"


def _sentence(header: tuple[str, ...], cells: tuple[str, ...]) -> str:
    all_caps = all(c.isupper() for c in header if any(ch.isalpha() for ch in c))
    columns = list(zip(header, cells))
    if columns and columns[0][0].lower().rstrip(".") in _INDEX_LABELS:
        columns = columns[1:]
    filled = [(label, value.rstrip(" .;")) for label, value in columns if not _EMPTY_CELL.fullmatch(value)]
    if not filled:
        return ""
    (_, subject), rest = filled[0], filled[1:]
    said = "; ".join(_said(label, value, all_caps) for label, value in rest)
    return f"{subject}: {said}." if said else f"{subject}."


def _table_at(lines: list[str], start: int) -> tuple[tuple[str, ...], list[_Row], int] | None:
    header = _cells(lines[start])
    ruled = start + 1 < len(lines) and _MARKDOWN_RULE.fullmatch(lines[start + 1]) is not None
    if header is None or not _is_header(header, ruled):
        return None
    rows: list[_Row] = []
    i = start + 1
    while i < len(lines):
        if _MARKDOWN_RULE.fullmatch(lines[i]):
            i += 1
            continue
        cells = _cells(lines[i])
        if cells is None or not 1 < len(cells) <= len(header) or any(_apparatus(c) for c in cells):
            break
        rows.append(_Row(i, cells + ("",) * (len(header) - len(cells))))
        i += 1
    return (header, rows, i) if rows else None


def is_data_table(rows: list[str]) -> bool:
    """Whether these rows (cells separated by tabs), from the first, are one data table."""
    table = _table_at(rows, 0) if rows else None
    return table is not None and table[2] == len(rows)


def spoken_tables(lines: Iterable[str]) -> SpokenTables:
    """``(source line number, text)`` for each line, data-table rows replaced by sentences.

    The header line gives way to an empty line; each row becomes its own paragraph.  The
    header and the row numbers are set aside, so that the official sees them as removed."""
    source = list(lines)
    out: list[tuple[int, str]] = []
    aside: list[SetAside] = []
    i = 0
    while i < len(source):
        table = _table_at(source, i)
        if table is None:
            out.append((i + 1, source[i]))
            i += 1
            continue
        header, rows, end = table
        out.append((i + 1, ""))
        aside.append(SetAside(i + 1, "\t".join(header), TABLE_HEADER))
        numbered = header[0].lower().rstrip(".") in _INDEX_LABELS
        for row in rows:
            if numbered and row.cells[0]:
                aside.append(SetAside(row.number + 1, row.cells[0], ROW_NUMBER))
            out.extend([(row.number + 1, _sentence(header, row.cells)), (row.number + 1, "")])
        i = end
    return SpokenTables(out, aside)
