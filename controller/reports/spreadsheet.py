"""CSV and XLSX files of the reports, safe to open in a spreadsheet.

Names, titles and notes come from people, so text that a spreadsheet would run as a formula
(``=HYPERLINK(...)``, ``=cmd|...``) is neutralised: an apostrophe in CSV, a quoted text cell in
XLSX.  XLSX dates and times are real typed cells (local wall clock, the file has no zone) with
a Vietnamese format, the header row carries an autofilter, and the sheet's name keeps its
diacritics.  A logbook may end with a signature block for the people who sign it on paper.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Sequence

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


def write_xlsx(title: str, heading: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], *,
               signature: Sequence[str] = ()) -> bytes:
    """One sheet: ``heading`` on row 1, the labels on row 2 (frozen, with a filter), the rows from row 3."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(title)
    ws.append([heading])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([c.label for c in columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    last = 2
    for r in rows:  # cells addressed by their row: asking the sheet for its last row scans every cell
        last += 1
        for col, v in enumerate(r, start=1):
            if v == "" or v is None:
                continue
            cell = ws.cell(row=last, column=col, value=v)
            if is_formula_like(cell.value):  # openpyxl stores such text as a formula unless told otherwise
                cell.data_type = "s"
                cell.quotePrefix = True
            else:
                fmt = FORMATS.get(type(cell.value))
                if fmt:
                    cell.number_format = fmt
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = c.width
    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:{ws.cell(row=2, column=len(columns)).column_letter}{max(last, 2)}"
    if signature:
        _signature_block(ws, last + 2, len(columns), signature, Font, Alignment)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _signature_block(ws: Any, row: int, width: int, titles: Sequence[str], font: Any, align: Any) -> None:
    """The place, date and signature boxes under a logbook: one title each, spread across the columns."""
    ws.cell(row=row, column=max(1, width - 3), value="…………, ngày …… tháng …… năm ……").font = font(italic=True)
    span = max(1, width // len(titles))
    for n, text in enumerate(titles):
        col = 1 + n * span
        ws.cell(row=row + 1, column=col, value=text).font = font(bold=True)
        ws.cell(row=row + 2, column=col, value="(Ký, ghi rõ họ tên)").font = font(italic=True)
        ws.cell(row=row + 1, column=col).alignment = align(horizontal="left")
