"""Families of layouts the cleaner must hold, each in several spellings and spacings."""

from __future__ import annotations

import pytest

from audio.casing import learn_names, sentence_case
from audio.document import clean_document
from audio.layout import split_line
from audio.portal import furniture

BODY = "Ủy ban nhân dân xã đề nghị bà con chủ động phòng, chống dịch bệnh cho đàn gia súc."
TAIL = f"\n\n{BODY}\nĐề nghị các thôn thông báo rộng rãi.\n"


def _script(text: str) -> str:
    return clean_document(text).text


# --- header columns flattened onto one line ------------------------------------------

@pytest.mark.parametrize("line", [
    "UỶ BAN NHÂN DÂN XÃ TÂN LẬP CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "UBND XÃ TÂN LẬP\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "UBND XÃ TÂN LẬP\t\t\tCỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "ỦY BAN NHÂN DÂN XÃ TÂN LẬP          CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "UBND HUYỆN ĐỒNG PHÚ UBND XÃ TÂN LẬP\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "ĐẢNG BỘ XÃ TÂN LẬP    ĐẢNG CỘNG SẢN VIỆT NAM",
])
@pytest.mark.parametrize("motto", [
    "Độc lập - Tự do - Hạnh phúc", "\t\tĐộc lập – Tự do – Hạnh phúc", "Độc lập-Tự do-Hạnh phúc", "ĐỘC LẬP - TỰ DO - HẠNH PHÚC",
])
def test_issuer_and_national_name_on_one_line(line: str, motto: str) -> None:
    doc = clean_document(f"{line}\n{motto}\nSố: 12/TB-UBND\tTân Lập, ngày 3 tháng 11 năm 2025{TAIL}")
    assert doc.text.startswith(BODY)
    assert "CỘNG" not in doc.text and "TÂN LẬP" not in doc.text and "Hạnh phúc" not in doc.text
    assert {"Cơ quan ban hành", "Quốc hiệu, tiêu ngữ", "Số, ký hiệu", "Địa danh, ngày tháng"} <= {r.reason for r in doc.removed}


@pytest.mark.parametrize("joined", [
    "Độc lập - Tự do - Hạnh phúc " + BODY,
    "Độc lập - Tự do - Hạnh phúc\t" + BODY,
    "UBND XÃ TÂN LẬP Độc lập - Tự do - Hạnh phúc\n\n" + BODY,
])
def test_motto_joined_with_the_body_or_the_issuer(joined: str) -> None:
    script = _script(f"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n{joined}\nĐề nghị các thôn thông báo rộng rãi.")
    assert script.startswith(BODY) and "Hạnh phúc" not in script


def test_motto_inside_a_sentence_is_body() -> None:
    text = "Nhân dân xã ôn lại lời thề Độc lập - Tự do - Hạnh phúc trong lễ Quốc khánh nước Cộng hòa xã hội chủ nghĩa Việt Nam."
    assert split_line(text) == [text]
    assert _script(text) == text


# --- number and place-date on one line -------------------------------------------------

@pytest.mark.parametrize("number", [
    "Số: 12/TB-UBND", "Số 12 /KH-UBND", "Số:   12/TB-UBND", "Số: 12/UBND-VP", "12/TB-UBND", "Số: /KH-BCĐ", "Số: 45-TB/ĐU",
])
@pytest.mark.parametrize("gap", [" ", "\t", "\t\t\t", "                    "])
@pytest.mark.parametrize("date", ["Tân Lập, ngày 3 tháng 11 năm 2025", "Tân Lập, ngày     tháng 11 năm 2025", "Bản Lầu, ngày 03/11/2025"])
def test_number_and_place_date_on_one_line(number: str, gap: str, date: str) -> None:
    doc = clean_document(f"UBND XÃ TÂN LẬP\n{number}{gap}{date}\n\nTHÔNG BÁO\nVề việc tiêm phòng{TAIL}")
    assert doc.title == "Thông báo về việc tiêm phòng"
    assert doc.paragraphs[0] == BODY
    assert "ngày 3" not in doc.text and "TB-UBND" not in doc.text


@pytest.mark.parametrize("line,pieces", [
    ("V/v tăng cường phòng chống dịch An Phú, ngày 20 tháng 10 năm 2025",
     ["V/v tăng cường phòng chống dịch", "An Phú, ngày 20 tháng 10 năm 2025"]),
    ("Số: 215/UBND-VHXH V/v tuyên truyền lịch tiêm", ["Số: 215/UBND-VHXH", "V/v tuyên truyền lịch tiêm"]),
])
def test_subject_beside_the_number_or_the_date(line: str, pieces: list[str]) -> None:
    assert split_line(line) == pieces


# --- the clerk's file path --------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "D:\\VanBan\\2025\\TB 12.docx", "C:/Users/VanThu/Desktop/KH 45 chu nhat xanh.docx", "/home/canbo/Tài liệu/TB12.doc",
    "\\\\may-chu\\VanBan\\TB12.pdf", "E:\\Van ban di\\2025\\Thong bao tiem phong.doc", "TB 07 TTYT.pdf", "KH-12-UBND.signed.pdf",
    "~/Documents/thong-bao.odt",
])
def test_file_path_lines_are_dropped(path: str) -> None:
    doc = clean_document(f"{BODY}\n\n{path}\n")
    assert doc.text == BODY
    assert [r.reason for r in doc.removed] == ["Đường dẫn tệp"]


@pytest.mark.parametrize("line", [
    "Hồ sơ gửi về Văn phòng dưới dạng tệp pdf hoặc docx.",
    "Bà con tải mẫu đơn tại trạm y tế.",
])
def test_sentences_about_files_are_kept(line: str) -> None:
    assert _script(line) == line


# --- what a portal page adds ------------------------------------------------------------

PORTAL = [
    "2025-11-03T08:15:00+07:00", "2025-11-03 08:15", "Trang thông tin điện tử xã Tân Lập", "Cổng thông tin điện tử tỉnh Bình Lam",
    "CỔNG THÔNG TIN ĐIỆN TỬ HUYỆN ĐỒNG PHÚ", "Thứ hai, 03/11/2025 08:15", "Thứ Ba, 04/11/2025, 09:30 GMT+7",
    "Chủ nhật, 09/11/2025 - 16:40", "Ngày đăng: 03/11/2025", "Cập nhật lúc: 08:15 03/11/2025", "Lượt xem: 123", "Đã xem: 45",
    "Lượt đọc: 1.024", "Tải về", "Tệp đính kèm", "File đính kèm: TB-12-UBND.pdf", "Tệp đính kèm: QD 15.docx (245 KB)", "Chia sẻ",
    "Chia sẻ: Facebook | Zalo", "In bài viết", "Gửi email", "Bản in", "A- A A+", "A-  A+", "Cỡ chữ: A- A+",
    "Trang chủ > Tin tức > Thông báo", "Trang chủ / Văn bản / Thông báo", "Tin tức » Sự kiện » Hoạt động xã",
    "Tin liên quan", "Các tin khác:", "Bản quyền thuộc về UBND xã Tân Lập", "© 2025 Cổng thông tin điện tử tỉnh Bình Lam",
]


@pytest.mark.parametrize("line", PORTAL)
def test_portal_furniture_is_recognised(line: str) -> None:
    found = furniture(line)
    assert found is not None and not found.weak


@pytest.mark.parametrize("line", PORTAL)
def test_portal_furniture_between_title_and_body_is_dropped(line: str) -> None:
    doc = clean_document(f"Lịch tiêm phòng gia súc đợt 2\n{line}\n{BODY}\nĐề nghị các thôn thông báo rộng rãi.")
    assert doc.title == "Lịch tiêm phòng gia súc đợt 2"
    assert doc.paragraphs == (BODY, "Đề nghị các thôn thông báo rộng rãi.")


@pytest.mark.parametrize("weak", ["Facebook", "Zalo", "Thứ hai, 03/11/2025", "Địa chỉ: số 2 đường Lê Lợi", "03/11/2025"])
def test_weak_shapes_go_only_beside_certain_furniture(weak: str) -> None:
    alone = f"Lịch họp:\n{weak}\nBà con đến đúng giờ."
    assert weak in _script(alone)
    beside = f"{BODY}\nChia sẻ\n{weak}\nLượt xem: 12"
    assert _script(beside) == BODY


@pytest.mark.parametrize("line", [
    "Lịch tiếp dân được đăng trên Cổng thông tin điện tử của xã.",
    "Trang thông tin điện tử xã sẽ cập nhật lịch cắt điện hằng tuần.",
    "Thứ hai, 03/11/2025: thôn Đông tiêm phòng.",
    "Chia sẻ kinh nghiệm trồng bưởi với bà con.",
    "Tải về ứng dụng VNeID để khai báo tạm trú.",
])
def test_body_lines_that_mention_the_portal_are_kept(line: str) -> None:
    assert _script(f"{BODY}\n{line}").endswith(line)


def test_related_news_headlines_go_with_their_heading() -> None:
    text = f"{BODY}\n\nTin liên quan\nXã Tân Lập ra quân làm đường (02/11/2025)\nLịch tiêm chủng tháng 11\n"
    doc = clean_document(text)
    assert doc.text == BODY
    assert doc.removed[0].text.splitlines() == ["Tin liên quan", "Xã Tân Lập ra quân làm đường (02/11/2025)", "Lịch tiêm chủng tháng 11"]


# --- all-caps headings that run into the body --------------------------------------------

@pytest.mark.parametrize("heading,title,first", [
    ("THÔNG BÁO Về việc tổ chức tiêm phòng năm 2025 Ủy ban nhân dân xã thông báo lịch tiêm như sau:",
     "Thông báo về việc tổ chức tiêm phòng năm 2025", "Ủy ban nhân dân xã thông báo lịch tiêm như sau:"),
    ("THÔNG BÁO Lịch cắt điện tuần này Thực hiện kế hoạch của Điện lực, xã thông báo:",
     "Thông báo lịch cắt điện tuần này", "Thực hiện kế hoạch của Điện lực, xã thông báo:"),
    ("KẾ HOẠCH Ra quân vệ sinh môi trường Căn cứ tình hình thực tế, xã xây dựng kế hoạch:",
     "Kế hoạch ra quân vệ sinh môi trường", "Căn cứ tình hình thực tế, xã xây dựng kế hoạch:"),
    ("THÔNG BÁO LỊCH TIẾP CÔNG DÂN THÁNG 12 UBND xã thông báo lịch tiếp công dân:",
     "Thông báo lịch tiếp công dân tháng 12", "UBND xã thông báo lịch tiếp công dân:"),
    ("THÔNG BÁO KHẨN VỀ BÃO SỐ 13 Trong đêm nay, bão số 13 đổ bộ vào đất liền.",
     "Thông báo khẩn về bão số 13", "Trong đêm nay, bão số 13 đổ bộ vào đất liền."),
])
def test_heading_run_into_the_body(heading: str, title: str, first: str) -> None:
    doc = clean_document(f"UBND XÃ TÂN LẬP\nSố: 12/TB-UBND\n{heading}\nĐề nghị các thôn thông báo rộng rãi.")
    assert doc.title == title
    assert doc.paragraphs[0] == first


@pytest.mark.parametrize("heading,title", [
    ("THÔNG BÁO LỊCH TIÊM CHỦNG MỞ RỘNG THÁNG 12 NĂM 2025", "Thông báo lịch tiêm chủng mở rộng tháng 12 năm 2025"),
    ("THÔNG BÁO\nVề việc tổ chức tiêm phòng dại", "Thông báo về việc tổ chức tiêm phòng dại"),
    ("THÔNG BÁO\nLịch cắt điện tuần 49", "Thông báo lịch cắt điện tuần 49"),
    ("KẾ HOẠCH\nRA QUÂN VỆ SINH MÔI TRƯỜNG\nNĂM 2025", "Kế hoạch ra quân vệ sinh môi trường năm 2025"),
    ("KẾ HOẠCH\nKế hoạch truyền thông phòng dịch\n“Chung tay vì cộng đồng”",
     "Kế hoạch truyền thông phòng dịch “Chung tay vì cộng đồng”"),
    ("THÔNG BÁO KHẨN\nVề việc sơ tán dân khỏi vùng\nnguy hiểm sạt lở", "Thông báo khẩn về việc sơ tán dân khỏi vùng nguy hiểm sạt lở"),
])
@pytest.mark.parametrize("body", [
    "Trạm Y tế xã Tân Lập thông báo như sau:\n1. Thời gian: ngày 10/12/2025.\nĐề nghị các gia đình đến đúng giờ.",
    "Ủy ban nhân dân xã đề nghị bà con chủ động phòng, chống dịch bệnh.\nĐề nghị các thôn thông báo rộng rãi.",
])
def test_a_title_followed_by_the_body_with_no_empty_line(heading: str, title: str, body: str) -> None:
    """A pasted portal page often has no empty line between the title and the body."""
    doc = clean_document(f"Trang thông tin điện tử xã Tân Lập\n{heading}\n{body}")
    assert doc.title == title
    assert doc.paragraphs[0] == body.split("\n")[0]
    assert len(doc.paragraphs) == len(body.split("\n"))


# --- sentence case keeps the names -------------------------------------------------------

@pytest.mark.parametrize("heading,body,expected", [
    ("TIÊM PHÒNG TẠI THÔN ĐỒNG TÂM VÀ THÔN BÀU SEN", "", "tiêm phòng tại thôn Đồng Tâm và thôn Bàu Sen"),
    ("RA QUÂN TẠI XÃ PHƯỚC AN, HUYỆN BÌNH SƠN", "", "ra quân tại xã Phước An, huyện Bình Sơn"),
    ("PHÒNG CHÁY RỪNG TẠI BẢN HUỔI LẾCH", "", "phòng cháy rừng tại bản Huổi Lếch"),
    ("THĂM GIA ĐÌNH ÔNG HOÀNG VĂN TƯ", "", "thăm gia đình ông Hoàng Văn Tư"),
    ("HỘI NGHỊ CỦA ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM XÃ", "", "hội nghị của Ủy ban Mặt trận Tổ quốc Việt Nam xã"),
    ("PHÁT TRIỂN KINH TẾ - XÃ HỘI NĂM 2025", "", "phát triển kinh tế - xã hội năm 2025"),
    ("TẬP HUẤN TRỒNG BƯỞI CỦA HỘI NÔNG DÂN", "Hội Nông dân xã tổ chức lớp tập huấn.", "tập huấn trồng bưởi của Hội Nông dân"),
    ("PHÒNG, CHỐNG DỊCH COVID-19 ĐỢT IV", "", "phòng, chống dịch COVID-19 đợt IV"),
    ("BẢN TIN NÔNG VỤ CỦA UBND XÃ", "", "bản tin nông vụ của UBND xã"),
    ("LÚA VỤ ĐÔNG XUÂN Ở CÁNH ĐỒNG MẪU", "Rầy nâu hại lúa vụ Đông Xuân.", "lúa vụ Đông Xuân ở cánh đồng mẫu"),
])
def test_sentence_case_keeps_names(heading: str, body: str, expected: str) -> None:
    assert sentence_case(heading, learn_names([body]), first=False) == expected


def test_title_in_capitals_is_sentence_cased_with_the_documents_names() -> None:
    text = ("UBND XÃ NẬM CHÂU\nSố: 08/KH-UBND\n\nKẾ HOẠCH\nPHÒNG CHÁY RỪNG TẠI BẢN NÀ PHẠ VÀ XÃ NẬM CHÂU\n\n"
            "Tổ xung kích bản Nà Phạ trực 24 giờ.\n")
    assert clean_document(text).title == "Kế hoạch phòng cháy rừng tại bản Nà Phạ và xã Nậm Châu"


# --- signature block beside the recipients -----------------------------------------------

@pytest.mark.parametrize("block", [
    "Nơi nhận:\t\t\tTM. ỦY BAN NHÂN DÂN\n- Như trên;\t\t\tCHỦ TỊCH\n- Lưu: VT.\n\t\t\tNguyễn Văn An",
    "Nơi nhận:\n- Như trên;\n- Lưu: VT.\nKT. CHỦ TỊCH PHÓ CHỦ TỊCH Trần Thị Mai",
    "TM. ỦY BAN NHÂN DÂN CHỦ TỊCH (Đã ký) Lò Văn Thắng",
    "Nơi nhận: Các thôn; Lưu: VT.        TRƯỞNG TRẠM\nHà Văn Lực",
    "Nơi nhận:\t\t\t\tCHỦ TỊCH\n- Như trên;\n- Lưu: VT.\t\t\t\tHuỳnh Ngọc Sơn",
])
def test_signature_block_beside_the_recipients(block: str) -> None:
    doc = clean_document(f"{BODY}\n\n{block}\nD:\\VanBan\\TB.docx\n")
    assert doc.text == BODY
    assert {"Chữ ký"} <= {r.reason for r in doc.removed}


# --- markdown table headers ------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "| UBND XÃ TÂN LẬP | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM |\n|---|---|\n| Số: 12/TB-UBND | Độc lập - Tự do - Hạnh phúc |\n| | Tân Lập, ngày 3 tháng 11 năm 2025 |",
    "| **UỶ BAN NHÂN DÂN XÃ TÂN LẬP** | **CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM** |\n|:---:|:---:|\n| Số: 12/TB-UBND | *Tân Lập, ngày 3 tháng 11 năm 2025* |",
    "|UBND HUYỆN ĐỒNG PHÚ<br>UBND XÃ TÂN LẬP|CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br>Độc lập - Tự do - Hạnh phúc|\n|--|--|\n|Số: 12/TB-UBND|Tân Lập, ngày 3 tháng 11 năm 2025|",
])
def test_markdown_table_header_is_dropped(header: str) -> None:
    doc = clean_document(f"{header}{TAIL}")
    assert doc.text.startswith(BODY)
    assert "|" not in doc.text and "CỘNG" not in doc.text and "TÂN LẬP" not in doc.text and "---" not in doc.text


def test_markdown_table_in_the_body_is_read_by_row_and_the_signature_cells_dropped() -> None:
    doc = clean_document(
        f"{BODY}\n\n| Thôn | Ngày |\n|---|---|\n| Thôn Đông | 10/4 |\n\n"
        "| Nơi nhận:<br>- Các thôn;<br>- Lưu: VT. | TM. ỦY BAN NHÂN DÂN<br>CHỦ TỊCH<br>Lê Văn Hà |"
    )
    assert "Thôn Đông: ngày 10/4." in doc.text and "Thôn Ngày" not in doc.text
    assert "Lê Văn Hà" not in doc.text and "Lưu" not in doc.text


# --- portal navigation and comment blocks ---------------------------------------------

@pytest.mark.parametrize("menu", [
    "Trang chủ\nGiới thiệu\nTin tức - Sự kiện\nVăn bản\nLiên hệ",
    "Skip to content\nTRANG CHỦ\nGIỚI THIỆU\nTHỦ TỤC HÀNH CHÍNH\nDỊCH VỤ CÔNG\nLIÊN HỆ\nĐăng nhập",
    "Bỏ qua nội dung\nTrang chủ\nTổng quan\nHệ thống chính trị\nChuyển đổi số\nTìm kiếm",
    "Menu\nTrang chủ\nHỏi đáp\nGóp ý\nSơ đồ site",
])
def test_portal_navigation_is_dropped(menu: str) -> None:
    doc = clean_document(f"{menu}\nThông báo tiêm phòng cho đàn gia súc\nThứ Hai, 17/03/2025 08:30{TAIL}")
    assert doc.title == "Thông báo tiêm phòng cho đàn gia súc"
    assert doc.paragraphs[0] == BODY
    assert {"Trình đơn trang web"} <= {r.reason for r in doc.removed}


@pytest.mark.parametrize("comments", [
    "Ý kiến bạn đọc\n0 bình luận\nViết bình luận của bạn\nHọ và tên\nEmail\nNội dung\nMã xác nhận\nGửi bình luận\nHủy",
    "Bình luận (0)\nChưa có bình luận nào\nHọ tên (*)\nEmail (*)\nNội dung\nGửi",
    "Gửi ý kiến của bạn\nHọ và tên:\nSố điện thoại:\nNội dung:\nNhập mã xác nhận\nGửi\nLàm lại",
])
def test_portal_comment_form_is_dropped(comments: str) -> None:
    doc = clean_document(f"{BODY}\nĐề nghị các thôn thông báo rộng rãi.\n{comments}\nTin cùng chuyên mục\nLịch tiếp công dân\n")
    assert doc.text == f"{BODY}\n\nĐề nghị các thôn thông báo rộng rãi."


@pytest.mark.parametrize("line", ["Liên hệ", "Nội dung:", "Giới thiệu sản phẩm OCOP của xã", "Họ và tên", "Tin tức"])
def test_menu_and_form_words_alone_in_a_body_are_kept(line: str) -> None:
    doc = clean_document(f"{BODY}\n{line}\nBà con mang theo căn cước công dân.\n")
    assert line.rstrip(":") in doc.text


# --- digital-signature stamps ---------------------------------------------------------

@pytest.mark.parametrize("stamp", [
    "Ký bởi: Ủy ban nhân dân xã Tân Lập\nEmail: tanlap@tinh.gov.vn\nCơ quan: Tỉnh Đồng Nam\nThời gian ký: 12.03.2025 15:20:11 +07:00",
    "Người ký: Trần Văn Bình\nEmail: tvbinh@tinh.gov.vn\nCơ quan: UBND xã Tân Lập\nChức vụ: Chủ tịch\nThời gian ký: 12/03/2025 15:20",
    "Người ký: Trần Văn Bình Chức vụ: Chủ tịch Thời gian ký: 12/03/2025 15:20",
    "Ký bởi: Văn phòng UBND xã Tân Lập, Email: vp@tinh.gov.vn, Thời gian ký: 12/03/2025",
    "Signed by: Uy ban nhan dan xa Tan Lap\nSigning time: 2025-03-12 15:20:11",
    "Được ký bởi: UBND XÃ TÂN LẬP\nNgày ký: 12-03-2025 15:20",
])
@pytest.mark.parametrize("where", ["top", "bottom"])
def test_digital_signature_stamp_is_dropped(stamp: str, where: str) -> None:
    header = "UBND XÃ TÂN LẬP\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nSố: 12/TB-UBND\tTân Lập, ngày 3 tháng 11 năm 2025\n"
    closing = "\nNơi nhận:\n- Các thôn;\n- Lưu: VT.\nCHỦ TỊCH\nTrần Văn Bình\n"
    text = f"{stamp}\n{header}{TAIL}{closing}" if where == "top" else f"{header}{TAIL}{closing}{stamp}\n"
    doc = clean_document(text)
    assert doc.text == f"{BODY}\n\nĐề nghị các thôn thông báo rộng rãi."
    assert "Chữ ký số" in {r.reason for r in doc.removed}


@pytest.mark.parametrize("line", ["Email: tanlap@tinh.gov.vn", "Cơ quan: Ủy ban nhân dân xã", "Chức vụ: Trưởng thôn"])
def test_stamp_fields_alone_in_a_body_are_kept(line: str) -> None:
    assert line in _script(f"{BODY}\n{line}\nBà con mang theo căn cước công dân.\n")


# --- bylines, sources, tags and readers' comments --------------------------------------

@pytest.mark.parametrize("byline", [
    "Minh Anh\nNguồn: Trạm Chăn nuôi và Thú y huyện",
    "Tin, ảnh: Minh Anh",
    "Tác giả: Lê Văn Hùng\nTừ khóa: tiêm phòng, bệnh dại",
    "H'Linh\nTheo nguồn: Báo Đắk Lắk",
    "Tags: phòng dịch, gia súc\nBài và ảnh: Y Bình",
])
def test_byline_source_and_tags_are_dropped(byline: str) -> None:
    doc = clean_document(f"{BODY}\nĐề nghị các thôn thông báo rộng rãi.\n{byline}\nChia sẻ\nFacebook\n")
    assert doc.text == f"{BODY}\n\nĐề nghị các thôn thông báo rộng rãi."
    assert "Tác giả, nguồn tin" in {r.reason for r in doc.removed}


@pytest.mark.parametrize("comments", [
    "Ý kiến bạn đọc\nY Bình - 17/03/2025 09:15\nĐề nghị xã thông báo rõ giờ tiêm.\nTrả lời",
    "Bình luận (2)\nLê Thị Hạnh (18/03/2025 07:02)\nCảm ơn xã.\nThích\nTrần Văn Nam - 2 giờ trước\nXin hỏi lịch ở thôn 3?",
    "Bạn đọc bình luận\nNguyễn Văn An, 17/03/2025 lúc 09:00\nRất cần thiết.\nGửi ý kiến của bạn\nHọ tên (*)\nNội dung\nGửi",
])
def test_readers_comments_under_the_comment_heading_are_dropped(comments: str) -> None:
    doc = clean_document(f"{BODY}\nĐề nghị các thôn thông báo rộng rãi.\n{comments}\nTin cùng chuyên mục\nLịch tiếp công dân\n")
    assert doc.text == f"{BODY}\n\nĐề nghị các thôn thông báo rộng rãi."


@pytest.mark.parametrize("line", ["Nguyễn Văn An", "Nguồn vốn: ngân sách xã", "Chủ đề: Chung tay vì người nghèo"])
def test_names_and_labelled_body_lines_without_a_byline_are_kept(line: str) -> None:
    assert line in _script(f"{BODY}\n{line}\nBà con mang theo căn cước công dân.\n")


def test_a_schedule_line_shaped_like_a_comment_heading_is_kept_outside_comments() -> None:
    assert "Thôn Đông - 20/3/2025" in _script(f"{BODY}\nThôn Đông - 20/3/2025\nThôn Tây - 21/3/2025\n")
