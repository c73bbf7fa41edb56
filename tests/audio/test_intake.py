"""Reading uploaded documents with the real tools: poppler-utils for PDF, Tesseract (Vietnamese) for
scans and photos.  Every document is made here, in the official two-column layout, with a Vietnamese
font (bench/intake_samples.py), so nothing depends on files outside the repository."""

from __future__ import annotations

import io
import unicodedata

import docx
import pytest
from PIL import Image

from audio.document import clean_document
from audio.intake import IntakeError, IntakeLimits, read_document
from audio.intake.layout import rebuild_columns
from audio.intake.sniff import sniff
from audio.progress import RenderProgress
from bench import intake_samples as samples
from bench.bench_intake import char_accuracy

NOTICE = samples.NOTICE


def _script(text: str) -> str:
    doc = clean_document(text)
    return "\n".join((doc.title, *doc.paragraphs))


def _letters(line: str) -> float:
    chars = line.replace(" ", "")
    return sum(c.isalpha() for c in chars) / max(1, len(chars))


def _assert_clean_reading(text: str) -> None:
    """The cleaner keeps the title and every body paragraph and drops every apparatus line."""
    doc = clean_document(text)
    assert doc.title.startswith("Thông báo về việc tiêm vắc xin"), doc.title
    script = "\n".join(doc.paragraphs)
    for paragraph in NOTICE.body:
        assert paragraph[:60] in script and paragraph[-40:] in script, paragraph
    for line in NOTICE.apparatus:
        assert line not in script, line
    dropped = {r.reason for r in doc.removed}
    assert {"Cơ quan ban hành", "Quốc hiệu, tiêu ngữ", "Số, ký hiệu", "Địa danh, ngày tháng", "Nơi nhận", "Chữ ký"} <= dropped


@pytest.fixture(scope="module")
def photo() -> bytes:
    return samples.phone_photo(samples.notice_page(), angle=3.0)


@pytest.fixture(scope="module")
def photo_doc(photo: bytes):
    return read_document(photo, "anh-chup.jpg")


# --- the reader is chosen by content --------------------------------------------------------

def test_content_not_name_picks_the_reader():
    assert sniff(samples.official_pdf()) == "pdf"
    assert sniff(samples.jpeg(Image.new("RGB", (10, 10), "white"))) == "image"
    assert sniff("Thông báo".encode()) == "text"
    doc = read_document(samples.official_pdf(), "thong-bao.txt")
    assert doc.kind == "pdf" and "Thực hiện kế hoạch" in doc.text
    assert "nội dung là tệp PDF" in doc.notices[0] and "đã đọc theo nội dung" in doc.notices[0]


@pytest.mark.parametrize("data, name, code, words", [
    (b"<!DOCTYPE html><html><body>Trang 404</body></html>", "thong-bao.pdf", "wrong_type", ["đuôi của tệp PDF", "trang web"]),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "cu.doc", "bad_file_type", [".doc", "lưu lại thành .docx"]),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "moi.docx", "wrong_type", ["đuôi của tài liệu Word (.docx)", "đời cũ"]),
    (b"PK\x03\x04 not a zip", "hong.docx", "bad_docx", ["docx"]),
    (b"\x00\x01\x02\x03" * 50, "anh.jpg", "wrong_type", ["đuôi của ảnh", "nhị phân"]),
    (b"   \n", "rong.txt", "empty_file", ["rỗng"]),
])
def test_a_file_that_is_not_what_it_claims_is_refused_in_vietnamese(data, name, code, words):
    with pytest.raises(IntakeError) as caught:
        read_document(data, name)
    assert caught.value.code == code
    for word in words:
        assert word in caught.value.message


def test_oversize_files_are_refused_naming_the_limit():
    with pytest.raises(IntakeError) as caught:
        read_document(b"x" * (2 * 1024 * 1024 + 1), "to.txt", IntakeLimits(max_bytes=2 * 1024 * 1024))
    assert caught.value.code == "too_large" and "2 MB" in caught.value.message


def test_text_that_is_not_utf8_is_refused_with_its_line():
    with pytest.raises(IntakeError) as caught:
        read_document(b"D\xf2ng m\xf4t\nTh\xf4ng b\xe1o", "tb.txt")
    assert caught.value.code == "bad_encoding" and "UTF-8" in caught.value.message


# --- PDF with a text layer -------------------------------------------------------------------

def test_pdf_text_layer_rebuilds_header_and_signature_columns():
    doc = read_document(samples.official_pdf(), "thong-bao.pdf")
    assert doc.kind == "pdf" and doc.pages == 1 and not doc.words
    lines = [line for line in doc.text.split("\n") if line]
    # left column, then right column, one part to a line: the layout the cleaner knows
    assert lines[:6] == [*NOTICE.issuer, NOTICE.number, *NOTICE.motto, NOTICE.place_date]
    tail = lines[-len(NOTICE.recipients) - len(NOTICE.signature):]
    assert tail == [*NOTICE.recipients, *NOTICE.signature]
    assert doc.images and doc.images[0].jpeg[:3] == b"\xff\xd8\xff"
    _assert_clean_reading(doc.text)


def test_wrapped_pdf_lines_are_joined_into_their_paragraph():
    doc = read_document(samples.official_pdf(), "thong-bao.pdf")
    for paragraph in NOTICE.body:
        assert paragraph in doc.text


def test_rebuild_columns_keeps_body_lines_and_splits_a_signature_block():
    page = ("Ủy ban nhân dân xã đề nghị trưởng các thôn thông báo rộng rãi để bà con biết và thực hiện đầy\n"
            "đủ.\n\n"
            "Nơi nhận:                                        TM. ỦY BAN NHÂN DÂN\n"
            "- Các thôn;                                          CHỦ TỊCH\n"
            "- Lưu: VT.\n\n\n"
            "                                                   Nguyễn Văn An\n")
    out = rebuild_columns(page).split("\n")
    assert out[0].endswith("thực hiện đầy đủ.")
    body_end = out.index("Nơi nhận:")
    assert out[body_end:body_end + 3] == ["Nơi nhận:", "- Các thôn;", "- Lưu: VT."]
    assert [x for x in out[body_end + 3:] if x] == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn An"]


def test_encrypted_pdf_is_refused_and_an_owner_only_password_is_read(tmp_path):
    from fpdf import FPDF

    def made(**passwords: str) -> bytes:
        pdf = FPDF()
        pdf.add_page()
        pdf.add_font("Serif", "", str(samples.SERIF))
        pdf.set_font("Serif", "", 12)
        pdf.multi_cell(0, 8, " ".join(NOTICE.body))
        pdf.set_encryption(**passwords)
        return bytes(pdf.output())

    with pytest.raises(IntakeError) as caught:
        read_document(made(owner_password="chu", user_password="khach"), "mat-khau.pdf")
    assert caught.value.code == "pdf_encrypted" and "mật khẩu" in caught.value.message
    assert "Thực hiện kế hoạch" in read_document(made(owner_password="chu"), "chi-chu.pdf").text


def test_corrupt_and_overlong_pdfs_get_a_message_not_a_crash():
    with pytest.raises(IntakeError) as caught:
        read_document(samples.official_pdf()[:2500], "do-dang.pdf")
    assert caught.value.code == "pdf_broken" and "hỏng" in caught.value.message
    with pytest.raises(IntakeError) as caught:
        read_document(samples.official_pdf(pages=200), "dai.pdf", IntakeLimits(max_pages=30))
    assert caught.value.code == "too_many_pages"
    assert "200 trang" in caught.value.message and "giới hạn 30 trang" in caught.value.message


# --- Word ------------------------------------------------------------------------------------

def test_docx_header_table_is_read_column_by_column_in_document_order():
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "ỦY BAN NHÂN DÂN\nXÃ HÒA BÌNH"
    table.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    table.cell(1, 0).text = NOTICE.number
    table.cell(1, 1).text = NOTICE.place_date
    document.add_paragraph(NOTICE.kind)
    document.add_paragraph(NOTICE.subject)
    for paragraph in NOTICE.body:
        document.add_paragraph(paragraph)
    buf = io.BytesIO()
    document.save(buf)
    doc = read_document(buf.getvalue(), "thong-bao.docx")
    assert doc.kind == "docx"
    lines = [line for line in doc.text.split("\n") if line]
    assert lines[:6] == [*NOTICE.issuer, NOTICE.number, *NOTICE.motto, NOTICE.place_date]
    cleaned = clean_document(doc.text)
    assert cleaned.title.startswith("Thông báo về việc") and cleaned.paragraphs[0] == NOTICE.body[0]


def test_docx_data_table_is_read_row_by_row_naming_its_columns():
    document = docx.Document()
    document.add_paragraph("Điện lực thông báo lịch tạm ngừng cung cấp điện như sau:")
    rows = [("STT", "Khu vực", "Thời gian"), ("1", "Thôn Hòa Bình", "7h00 - 11h30"), ("2", "Chợ Hải Hòa", "13h30 - 17h00")]
    table = document.add_table(rows=len(rows), cols=3)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_paragraph("Điện lực xin lỗi bà con vì sự bất tiện này.")
    buf = io.BytesIO()
    document.save(buf)
    cleaned = clean_document(read_document(buf.getvalue(), "lich-cat-dien.docx").text)
    assert cleaned.paragraphs[1:3] == ("Thôn Hòa Bình: thời gian 7h00 - 11h30.", "Chợ Hải Hòa: thời gian 13h30 - 17h00.")
    assert cleaned.paragraphs[-1] == "Điện lực xin lỗi bà con vì sự bất tiện này."


# --- scans and photos ------------------------------------------------------------------------

def _body_accuracy(text: str) -> float:
    script = " ".join(clean_document(text).paragraphs)
    return char_accuracy(" ".join(NOTICE.body), script)


def test_phone_photo_is_read_with_word_confidences(photo_doc):
    assert photo_doc.kind == "image" and photo_doc.ocr
    assert _body_accuracy(photo_doc.text) >= 95.0
    assert len(photo_doc.words) > 150
    for w in photo_doc.words:
        assert photo_doc.text[w.start:w.end] == w.text and 0 <= w.confidence <= 100
    assert photo_doc.images[0].jpeg[:3] == b"\xff\xd8\xff" and photo_doc.images[0].width <= 1000
    _assert_clean_reading(photo_doc.text)


def test_stamp_and_signature_leave_no_garbage_in_the_script(photo_doc):
    for line in _script(photo_doc.text).split("\n"):
        assert _letters(line) > 0.75, line
    assert photo_doc.dropped_lines  # the seal and the scrawl were seen, and left out


def test_the_ink_filter_fades_red_and_blue_ink_and_keeps_black_print():
    """As plain grey the red seal is as dark as print; the brightest channel makes it paper."""
    from audio.intake.preprocess import ink_free

    page = Image.new("RGB", (300, 100), "white")
    page.paste((205, 30, 35), (0, 0, 100, 100))    # seal red
    page.paste((30, 50, 170), (100, 0, 200, 100))  # signature blue
    page.paste((20, 20, 20), (200, 0, 300, 100))   # print
    grey, filtered = page.convert("L"), ink_free(page)
    assert grey.getpixel((50, 50)) < 100 and grey.getpixel((150, 50)) < 100
    assert filtered.getpixel((50, 50)) >= 170 and filtered.getpixel((150, 50)) >= 170
    assert filtered.getpixel((250, 50)) < 40


def test_a_photo_turned_sideways_is_set_upright():
    page = samples.phone_photo(samples.notice_page(stamp=False), angle=2.0)
    sideways = Image.open(io.BytesIO(page)).rotate(90, expand=True)
    doc = read_document(samples.jpeg(sideways), "nghieng.jpg")
    assert _body_accuracy(doc.text) >= 95.0


def test_scanned_pdf_is_read_by_ocr_page_by_page_with_progress():
    events: list[RenderProgress] = []
    data = samples.scanned_pdf([samples.notice_page(), samples.text_page()])
    doc = read_document(data, "ban-quet.pdf", progress=events.append)
    assert doc.kind == "pdf-scan" and doc.pages == 2 and len(doc.images) == 2
    assert [(e.stage, e.done, e.total) for e in events] == [("reading", 0, 2), ("reading", 1, 2), ("reading", 2, 2)]
    assert {w.page for w in doc.words} == {1, 2}
    for w in doc.words:
        assert doc.text[w.start:w.end] == w.text
    first, second = doc.text.split("Trạm khí tượng")
    assert _body_accuracy(first) >= 95.0
    assert char_accuracy(samples.OCR_TEXT, "Trạm khí tượng" + second) >= 97.0
    for line in _script(first).split("\n"):
        assert _letters(line) > 0.75, line


def test_heic_from_an_iphone_is_read():
    from pillow_heif import register_heif_opener

    register_heif_opener()
    buf = io.BytesIO()
    samples.notice_page(stamp=False).save(buf, "HEIF", quality=80)
    doc = read_document(buf.getvalue(), "IMG_0001.HEIC")
    assert doc.kind == "image" and _body_accuracy(doc.text) >= 95.0


def test_an_image_without_text_is_refused():
    blank = samples.phone_photo(Image.new("RGB", (1200, 1700), "white"))
    with pytest.raises(IntakeError) as caught:
        read_document(blank, "trang-trang.jpg")
    assert caught.value.code == "no_text" and "Không tìm thấy chữ" in caught.value.message


def test_a_broken_image_is_refused():
    with pytest.raises(IntakeError) as caught:
        read_document(samples.jpeg(samples.text_page())[:4000], "hong.jpg")
    assert caught.value.code in ("bad_image", "no_text")


def test_text_comes_back_in_nfc():
    decomposed = unicodedata.normalize("NFD", "Thông báo lịch tiêm")
    assert read_document(decomposed.encode(), "a.txt").text == "Thông báo lịch tiêm"
