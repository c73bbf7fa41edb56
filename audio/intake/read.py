"""Read an uploaded document, choosing the reader by what the bytes are.

One entry point, :func:`read_document`, for the CLI (``loaxa script|render FILE``) and
the compose page alike.  Every refusal is an :class:`IntakeError` with a Vietnamese
message; nothing here writes anywhere but a private temporary folder.
"""

from __future__ import annotations

import io
import logging
import tempfile
import unicodedata
import warnings
from pathlib import Path, PurePath

from audio.intake import pdf
from audio.intake.model import Document, IntakeError, IntakeLimits, PageImage, Word
from audio.intake.sniff import NAMES, claimed, sniff
from audio.intake.text import text_of_docx, text_of_plain
from audio.progress import ProgressCallback, RenderProgress, notify

log = logging.getLogger(__name__)

ACCEPTED = "văn bản .txt, .docx, tệp PDF hoặc ảnh chụp (JPEG, PNG, HEIC)"


def read_document(data: bytes, name: str | None = None, limits: IntakeLimits = IntakeLimits(),
                  progress: ProgressCallback | None = None) -> Document:
    """The text of an uploaded file, read by the reader its content calls for.

    ``name`` only serves the messages: a file whose name claims another type is read by
    its content, with a notice; one whose content is not a document is refused, naming
    both.  ``progress`` hears one "reading" step per OCR page.
    """
    if len(data) > limits.max_bytes:
        raise IntakeError("too_large", f"Tệp lớn quá {limits.max_bytes // (1024 * 1024)} MB.")
    kind = sniff(data)
    said = claimed(name)
    if kind not in ("text", "docx", "pdf", "image"):
        raise IntakeError(*_refusal(kind, said, name))
    notices = ()
    if said and said != kind and said in ("text", "docx", "pdf", "image"):
        notices = (f"Tệp “{PurePath(name or '').name}” mang đuôi của {NAMES[said]} nhưng nội dung là {NAMES[kind]}; "
                   "đã đọc theo nội dung.",)
    if kind == "text":
        doc = Document(text_of_plain(data), "text")
    elif kind == "docx":
        doc = Document(text_of_docx(data), "docx")
    elif kind == "pdf":
        doc = _read_pdf(data, limits, progress)
    else:
        doc = _read_image(data, limits, progress)
    return Document(unicodedata.normalize("NFC", doc.text), doc.kind, doc.pages, doc.words, doc.images,
                    notices + doc.notices, doc.dropped_lines)


def _refusal(kind: str, said: str | None, name: str | None) -> tuple[str, str]:
    if kind == "empty":
        return "empty_file", "Tệp rỗng, không có nội dung."
    if kind == "docx-broken":
        return "bad_docx", "Tệp .docx bị hỏng hoặc không phải tài liệu Word."
    what = NAMES.get(kind, NAMES["binary"])
    if kind == "doc":
        hint = "hãy mở bằng Word và lưu lại thành .docx hoặc PDF"
    else:
        hint = f"chỉ nhận {ACCEPTED}"
    if said and said != kind:
        return "wrong_type", f"Tệp “{PurePath(name or '').name}” mang đuôi của {NAMES.get(said, said)} nhưng nội dung là {what}; {hint}."
    return "bad_file_type", f"Tệp này là {what}; {hint}."


# -- PDF ---------------------------------------------------------------------------------------
def _read_pdf(data: bytes, limits: IntakeLimits, progress: ProgressCallback | None) -> Document:
    with tempfile.TemporaryDirectory(prefix="loaxa-intake-") as tmp:
        folder = Path(tmp)
        path = folder / "in.pdf"
        path.write_bytes(data)
        pages = pdf.page_count(path)
        if pages > limits.max_pages:
            raise IntakeError("too_many_pages", f"Tệp PDF có {pages} trang, quá giới hạn {limits.max_pages} trang. "
                                                "Hãy tách riêng những trang cần phát thành tệp mới.")
        texts = pdf.text_pages(path, pages)
        scans = [n for n, t in enumerate(texts, 1) if not pdf.has_text(t)]
        shown = min(pages, limits.preview_pages)
        images = tuple(_preview(p, n) for n, p in enumerate(pdf.render(path, 1, shown, folder, jpeg_width=limits.preview_width), 1))
        if not scans:
            return Document("\n\n".join(pdf.page_text(t) for t in texts).strip(), "pdf", pages, images=images)
        parts: list[str] = []
        words: list[Word] = []
        dropped: list[str] = []
        for n, text in enumerate(texts, 1):
            if n not in scans:
                parts.append(pdf.page_text(text))
                continue
            notify(progress, RenderProgress("reading", scans.index(n), len(scans), fraction=scans.index(n) / len(scans)))
            from PIL import Image

            (png,) = pdf.render(path, n, n, folder)
            with Image.open(png) as image:
                _ocr_into(image, n, parts, words, dropped, limits)
            png.unlink()
        notify(progress, RenderProgress("reading", len(scans), len(scans), fraction=1.0))
        text = _joined(parts)
        if not any(c.isalpha() for c in text):
            raise IntakeError("no_text", "Tệp PDF này là bản quét nhưng không nhận ra chữ nào; hãy quét hoặc chụp lại rõ hơn.")
        kind = "pdf-scan" if len(scans) == pages else "pdf"
        return Document(text, kind, pages, tuple(words), images, (), tuple(dropped))


def _joined(parts: list[str]) -> str:
    return "\n\n".join(p for p in parts if p.strip())


def _ocr_into(image, page: int, parts: list[str], words: list[Word], dropped: list[str], limits: IntakeLimits) -> None:  # noqa: ANN001
    """OCR one page and append its text, its words (offsets into the joined text) and its noise."""
    from audio.intake import ocr, preprocess
    from audio.intake.assemble import assemble

    prepared = preprocess.prepare(image, lambda im: ocr.orientation(im, limits.ocr_timeout_s))
    assembled = assemble(ocr.recognise(prepared.image, limits.ocr_timeout_s))
    if not assembled.text.strip():
        dropped.extend(assembled.dropped)
        return
    offset = len(_joined(parts)) + (2 if any(p.strip() for p in parts) else 0)
    parts.append(assembled.text)
    words.extend(Word(w.text, w.confidence, page, offset + start, offset + end) for w, start, end in assembled.words)
    dropped.extend(assembled.dropped)


# -- images ------------------------------------------------------------------------------------
def _open_image(data: bytes, limits: IntakeLimits):  # noqa: ANN202 - PIL image
    from PIL import Image, UnidentifiedImageError

    _register_heif()
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise IntakeError("image_too_large", "Ảnh có độ phân giải quá lớn; hãy chụp với cỡ ảnh thường.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise IntakeError("bad_image", "Ảnh bị hỏng hoặc không đọc được; hãy chụp lại hoặc gửi ảnh JPEG/PNG.") from None
    return image


def _register_heif() -> None:
    """HEIC, the iPhone's default, through pillow-heif when it is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def _read_image(data: bytes, limits: IntakeLimits, progress: ProgressCallback | None) -> Document:
    from PIL import ImageOps

    image = _open_image(data, limits)
    notify(progress, RenderProgress("reading", 0, 1, fraction=0.0))
    parts: list[str] = []
    words: list[Word] = []
    dropped: list[str] = []
    _ocr_into(image, 1, parts, words, dropped, limits)
    notify(progress, RenderProgress("reading", 1, 1, fraction=1.0))
    text = _joined(parts)
    if sum(c.isalpha() for c in text) < 10:
        raise IntakeError("no_text", "Không tìm thấy chữ trong ảnh. Hãy chụp lại: đủ sáng, chụp thẳng từ trên xuống, "
                                     "cả trang giấy nằm trong khung hình.")
    shown = ImageOps.exif_transpose(image).convert("RGB")
    shown.thumbnail((limits.preview_width, limits.preview_width * 2))
    buf = io.BytesIO()
    shown.save(buf, "JPEG", quality=80)
    return Document(text, "image", 1, tuple(words), (PageImage(1, buf.getvalue(), shown.width, shown.height),), (),
                    tuple(dropped))


def _preview(path: Path, number: int) -> PageImage:
    from PIL import Image

    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        return PageImage(number, data, image.width, image.height)
