"""Data tables in a bulletin's body are read row by row, each row naming its columns."""

from __future__ import annotations

from audio.document import clean_document
from audio.tables import ROW_NUMBER, TABLE_HEADER, spoken_tables


def _texts(lines: list[str]) -> list[str]:
    return [text for _, text in spoken_tables(lines).lines if text]


def test_a_tab_table_becomes_one_sentence_per_row_without_its_row_numbers() -> None:
    lines = ["STT\tThôn\tNgày tiêm\tVắc xin", "1\tThôn 1\t07/12\tViêm gan B", "2\tThôn 2\t08/12\tBCG"]
    assert _texts(lines) == ["Thôn 1: tiêm ngày 07/12; vắc xin Viêm gan B.", "Thôn 2: tiêm ngày 08/12; vắc xin BCG."]


def test_a_markdown_table_with_its_rule_row() -> None:
    lines = ["| Khu vực | Thời gian |", "|---|---|", "| Chợ Hải Hòa | 7h00 - 11h30 |"]
    assert _texts(lines) == ["Chợ Hải Hòa: thời gian 7h00 - 11h30."]


def test_an_upper_case_header_is_said_in_lower_case_and_an_acronym_in_a_header_kept() -> None:
    assert _texts(["TT\tHỌ VÀ TÊN\tSỐ TIỀN", "1\tNguyễn Văn An\t2.000.000"]) == ["Nguyễn Văn An: số tiền 2.000.000."]
    assert _texts(["Họ và tên\tSố CCCD\tThôn", "Lê Thị Hoa\t012345678901\tĐông"]) == [
        "Lê Thị Hoa: số CCCD 012345678901; thôn Đông."
    ]


def test_empty_and_dash_cells_are_not_read_and_a_short_row_is_padded() -> None:
    lines = ["STT\tThôn\tNgày\tĐịa điểm", "1\tThôn 3\t-\tNhà văn hóa", "2\tThôn 4\t09/12"]
    assert _texts(lines) == ["Thôn 3: địa điểm Nhà văn hóa.", "Thôn 4: ngày 09/12."]


def test_the_header_and_row_numbers_are_set_aside_with_their_lines() -> None:
    tables = spoken_tables(["Lịch như sau:", "STT\tThôn\tNgày", "1\tThôn 1\t07/12"])
    assert [(a.line, a.text, a.reason) for a in tables.set_aside] == [(2, "STT\tThôn\tNgày", TABLE_HEADER), (3, "1", ROW_NUMBER)]
    assert [n for n, _ in tables.lines] == [1, 2, 3, 3]


def test_apparatus_tables_and_plain_lines_pass_through() -> None:
    header = ["UBND XÃ AN PHÚ\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Số: 42/TB-TYT\tAn Phú, ngày 01 tháng 12 năm 2026"]
    assert _texts(header) == header
    signature = ["| Nơi nhận: <br> - Như trên; | CHỦ TỊCH <br> (Đã ký) |"]
    assert _texts(signature) == signature
    prose = ["Bà con chú ý phòng bão.", "Một dòng\tcó một dấu tab."]
    assert _texts(prose) == prose


def test_a_two_column_table_needs_a_row_number_column_to_count_as_data() -> None:
    assert _texts(["Thôn\tNgày", "Thôn 1\t07/12"]) == ["Thôn\tNgày", "Thôn 1\t07/12"]
    assert _texts(["STT\tThôn", "1\tThôn Đông"]) == ["Thôn Đông."]


def test_the_cleaner_reads_the_table_and_reports_its_header_as_removed() -> None:
    doc = clean_document("THÔNG BÁO\nLịch cắt điện\n\nĐiện lực thông báo:\n\nSTT\tKhu vực\tThời gian\n1\tThôn Hòa Bình\t7h00 - 11h30\n")
    assert "Thôn Hòa Bình: thời gian 7h00 - 11h30." in doc.text
    assert any(r.reason == TABLE_HEADER for r in doc.removed)
