"""The bulletin cleaner: golden tests on the real corpus, and the shapes it must keep."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.document import CleanedDocument, clean_document
from shared_corpus import SKIP_REASON, corpus_dir

CORPUS = corpus_dir() or Path("shared-corpus-absent")

# Hand-picked body sentences (start, middle and end of each body) that must survive.
BODY = {
    "kiengiang-2021-10-ke-hoach-33-kh-tu.txt": [
        "Ủy ban nhân dân tỉnh đã nhận Kế hoạch số 33-KH/TU ngày 12 tháng 10 năm 2021",
        "Phó Chủ tịch UBND tỉnh Nguyễn Lưu Trung có ý kiến chỉ đạo như sau:",
        "Văn phòng Ủy ban nhân dân tỉnh thông báo ý kiến chỉ đạo trên đến quý cơ quan biết, thực hiện.",
        "Thực hiện Hướng dẫn số 24-HD/BTGTW, ngày 20-9-2021 của Ban Tuyên giáo Trung ương",
        "I- MỤC ĐÍCH, YÊU CẦU",
        "4.3. Đối với “vùng đỏ” - vùng nguy cơ rất cao:",
        "Mỗi khu phố, ấp có ít nhất 01 khẩu hiệu treo ngang đường",
        "3.4. Chỉ đạo Sở Ngoại vụ",
        "Vận động người dân, các tổ chức, doanh nghiệp đóng góp, đồng hành ủng hộ Quỹ vắc xin phòng, chống Covid-19.",
        "định kỳ báo cáo kết quả cho Ban Thường vụ Tỉnh ủy.",
    ],
    "laocai-2022-01-ke-hoach-truyen-thong-tet.txt": [
        "Thực hiện nhiệm vụ được giao, Tiểu ban Truyền thông - Trung tâm Chỉ huy phòng, chống Covid-19",
        "I. MỤC ĐÍCH, YÊU CẦU",
        "thực hiện từ 0h00' ngày 23/01/2022;...",
        "theo Nghị quyết 128/NQ-CP ngày 11/10/2021 của Chính phủ.",
        "Đề nghị các cơ quan, đơn vị, địa phương:",
        "- Đẩy mạnh tuyên truyền, lan tỏa những mô hình mới, cách làm hay trong phòng chống dịch.",
        "đề nghị các các cơ quan, đơn vị liên quan triển khai thực hiện.",
    ],
    "tbtt-2021-09-ke-hoach-thich-ung-an-toan.txt": [
        "Ngày 02/9/2021, Trưởng Tiểu ban Truyền thông, Ban Chỉ đạo Quốc gia phòng, chống dịch COVID-19",
        "Để triển khai các chỉ đạo của Chính phủ, Thủ tướng Chính phủ",
        "Bên cạnh tiếp tục thực hiện các chỉ đạo, định hướng trong Kế hoạch số 02/KH-TBTT",
        "- Theo dõi báo chí ngoài nước và báo chí trong nước 24h/7 ngày",
        "trao đổi thông tin 24/7).",
        "Đối với những vấn đề vượt thẩm quyền, chủ động báo cáo Trưởng Tiểu ban xem xét, quyết định.",
    ],
    "thanhhoa-2021-09-phuong-an-tuyen-truyen.txt": [
        "Ngày 02/9/2021, UBND tỉnh ban hành Quyết định số 3421/QĐ-UBND",
        "cụ thể nhấn mạnh 03 mục tiêu: (i) Ngăn chặn",
        "Tuyên truyền các thông tin về địa chỉ, số điện thoại, phương thức tiếp cận các đầu mối",
        "tổ chức triển khai, hướng dẫn, đôn đốc các ngành, địa phương, đơn vị trên địa bàn tỉnh",
    ],
}

TITLES = {
    "kiengiang-2021-10-ke-hoach-33-kh-tu.txt": "V/v thực hiện đẩy mạnh tuyên truyền phòng, chống dịch Covid-19",
    "laocai-2022-01-ke-hoach-truyen-thong-tet.txt": "Kế hoạch truyền thông phòng, chống dịch COVID-19 với thông điệp “Linh hoạt",
    "tbtt-2021-09-ke-hoach-thich-ung-an-toan.txt": "Kế hoạch truyền thông chống dịch COVID-19 “Thích ứng an toàn để trở lại cuộc sống “bình thường mới”” (từ ngày 07/9 đến ngày 14/9/2021)",
    "thanhhoa-2021-09-phuong-an-tuyen-truyen.txt": "Phương án thông tin - tuyên truyền, ứng dụng công nghệ thông tin",
}

# What may not survive anywhere in the script.
APPARATUS = [
    r"Nơi nhận", r"Kính gửi", r"^Số\s*:?\s*\d*\s*[-/]", r"Lưu:", r"Như trên", r"CỘNG HO?ÀA?", r"Độc lập - Tự do",
    r"ĐẢNG CỘNG SẢN", r"KT\.", r"T/M", r"CHÁNH VĂN PHÒNG", r"TRƯỞNG TIỂU BAN", r"GIÁM ĐỐC", r"Trần Công Danh",
    r"Mai Văn Huỳnh", r"Vũ Hùng Dũng", r"https?://", r"\*", r"\[bookmark", r"_GoBack", r"Ảnh minh họa",
    r"Xem chi tiết", r"^[^,\n]{2,40}, ngày .*tháng.*năm", r"\bthuv\b", r"để b/c", r"TỈNH ỦY KIÊN GIANG",
    r"UBND TỈNH KIÊN GIANG", r"TIỂU BAN TRUYỀN THÔNG$", r"\t", r"\./\.",
]


def _corpus(name: str) -> str:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(SKIP_REASON)
    return path.read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.mark.parametrize("name", sorted(BODY))
def test_corpus_body_survives(name: str) -> None:
    doc = clean_document(_corpus(name))
    script = _flat(doc.text)
    for sentence in BODY[name]:
        assert _flat(sentence) in script, sentence
    assert doc.title.startswith(TITLES[name])


@pytest.mark.parametrize("name", sorted(BODY))
def test_corpus_apparatus_is_removed(name: str) -> None:
    doc = clean_document(_corpus(name))
    for paragraph in (doc.title, *doc.paragraphs):
        for pattern in APPARATUS:
            assert not re.search(pattern, paragraph, re.MULTILINE), (pattern, paragraph[:120])


@pytest.mark.parametrize("name", sorted(BODY))
def test_corpus_every_source_line_is_kept_or_reported(name: str) -> None:
    """Nothing disappears silently: each non-blank source line is in the script or in ``removed``."""
    text = _corpus(name)
    doc = clean_document(text)
    kept = _flat(doc.text)
    reported = _flat(" ".join(r.text for r in doc.removed))
    for raw in unicodedata.normalize("NFC", text).splitlines():
        words = re.sub(r"\[bookmark:[^\]]*\]|\*|https?://\S+|\./\.|\s/\s*$", " ", raw).split()
        if not words:
            continue
        for word in words:
            assert word in kept or word in reported or word.casefold() in kept.casefold(), (word, raw[:80])


def test_corpus_reports_what_it_removed() -> None:
    doc = clean_document(_corpus("kiengiang-2021-10-ke-hoach-33-kh-tu.txt"))
    reasons = {r.reason for r in doc.removed}
    assert {"Cơ quan ban hành", "Số, ký hiệu", "Quốc hiệu, tiêu ngữ", "Địa danh, ngày tháng", "Kính gửi",
            "Nơi nhận", "Chữ ký", "Ký hiệu người soạn thảo"} <= reasons
    signatures = [r for r in doc.removed if r.reason == "Chữ ký"]
    assert signatures[0].text.splitlines() == ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG", "Trần Công Danh"]
    assert signatures[0].line == 41
    thanhhoa = clean_document(_corpus("thanhhoa-2021-09-phuong-an-tuyen-truyen.txt"))
    assert [(r.reason, r.line) for r in thanhhoa.removed] == [
        ("Chú thích ảnh", 5), ("Lời dẫn xem chi tiết", 27), ("Đường dẫn", 29)
    ]


def test_second_document_title_becomes_a_paragraph() -> None:
    doc = clean_document(_corpus("kiengiang-2021-10-ke-hoach-33-kh-tu.txt"))
    assert "Kế hoạch đẩy mạnh tuyên truyền phòng, chống dịch Covid-19 và phát triển kinh tế-xã hội trong trạng thái bình thường mới" in doc.paragraphs


# --- shapes --------------------------------------------------------------------------


def test_empty_input() -> None:
    assert clean_document("") == CleanedDocument("", (), ())
    assert clean_document(" \n\t\n").is_empty


def test_result_is_frozen() -> None:
    doc = clean_document("Thông báo.\n\nBà con chú ý.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.title = "x"  # type: ignore[misc]


def test_plain_notice_is_kept_whole() -> None:
    text = "Ngày mai, xã tổ chức tiêm vắc xin tại trạm y tế.\nĐề nghị bà con mang theo căn cước."
    doc = clean_document(text)
    assert doc.text == "Ngày mai, xã tổ chức tiêm vắc xin tại trạm y tế.\n\nĐề nghị bà con mang theo căn cước."
    assert doc.removed == ()


def test_lines_broken_inside_a_sentence_are_joined() -> None:
    doc = clean_document("THÔNG BÁO\nlịch cắt điện\n\nNgày 5/3 điện lực sẽ cắt điện\nđể bảo dưỡng đường dây.\nXin cảm ơn.")
    assert doc.title == "Thông báo lịch cắt điện"
    assert doc.paragraphs == ("Ngày 5/3 điện lực sẽ cắt điện để bảo dưỡng đường dây.", "Xin cảm ơn.")


def test_full_administrative_notice() -> None:
    text = """UBND XÃ TÂN LẬP
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
-----------------
Số: 12/TB-UBND
Tân Lập, ngày 05 tháng 3 năm 2024

THÔNG BÁO
Về việc tiêm vắc xin phòng bệnh dại cho chó, mèo

Kính gửi: Trưởng các thôn

UBND xã thông báo lịch tiêm phòng dại năm 2024 như sau:
- Thôn Đông: sáng ngày 10/3/2024.
- Thôn Tây: chiều ngày 10/3/2024.
Xem chi tiết tại đây: https://tanlap.gov.vn/tb12
Đề nghị các hộ gia đình chấp hành./.

Nơi nhận:
- Như trên;
- Lưu: VP.
TM. ỦY BAN NHÂN DÂN
CHỦ TỊCH
(Đã ký)
Nguyễn Văn An
"""
    doc = clean_document(text)
    assert doc.title == "Thông báo về việc tiêm vắc xin phòng bệnh dại cho chó, mèo"
    assert doc.paragraphs == (
        "UBND xã thông báo lịch tiêm phòng dại năm 2024 như sau:",
        "- Thôn Đông: sáng ngày 10/3/2024.",
        "- Thôn Tây: chiều ngày 10/3/2024.",
        "Đề nghị các hộ gia đình chấp hành.",
    )
    reasons = [r.reason for r in doc.removed]
    assert reasons == ["Cơ quan ban hành", "Quốc hiệu, tiêu ngữ", "Số, ký hiệu", "Địa danh, ngày tháng", "Kính gửi",
                       "Đường dẫn", "Lời dẫn xem chi tiết", "Nơi nhận", "Chữ ký"]
    assert doc.removed[-1].text == "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH\n(Đã ký)\nNguyễn Văn An"


def test_signature_at_the_end_without_recipients() -> None:
    doc = clean_document("Bà con chú ý phòng chống bão.\n\nTRƯỞNG THÔN\n\nLê Văn Bình")
    assert doc.text == "Bà con chú ý phòng chống bão."
    assert [r.reason for r in doc.removed] == ["Chữ ký"]


def test_position_heading_followed_by_body_is_kept() -> None:
    text = "Hướng dẫn phòng chống bão số 3.\n\nCHỦ TỊCH XÃ YÊU CẦU\n\nCác thôn kiểm tra nhà cửa, chằng chống mái."
    doc = clean_document(text)
    assert "CHỦ TỊCH XÃ YÊU CẦU" in doc.text
    assert doc.removed == ()


def test_body_after_a_recipient_list_is_kept() -> None:
    text = "Đoạn một.\n\nNơi nhận:\n- Các thôn;\n\nGhi chú: bà con mang theo giấy tờ tùy thân khi đến trạm y tế."
    doc = clean_document(text)
    assert doc.text.endswith("Ghi chú: bà con mang theo giấy tờ tùy thân khi đến trạm y tế.")


def test_caps_headings_in_the_body_are_kept() -> None:
    text = "LỊCH TIÊM CHỦNG TUẦN NÀY\n\nThứ hai: thôn Đông.\n\nII. LƯU Ý\n\nMang theo sổ tiêm."
    doc = clean_document(text)
    assert "LỊCH TIÊM CHỦNG TUẦN NÀY" in doc.text and "II. LƯU Ý" in doc.text
    assert doc.removed == ()


def test_decomposed_unicode_and_crlf() -> None:
    text = unicodedata.normalize("NFD", "Nơi nhận:\r\n- Như trên;\r\n")
    body = unicodedata.normalize("NFD", "Bà con chú ý.\r\n\r\n")
    doc = clean_document(body + text)
    assert doc.text == "Bà con chú ý."
    assert doc.removed[0].reason == "Nơi nhận"


_WORD = st.sampled_from(["bà", "con", "thôn", "xã", "tiêm", "phòng", "Ngày", "5", "2024", "UBND", "chú", "ý",
                         "mưa", "lũ", "Đài", "Trạm", "y", "tế", "họp", "lúc", "7h30", "tại", "nhà", "văn", "hóa"])
_SENTENCE = st.lists(_WORD, min_size=3, max_size=14).map(lambda ws: " ".join(ws)[:1].upper() + " ".join(ws)[1:] + ".")


@settings(max_examples=150, deadline=None)
@given(st.lists(_SENTENCE, min_size=1, max_size=6))
def test_ordinary_sentences_are_never_dropped(sentences: list[str]) -> None:
    doc = clean_document("\n\n".join(sentences))
    assert doc.removed == ()
    assert _flat(doc.text) == _flat(" ".join(sentences))


def test_caps_heading_before_a_date_line_is_not_taken_for_an_issuer() -> None:
    text = "LỊCH CẮT ĐIỆN TUẦN NÀY\nTân Lập, ngày 05 tháng 3 năm 2024\n\nThôn Đông mất điện từ 7h đến 11h.\n\nXin cảm ơn."
    doc = clean_document(text)
    assert "LỊCH CẮT ĐIỆN TUẦN NÀY" in doc.text
    assert "Thôn Đông mất điện từ 7h đến 11h." in doc.paragraphs
