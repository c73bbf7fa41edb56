"""PDF files through poppler-utils: page count and encryption (pdfinfo), the text layer
(``pdftotext -layout``, rebuilt column by column) and page images (pdftoppm).

``pdftotext -layout`` was measured against pypdf on the same documents with the same
cleaner (docs/audio-text.md, "Intake"): with the column rebuild both give the cleaner
everything it needs (without it, either loses the header and the signature), pdftotext
in half the time, and poppler is needed anyway to draw pages for OCR and preview.  A page
with (almost) no text layer is a scan: it is rendered at 300 dpi and read by OCR.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from audio.intake.layout import rebuild_columns
from audio.intake.model import IntakeError

SCAN_DPI = 300
_MIN_LETTERS = 25
_PAGES = re.compile(r"^Pages:\s+(\d+)", re.MULTILINE)


def _poppler(args: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise IntakeError("pdf_unavailable", "Máy chủ chưa cài công cụ đọc PDF (poppler-utils); hãy báo quản trị viên.") from None
    except subprocess.TimeoutExpired:
        raise IntakeError("pdf_timeout", "Đọc tệp PDF quá lâu; tệp có thể bị hỏng. Hãy xuất lại PDF hoặc tải ảnh chụp.") from None


def page_count(path: Path, timeout_s: float = 30.0) -> int:
    """The number of pages; an encrypted or broken file is refused here, before any work."""
    done = _poppler(["pdfinfo", str(path)], timeout_s)
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        if "password" in err.lower():
            raise IntakeError("pdf_encrypted", "Tệp PDF có mật khẩu nên không đọc được. Hãy gỡ mật khẩu "
                                               "(hoặc in ra PDF mới) rồi tải lên lại.")
        raise IntakeError("pdf_broken", "Tệp PDF bị hỏng hoặc tải về chưa hết; hãy tải lại tệp gốc.")
    found = _PAGES.search(done.stdout.decode("utf-8", "replace"))
    if not found or int(found.group(1)) < 1:
        raise IntakeError("pdf_broken", "Tệp PDF bị hỏng hoặc không có trang nào.")
    return int(found.group(1))


def text_pages(path: Path, pages: int, timeout_s: float = 60.0) -> list[str]:
    """Each page's text layer as ``pdftotext -layout`` prints it (fixed-width columns)."""
    done = _poppler(["pdftotext", "-layout", "-enc", "UTF-8", "-f", "1", "-l", str(pages), str(path), "-"], timeout_s)
    if done.returncode != 0:
        raise IntakeError("pdf_broken", "Tệp PDF bị hỏng; không đọc được chữ trong tệp.")
    texts = done.stdout.decode("utf-8", "replace").split("\f")
    return (texts + [""] * pages)[:pages]


def has_text(page: str) -> bool:
    """A page with a real text layer (a scan may carry a few stray characters)."""
    return sum(c.isalpha() for c in page) >= _MIN_LETTERS


def page_text(page: str) -> str:
    return rebuild_columns(page.replace("\r", "")).strip("\n")


def render(path: Path, first: int, last: int, out_dir: Path, dpi: int = SCAN_DPI, jpeg_width: int | None = None,
           timeout_s: float = 120.0) -> list[Path]:
    """Pages ``first``..``last`` as PNG at ``dpi`` (for OCR) or JPEG ``jpeg_width`` wide (to show)."""
    prefix = out_dir / f"p{first}-{jpeg_width or dpi}"
    args = ["pdftoppm", "-f", str(first), "-l", str(last)]
    args += ["-jpeg", "-jpegopt", "quality=80", "-scale-to-x", str(jpeg_width), "-scale-to-y", "-1"] if jpeg_width \
        else ["-png", "-r", str(dpi)]
    done = _poppler([*args, str(path), str(prefix)], timeout_s)
    if done.returncode != 0:
        raise IntakeError("pdf_broken", "Tệp PDF bị hỏng; không dựng được hình trang.")
    return sorted(out_dir.glob(f"{prefix.name}-*"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
