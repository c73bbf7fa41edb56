"""The schedule form's times and dates as typed on a phone keypad, and its refusals that quote the entry."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from schedules.errors import ScheduleInputError
from schedules.form_entry import form_schedule, parse_clock, parse_clock_list, parse_form_date
from schedules.timeutil import LOCAL_TZ

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize("typed, expected", [
    ("0600", time(6, 0)), ("600", time(6, 0)), ("1730", time(17, 30)), ("0000", time(0, 0)),
    ("06.00", time(6, 0)), ("6.30", time(6, 30)), ("17.05", time(17, 5)),
    ("06:00", time(6, 0)), ("6:00", time(6, 0)), ("06:00:30", time(6, 0, 30)), ("06.00.30", time(6, 0, 30)),
    ("6h", time(6, 0)), ("6h30", time(6, 30)), ("6H30", time(6, 30)), ("17g30", time(17, 30)),
    ("6 giờ", time(6, 0)), ("6 giờ 30", time(6, 30)), ("6 gio 30", time(6, 30)), ("6 giờ 30 phút", time(6, 30)),
    ("5 giờ chiều", time(17, 0)), ("6", time(6, 0)), ("17", time(17, 0)), (" 0600 ", time(6, 0)),
])
def test_phone_keypad_times_are_read(typed: str, expected: time) -> None:
    assert parse_clock(typed) == expected


@pytest.mark.parametrize("typed", ["2460", "25h", "6.75", "99", "24:00", "6 giờ 61"])
def test_times_that_do_not_exist_quote_the_entry(typed: str) -> None:
    with pytest.raises(ScheduleInputError) as e:
        parse_clock(typed)
    assert f"“{typed}”" in e.value.message and "không tồn tại" in e.value.message
    assert e.value.field == "slot_times"


@pytest.mark.parametrize("typed", ["sáu giờ", "abc", "6..00", "12345", "6h30x", "-6", "6/30"])
def test_unreadable_times_quote_exactly_what_was_typed(typed: str) -> None:
    with pytest.raises(ScheduleInputError) as e:
        parse_clock(typed)
    assert f"“{typed}”" in e.value.message and e.value.code == "invalid_time"


@pytest.mark.parametrize("typed, expected", [
    ("0600, 1700", (time(6), time(17))), ("6h; 17h30", (time(6), time(17, 30))),
    ("6 giờ và 17 giờ 30", (time(6), time(17, 30))), ("17:00,06.00,0600", (time(6), time(17))),
    (["06:00", "6h"], (time(6),)),
])
def test_lists_of_times(typed: object, expected: tuple[time, ...]) -> None:
    assert parse_clock_list(typed) == expected


def test_an_empty_list_asks_for_a_time() -> None:
    with pytest.raises(ScheduleInputError, match="ít nhất một giờ"):
        parse_clock_list(" , ")


def test_one_bad_time_in_a_list_is_named() -> None:
    with pytest.raises(ScheduleInputError) as e:
        parse_clock_list("0600, 6h3O")
    assert "“6h3O”" in e.value.message


@pytest.mark.parametrize("typed, expected", [
    ("2026-12-05", date(2026, 12, 5)), ("05/12/2026", date(2026, 12, 5)), ("5.12.2026", date(2026, 12, 5)),
    ("05/12", date(2026, 12, 5)), ("5-12", date(2026, 12, 5)),
])
def test_dates(typed: str, expected: date) -> None:
    assert parse_form_date(typed, "start_date", 2026) == expected


@pytest.mark.parametrize("typed", ["31/02/2026", "hôm nay", "2026-13-01"])
def test_bad_dates_quote_the_entry(typed: str) -> None:
    with pytest.raises(ScheduleInputError) as e:
        parse_form_date(typed, "end_date", 2026)
    assert f"“{typed}”" in e.value.message and e.value.field == "end_date"


def test_a_one_off_keeps_its_seconds_and_repeats() -> None:
    form = form_schedule("once", "2026-12-03", "", "09:15:30", "2", NOW)
    assert form.to_request() == {"starts_at": "2026-12-03T09:15:30+07:00", "repeats": 2}


def test_daily_without_an_end_date_asks_for_one() -> None:
    for kind in ("daily", "weekdays"):
        with pytest.raises(ScheduleInputError) as e:
            form_schedule(kind, "2026-12-03", "", "0600", 1, NOW)
        assert e.value.code == "end_date_required" and e.value.field == "end_date"
        assert "đến ngày nào" in e.value.message


def test_daily_with_an_end_date_is_a_rule_with_every_occurrence() -> None:
    form = form_schedule("daily", "2026-12-03", "05/12/2026", "0600, 17h", 1, NOW)
    assert form.to_request()["rule"]["slot_times"] == ["06:00", "17:00"]
    assert len(form.occurrences()) == 6
    weekdays = form_schedule("weekdays", "2026-12-03", "2026-12-08", "6 giờ", 1, NOW)
    assert [o.day for o in weekdays.occurrences()] == [3, 4, 7, 8]


def test_end_before_start_quotes_both() -> None:
    with pytest.raises(ScheduleInputError) as e:
        form_schedule("daily", "05/12/2026", "03/12/2026", "0600", 1, NOW)
    assert "“03/12/2026”" in e.value.message and "“05/12/2026”" in e.value.message


def test_past_and_empty_schedules_are_refused() -> None:
    with pytest.raises(ScheduleInputError) as e:
        form_schedule("once", "2026-12-03", "", "0600", 1, NOW)
    assert e.value.code == "in_the_past"
    with pytest.raises(ScheduleInputError) as e:
        form_schedule("weekdays", "2026-12-05", "2026-12-06", "0600", 1, NOW)
    assert e.value.code == "no_occurrences"


@pytest.mark.parametrize("repeats", ["0", "6", "hai"])
def test_bad_repeat_counts_quote_the_entry(repeats: str) -> None:
    with pytest.raises(ScheduleInputError) as e:
        form_schedule("once", "2026-12-04", "", "0600", repeats, NOW)
    assert f"“{repeats}”" in e.value.message and e.value.field == "repeats"


def test_recurring_times_are_whole_minutes() -> None:
    with pytest.raises(ScheduleInputError, match="tính đến phút"):
        form_schedule("daily", "2026-12-04", "2026-12-05", "06:00:30", 1, NOW)


def test_a_schedule_longer_than_a_year_is_refused_before_anything_is_laid_out() -> None:
    with pytest.raises(ScheduleInputError) as e:
        form_schedule("daily", "2026-12-03", "31/12/9999", "0600", 1, NOW)
    assert e.value.code == "invalid_date_range" and "“31/12/9999”" in e.value.message
