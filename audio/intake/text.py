"""Plain text and Word documents, in the line layout the bulletin cleaner knows."""

from __future__ import annotations

import io
import zipfile

from audio.intake.model import IntakeError
from audio.tables import is_data_table


def text_of_plain(data: bytes) -> str:
    """UTF-8 text (with or without a BOM); UTF-16 with a BOM, as Windows Notepad saves 'Unicode'."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IntakeError("bad_encoding", f"Tệp .txt phải ở bảng mã UTF-8 (byte lạ ở dòng {line}); "
                                          "hãy lưu lại với bảng mã UTF-8 rồi tải lên lại.") from None


def text_of_docx(data: bytes) -> str:
    """The paragraphs and tables of a .docx in document order, as blocks separated by blank lines.

    A two-column table at the top or bottom of an official document is layout, not data:
    the header (issuing body | national motto) and the signature block (recipients |
    signer).  Those are read column by column, the order the cleaner expects from a paste;
    a data table keeps its cells, one row a line, for the cleaner to read row by row
    (audio/tables.py); any other table is read row by row, its cells joined.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IntakeError("bad_docx", "Tệp .docx bị hỏng hoặc không phải tài liệu Word.") from exc
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            blocks.append(item.text)
        elif isinstance(item, Table):
            blocks.extend(_table_blocks(item))
    return "\n\n".join(b for b in blocks if b.strip())


def _table_blocks(table: object) -> list[str]:
    rows = [[cell.text for cell in row.cells] for row in table.rows]  # type: ignore[attr-defined]
    if rows and all(len(r) == 2 for r in rows) and len(rows) <= 8:
        columns = [[r[c] for r in rows] for c in range(2)]
        return ["\n".join(line for cell in col for line in cell.split("\n") if line.strip()) for col in columns]
    tabbed = ["\t".join(_merged_once(row)) for row in rows]
    if is_data_table(tabbed):
        return ["\n".join(tabbed)]
    return [" ".join(dict.fromkeys(c for c in row if c.strip())) for row in rows]


def _merged_once(row: list[str]) -> list[str]:
    """Cells of a row, one line each; a merged cell, which python-docx repeats, said once."""
    cells = [" ".join(c.split()) for c in row]
    return [c if i == 0 or c != cells[i - 1] else "" for i, c in enumerate(cells)]
