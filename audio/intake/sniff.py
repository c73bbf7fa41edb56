"""What a file is, told by its first bytes, never by its name.

Officials rename files, phones save HEIC as .jpg and portals serve an error page as
.pdf, so the reader is chosen from the content.  The name is used only to say, in the
refusal, what the file claimed to be.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

READABLE = ("text", "docx", "pdf", "image")

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}

# What each kind is called when a refusal names it.
NAMES = {
    "text": "văn bản thuần (.txt)", "docx": "tài liệu Word (.docx)", "pdf": "tệp PDF", "image": "ảnh",
    "doc": "tài liệu Word đời cũ (.doc)", "odt": "tài liệu OpenDocument (.odt)", "zip": "tệp nén ZIP",
    "html": "trang web (HTML)", "binary": "tệp nhị phân không đọc được", "empty": "tệp rỗng",
    "xlsx": "bảng tính Excel", "pptx": "bản trình chiếu PowerPoint",
}

CLAIMS = {
    ".txt": "text", ".text": "text", ".docx": "docx", ".pdf": "pdf", ".jpg": "image", ".jpeg": "image",
    ".png": "image", ".heic": "image", ".heif": "image", ".tif": "image", ".tiff": "image", ".webp": "image",
    ".doc": "doc", ".odt": "odt", ".zip": "zip", ".html": "html", ".htm": "html",
}


def claimed(name: str | None) -> str | None:
    """The kind a file name claims, from its extension (``None``: no or unknown extension)."""
    return CLAIMS.get(PurePath(name).suffix.lower()) if name else None


def sniff(data: bytes) -> str:
    """The kind of ``data``: one of :data:`READABLE`, or a kind that is refused (see :data:`NAMES`)."""
    head = data[:1024]
    if not data.strip():
        return "empty"
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")):
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "image"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "doc"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"
    if b"\x00" in head:
        return "binary"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "docx-broken"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "content.xml" in names and "mimetype" in names:
        return "odt"
    return "zip"
