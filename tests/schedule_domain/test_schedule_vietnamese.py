"""Reading what officials type: times, dates, ranges, weekdays and whole rule phrases."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from schedules.errors import ScheduleInputError
from schedules.vietnamese import (
    parse_date_range_vi,
    parse_date_vi,
    parse_repeats_vi,
    parse_time_vi,
    parse_times_vi,
    parse_weekday_vi,
    parse_weekdays_vi,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("6:00", time(6)),
        ("06:00", time(6)),
        ("17h30", time(17, 30)),
        ("17h", time(17)),
        ("0h00'", time(0)),
        ("6g30", time(6, 30)),
        ("17 giờ 30", time(17, 30)),
        ("17 giờ 30 phút", time(17, 30)),
        ("17 GIỜ", time(17)),
        ("17 gio 30", time(17, 30)),
        ("5 giờ chiều", time(17)),
        ("7 giờ tối", time(19)),
        ("6 giờ sáng", time(6)),
        ("11 giờ đêm", time(23)),
        ("2 giờ đêm", time(2)),
        ("12 giờ trưa", time(12)),
    ],
)
def test_times_in_every_usual_form(text, expected):
    assert parse_time_vi(text) == expected


@pytest.mark.parametrize("text", ["25:00", "17h75", "sáu giờ", "", "17"])
def test_bad_times_are_refused_with_an_example(text):
    with pytest.raises(ScheduleInputError) as err:
        parse_time_vi(text)
    assert err.value.code == "invalid_time"
    assert "ví dụ" in err.value.message


def test_several_times_in_a_phrase_come_back_sorted_and_unique():
    assert parse_times_vi("17 giờ, 6 giờ và 17h00") == (time(6), time(17))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("07/9/2021", date(2021, 9, 7)),
        ("7-9-2021", date(2021, 9, 7)),
        ("07.09.2021", date(2021, 9, 7)),
        ("2021-09-07", date(2021, 9, 7)),
        ("ngày 12 tháng 10 năm 2021", date(2021, 10, 12)),
        ("ngay 12 thang 10 nam 2021", date(2021, 10, 12)),
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_dates_in_every_usual_form(text, expected):
    assert parse_date_vi(text) == expected


def test_a_date_without_year_needs_one_from_context():
    assert parse_date_vi("07/9", default_year=2021) == date(2021, 9, 7)
    with pytest.raises(ScheduleInputError, match="thiếu năm"):
        parse_date_vi("07/9")


@pytest.mark.parametrize("text", ["31/02/2021", "29/02/2023", "32/1/2021", "hôm nay"])
def test_impossible_dates_are_refused(text):
    with pytest.raises(ScheduleInputError) as err:
        parse_date_vi(text)
    assert err.value.code == "invalid_date"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("từ ngày 07/9 đến ngày 14/9/2021", (date(2021, 9, 7), date(2021, 9, 14))),
        ("07/9 - 14/9/2021", (date(2021, 9, 7), date(2021, 9, 14))),
        ("từ 28/12 đến 03/01/2022", (date(2021, 12, 28), date(2022, 1, 3))),
        ("từ 01/12/2021 đến 31/12/2021", (date(2021, 12, 1), date(2021, 12, 31))),
    ],
)
def test_date_ranges_infer_the_missing_year(text, expected):
    assert parse_date_range_vi(text) == expected


def test_a_backwards_range_is_refused():
    with pytest.raises(ScheduleInputError, match="trước ngày bắt đầu"):
        parse_date_range_vi("từ 14/9/2021 đến 07/9/2021")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Thứ 2, Thứ 4 và Thứ 6", {0, 2, 4}),
        ("thứ hai, thứ tư", {0, 2}),
        ("T2-T6", {0, 1, 2, 3, 4}),
        ("từ thứ 2 đến thứ 6", {0, 1, 2, 3, 4}),
        ("Thứ Bảy - Thứ 2", {5, 6, 0}),
        ("Chủ nhật", {6}),
        ("CN", {6}),
        ("chu nhat", {6}),
        ("hằng ngày", set(range(7))),
        ("hàng ngày", set(range(7))),
    ],
)
def test_weekdays(text, expected):
    assert parse_weekdays_vi(text) == frozenset(expected)


def test_single_weekdays_from_text_or_number():
    assert parse_weekday_vi("Thứ 7") == 5
    assert parse_weekday_vi(6) == 6
    with pytest.raises(ScheduleInputError):
        parse_weekday_vi(7)
    with pytest.raises(ScheduleInputError):
        parse_weekday_vi("Thứ 2, Thứ 3")
    with pytest.raises(ScheduleInputError):
        parse_weekdays_vi("mỗi khi rảnh")


def test_repeats_and_gap():
    assert parse_repeats_vi("phát 3 lần cách nhau 5 phút") == (3, timedelta(minutes=5))
    assert parse_repeats_vi("phát 2 lần, cách 30 giây") == (2, timedelta(seconds=30))
    assert parse_repeats_vi("phát 2 lần cách nhau 1 phút 30 giây") == (2, timedelta(seconds=90))
    assert parse_repeats_vi("17 giờ") == (1, timedelta(0))
