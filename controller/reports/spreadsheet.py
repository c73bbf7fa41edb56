"""CSV and XLSX files of the reports, safe to open in a spreadsheet.

Names, titles and notes come from people, so text that a spreadsheet would run as a formula
(``=HYPERLINK(...)``, ``=cmd|...``) is neutralised: an apostrophe in CSV, a quoted text cell in
XLSX.  The XLSX file is written by this module as a stream (:func:`stream_xlsx`), so an export's
first bytes leave before its last rows are formatted.  XLSX dates and times are real typed cells (local wall clock, the file has no zone) with
a Vietnamese format, the header row carries an autofilter, and the sheet's name keeps its
diacritics.  A logbook may end with a signature block for the people who sign it on paper.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
FORMATS = {date: "DD/MM/YYYY", time: "HH:MM:SS", datetime: "DD/MM/YYYY HH:MM:SS"}


def is_formula_like(value: Any) -> bool:
    """Whether a spreadsheet would read this text as a formula (a title or note anyone could write)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe, so it shows as text."""
    return "'" + value if is_formula_like(value) else value


def _csv_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return "" if value is None else csv_safe(value)


def write_csv(labels: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM so Excel on Windows opens the Vietnamese text correctly; every text cell quoted."""
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC)
    w.writerow(labels)
    for r in rows:
        w.writerow([_csv_text(v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class Column:
    label: str
    width: int = 14


SIGNATURE = ("NGƯỜI LẬP SỔ", "TRƯỞNG ĐÀI / PHỤ TRÁCH TRUYỀN THANH", "XÁC NHẬN CỦA LÃNH ĐẠO")


def sheet_title(name: str) -> str:
    """A worksheet name Excel accepts (31 characters, none of ``[]:*?/\\``), diacritics kept."""
    return " ".join(name.translate(SHEET_FORBIDDEN).split())[:31] or "Trang 1"


def write_xlsx(title: str, heading: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
               signature: Sequence[str] = ()) -> bytes:
    """One sheet: ``heading`` on row 1, the labels on row 2 (frozen, with a filter), the rows from row 3."""
    return b"".join(stream_xlsx(title, heading, columns, rows, signature=signature))


# The XLSX file is written here, part by part, into a zip streamed as it grows: a download
# starts with the first rows, and a week of a province (140,000 rows) is never held whole.
# A cell's style is an index into STYLES (see _STYLES_XML).
_HEADING, _LABEL, _DATE, _TIME, _DATETIME, _TEXT, _ITALIC, _SIGNER = range(1, 9)
_DATE_STYLE = {date: _DATE, time: _TIME, datetime: _DATETIME}
_EPOCH = datetime(1899, 12, 30)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>')
_STYLES_XML = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {_NS}>'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="DD/MM/YYYY"/><numFmt numFmtId="165" formatCode="HH:MM:SS"/>'
    '<numFmt numFmtId="166" formatCode="DD/MM/YYYY HH:MM:SS"/></numFmts>'
    '<fonts count="4"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="13"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font><font><i/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="9"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="left"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
FLUSH_ROWS = 200  # rows between two chunks handed to the response


def column_letter(n: int) -> str:
    """1 → A, 27 → AA."""
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _text(value: str) -> str:
    """Text for an XML element: escaped, characters XML cannot carry dropped, a carriage return kept."""
    return escape(_ILLEGAL.sub("", value)).replace("\r", "&#13;")


def _style(style: int) -> str:
    return f' s="{style}"' if style else ""


def _cell(ref: str, value: Any, style: int = 0) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{_style(style)}><v>{value!r}</v></c>'
    kind = type(value)
    if kind in _DATE_STYLE:
        if kind is datetime:
            serial: float = (value.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400
        elif kind is date:
            serial = (value - _EPOCH.date()).days
        else:
            serial = (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
        return f'<c r="{ref}" s="{_DATE_STYLE[kind]}"><v>{serial!r}</v></c>'
    text = str(value)
    if is_formula_like(text):
        style = _TEXT
    return (f'<c r="{ref}" t="inlineStr"{_style(style)}>'
            f'<is><t xml:space="preserve">{_text(text)}</t></is></c>')


def _row(n: int, cells: Sequence[tuple[Any, int]], letters: Sequence[str], start: int = 0) -> str:
    body = "".join(_cell(f"{letters[start + i]}{n}", v, s) for i, (v, s) in enumerate(cells))
    return f'<row r="{n}">{body}</row>'


class _Chunks:
    """The zip's output: what was written since the last chunk was taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, b: bytes) -> int:
        self.parts.append(bytes(b))
        return len(b)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def stream_xlsx(title: str, heading: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
                signature: Sequence[str] = ()) -> Iterator[bytes]:
    """The file of :func:`write_xlsx` as chunks, each rows' XML compressed and handed on as it is
    written (the zip records each part's size after it, so nothing is sought back)."""
    sink = _Chunks()
    width = len(columns)
    letters = [column_letter(i) for i in range(1, max(width, 1) + 1 + 3)]
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES_XML)
        last_col = letters[width - 1] if width else "A"
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            cols = "".join(f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'
                           for i, c in enumerate(columns, start=1))
            sheet.write((f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_RNS}>'
                         '<sheetViews><sheetView workbookViewId="0"><pane ySplit="2" topLeftCell="A3" '
                         'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                         f'<sheetFormatPr defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}<sheetData>'
                         + _row(1, [(heading, _HEADING)], letters)
                         + _row(2, [(c.label, _LABEL) for c in columns], letters)).encode())
            yield sink.take()
            last, batch = 2, []
            for r in rows:
                last += 1
                batch.append(_row(last, [(v, 0) for v in r], letters))
                if len(batch) >= FLUSH_ROWS:
                    sheet.write("".join(batch).encode())
                    batch = []
                    chunk = sink.take()
                    if chunk:
                        yield chunk
            tail = "".join(batch)
            if signature:
                tail += _signature_rows(last + 2, width, signature, letters)
            sheet.write((tail + f'</sheetData><autoFilter ref="A2:{last_col}{max(last, 2)}"/>'
                         '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
                         '</worksheet>').encode())
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS} {_RNS}>'
            f'<sheets><sheet name="{_text(sheet_title(title))}" sheetId="1" r:id="rId1"/></sheets>'
            f'<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
            f"{_text(_quoted_sheet(sheet_title(title)))}!$A$2:${last_col}${max(last, 2)}</definedName></definedNames>"
            '</workbook>'))
    yield sink.take()


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _signature_rows(row: int, width: int, titles: Sequence[str], letters: Sequence[str]) -> str:
    """The place, date and signature boxes under a logbook: one title each, spread across the columns."""
    place = max(1, width - 3)
    out = [f'<row r="{row}">{_cell(f"{letters[place - 1]}{row}", "…………, ngày …… tháng …… năm ……", _ITALIC)}</row>']
    span = max(1, width // len(titles))
    signers = "".join(_cell(f"{letters[n * span]}{row + 1}", text, _SIGNER) for n, text in enumerate(titles))
    hints = "".join(_cell(f"{letters[n * span]}{row + 2}", "(Ký, ghi rõ họ tên)", _ITALIC) for n in range(len(titles)))
    out.append(f'<row r="{row + 1}">{signers}</row><row r="{row + 2}">{hints}</row>')
    return "".join(out)
