"""Two-column regions of a page, rebuilt as the line sequence a paste from Word gives.

An official document puts the issuing body beside the national motto, the number beside
the place and date, and the recipient list beside the signature.  A layout-preserving PDF
extraction prints each pair on one line, far apart::

        ỦY BAN NHÂN DÂN            CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
          XÃ HÒA BÌNH                  Độc lập - Tự do - Hạnh phúc
       Số: 45/TB-UBND             Hòa Bình, ngày 12 tháng 3 năm 2025

The bulletin cleaner knows these parts one to a line, left column first, as they are
when copied from Word.  :func:`rebuild_columns` finds runs of such split lines and writes
the left column, a blank line, then the right column; body lines pass unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GAP = re.compile(r"\S+(?: {1,3}\S+)*")
_MIN_GAP = 4


@dataclass(frozen=True)
class _Cell:
    start: int
    end: int
    text: str


def _cells(line: str) -> list[_Cell]:
    """The pieces of a fixed-width line separated by at least four spaces."""
    cells: list[_Cell] = []
    for m in _GAP.finditer(line):
        if cells and m.start() - cells[-1].end < _MIN_GAP:
            last = cells.pop()
            cells.append(_Cell(last.start, m.end(), line[last.start:m.end()]))
        else:
            cells.append(_Cell(m.start(), m.end(), m.group()))
    return cells


def _is_split(cells: list[_Cell], width: int) -> bool:
    return len(cells) == 2 and cells[0].end < width * 0.6 and cells[1].start > width * 0.3


def _side_only(cells: list[_Cell], width: int, inside: bool = False) -> bool:
    """A line with text in one column only: centred right of the page's middle, or short and
    within the left half (off the margin, unless the line is already ``inside`` a region).

    A title centred on the page is neither, so it never joins a header region.
    """
    if len(cells) != 1:
        return False
    cell = cells[0]
    return _right_only(cell, width) or ((inside or cell.start >= 2) and cell.end < width * 0.55)


def _right_only(cell: _Cell, width: int) -> bool:
    return cell.start > width * 0.3 and (cell.start + cell.end) / 2 > width * 0.58


def rebuild_columns(page: str) -> str:
    """``page`` (fixed-width text of one page) with its two-column regions written column by column."""
    lines = page.split("\n")
    width = max((len(line.rstrip()) for line in lines), default=0)
    if not width:
        return page
    parsed = [_cells(line) for line in lines]
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _is_split(parsed[i], width):
            if _continues(lines, i, width) and out and out[-1]:
                out[-1] += " " + _squeeze(lines[i])
            else:
                out.append(_squeeze(lines[i]))
            i += 1
            continue
        start = i
        while start > 0 and _side_only(parsed[start - 1], width) and out and out[-1]:
            start -= 1
            out.pop()
        end = i
        while end + 1 < len(lines) and (
            _is_split(parsed[end + 1], width) or _side_only(parsed[end + 1], width, inside=True)
            or (not parsed[end + 1] and _region_goes_on(parsed, end + 1, width))
        ):
            end += 1
        boundary = min(cells[1].start for cells in parsed[start:end + 1] if _is_split(cells, width))
        left = [_squeeze(c.text) for cells in parsed[start:end + 1] for c in cells if c.start < boundary - 2]
        right = [_squeeze(c.text) for cells in parsed[start:end + 1] for c in cells if c.start >= boundary - 2]
        out.extend(["", *left, "", *right, ""])
        i = end + 1
    return "\n".join(out)


_LIST_START = re.compile(r"\s*(?:[-–+•*]|\d+[.)]|[a-zđ][)]|[IVX]+[.)])\s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _continues(lines: list[str], i: int, width: int) -> bool:
    """Line ``i`` carries on the paragraph above: that line ran to the right margin and this
    one starts no further in (a new paragraph has its first-line indent) and is no list item."""
    if i == 0 or not lines[i].strip() or not lines[i - 1].strip() or _LIST_START.match(lines[i]):
        return False
    above = lines[i - 1].rstrip()
    return len(above) >= width * 0.85 and _indent(lines[i]) <= _indent(above)


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _region_goes_on(parsed: list[list[_Cell]], blank: int, width: int) -> bool:
    """A blank line inside a signature block (the space left for the signature) continues the region."""
    k = blank
    while k < len(parsed) and not parsed[k]:
        k += 1
    return k < len(parsed) and k - blank <= 4 and (
        _is_split(parsed[k], width) or (len(parsed[k]) == 1 and _right_only(parsed[k][0], width)))
