"""Document intake: OCR speed and accuracy on Vietnamese pages, PDF text speed, and which PDF
extractor gives the bulletin cleaner the better input.

Pages are made here (bench/intake_samples.py): known Vietnamese text in DejaVu Serif at
200 dpi, clean, and degraded like a phone photo (turned 3°, blurred, lit from one corner,
sensor noise, JPEG at quality 70, on a dark table).  Character accuracy is
100 × (1 − edit distance / reference length), whitespace collapsed.

Figures (medians of several runs):
- ``ocr_chars_per_s``: characters read per second, preprocessing included, on the clean page;
- ``ocr_char_accuracy_clean`` / ``ocr_char_accuracy_phone``: percent, targets ≥ 97 and ≥ 95;
- ``pdf_text_ms_per_page``: reading a 10-page PDF's text layer, columns rebuilt, per page;
- ``pdf_cleaner_score_pdftotext`` / ``pdf_cleaner_score_pypdf``: percent of the cleaner's
  expected outcome reached (apparatus lines dropped, body paragraphs intact, title right)
  on official PDFs, for poppler's ``pdftotext -layout`` and for pypdf's layout mode, both
  with the same column rebuild.  :func:`compare` prints every variant measured.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from audio.document import clean_document
from audio.intake import read_document
from audio.intake.layout import rebuild_columns
from bench import intake_samples as samples

log = logging.getLogger(__name__)


def char_accuracy(reference: str, read: str) -> float:
    """Percent of ``reference`` read right: 100 × (1 − Levenshtein distance / its length)."""
    a, b = " ".join(reference.split()), " ".join(read.split())
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return max(0.0, 100.0 * (1 - previous[-1] / max(1, len(a))))


# -- PDF extractors compared -------------------------------------------------------------------
def _pdftotext(path: Path, layout: bool) -> list[str]:
    args = ["pdftotext", *(["-layout"] if layout else []), "-enc", "UTF-8", str(path), "-"]
    return subprocess.run(args, capture_output=True, check=True).stdout.decode().split("\f")


def _pypdf(path: Path, layout: bool) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return [p.extract_text(extraction_mode="layout") if layout else p.extract_text() for p in reader.pages]


EXTRACTORS = {
    "pdftotext -layout + columns": lambda p: [rebuild_columns(t) for t in _pdftotext(p, True)],
    "pdftotext -layout": lambda p: _pdftotext(p, True),
    "pdftotext (reading order)": lambda p: _pdftotext(p, False),
    "pypdf layout + columns": lambda p: [rebuild_columns(t) for t in _pypdf(p, True)],
    "pypdf layout": lambda p: _pypdf(p, True),
    "pypdf plain": lambda p: _pypdf(p, False),
}

VARIANTS = (
    samples.NOTICE,
    dataclasses.replace(samples.NOTICE, issuer=("UBND HUYỆN TÂN LẠC", "PHÒNG NÔNG NGHIỆP VÀ PTNT"),
                        number="Số: 112/KH-NN", place_date="Tân Lạc, ngày 02 tháng 4 năm 2025", kind="KẾ HOẠCH",
                        subject="Phòng chống rét cho trâu, bò vụ đông xuân",
                        signature=("KT. TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG", "Lê Thị Hoa")),
    dataclasses.replace(samples.NOTICE, issuer=("BAN CHỈ HUY QUÂN SỰ", "XÃ ĐỒNG TÂM"), number="Số: 07/TB-BCH",
                        place_date="Đồng Tâm, ngày 20 tháng 1 năm 2025", subject="Về việc khám sức khỏe nghĩa vụ quân sự năm 2025",
                        recipients=("Nơi nhận:", "- Đảng ủy, UBND xã;", "- Lưu."),
                        signature=("CHỈ HUY TRƯỞNG", "Trần Văn Bình")),
)


def cleaner_score(text: str, notice: samples.Notice) -> float:
    """Percent of what the cleaner should do that it did: drop each apparatus line, keep each
    body paragraph whole, find the title."""
    doc = clean_document(text)
    script = "\n".join((doc.title, *doc.paragraphs))
    checks = [line not in script for line in notice.apparatus]
    checks += [paragraph in doc.paragraphs for paragraph in notice.body]
    checks.append(doc.title.casefold().startswith(notice.kind.casefold()) and notice.subject[5:40] in doc.title)
    return 100.0 * sum(checks) / len(checks)


def compare() -> dict[str, tuple[float, float]]:
    """Every extractor: (mean cleaner score %, ms per page) over the document variants."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, notice in enumerate(VARIANTS):
            path = Path(tmp) / f"v{i}.pdf"
            path.write_bytes(samples.official_pdf(notice))
            paths.append((path, notice))
        for name, extract in EXTRACTORS.items():
            scores, times = [], []
            for path, notice in paths:
                start = time.perf_counter()
                pages = extract(path)
                times.append(time.perf_counter() - start)
                scores.append(cleaner_score("\n\n".join(pages), notice))
            out[name] = (statistics.mean(scores), statistics.median(times) * 1000)
    return out


# -- OCR -----------------------------------------------------------------------------------------
def _ocr(data: bytes) -> tuple[str, float]:
    start = time.perf_counter()
    doc = read_document(data, "page.jpg")
    return doc.text, time.perf_counter() - start


def run() -> dict[str, float]:
    clean = samples.jpeg(samples.text_page(), quality=92)
    phones = [samples.phone_photo(samples.text_page(), angle=a, seed=s) for a, s in ((3.0, 1), (-2.5, 2), (4.0, 3))]
    clean_runs = [_ocr(clean) for _ in range(3)]
    phone_runs = [_ocr(p) for p in phones]
    pdf = samples.official_pdf(pages=10)
    pdf_times = []
    for _ in range(5):
        start = time.perf_counter()
        read_document(pdf, "ten-pages.pdf")
        pdf_times.append(time.perf_counter() - start)
    compared = compare()
    for name, (score, ms) in compared.items():
        log.info("%-30s cleaner score %5.1f %%  %6.1f ms per document", name, score, ms)
    return {
        "ocr_chars_per_s": statistics.median(len(text) / s for text, s in clean_runs),
        "ocr_char_accuracy_clean": statistics.median(char_accuracy(samples.OCR_TEXT, t) for t, _ in clean_runs),
        "ocr_char_accuracy_phone": statistics.median(char_accuracy(samples.OCR_TEXT, t) for t, _ in phone_runs),
        "pdf_text_ms_per_page": statistics.median(pdf_times) * 1000 / 10,
        "pdf_cleaner_score_pdftotext": compared["pdftotext -layout + columns"][0],
        "pdf_cleaner_score_pypdf": compared["pypdf layout + columns"][0],
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for key, value in run().items():
        print(f"{key:<32} {value:.2f}")
