"""Broadcast rules: occurrences in UTC from local dates and times, at every calendar boundary."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from support.schedule_builders import utc
from loaxa.local_time import NaiveTimeError
from schedules.errors import ScheduleInputError
from schedules.rules import BroadcastRule, occurrences, parse_rule_vi
from schedules.timeutil import LOCAL_TZ, format_local_vi, to_local, to_utc


def test_local_times_are_stored_in_utc():
    assert to_utc(datetime(2021, 9, 7, 6, 0)) == utc(2021, 9, 6, 23, 0)
    assert to_local(utc(2021, 9, 6, 23, 0)) == datetime(2021, 9, 7, 6, 0, tzinfo=LOCAL_TZ)
    assert format_local_vi(utc(2021, 9, 6, 23, 0)) == "06:00 ngày 07/09/2021"
    with pytest.raises(NaiveTimeError):
        to_local(datetime(2021, 9, 7, 6, 0))


def test_the_bulletin_example_plays_twice_a_day_through_the_last_day():
    rule = parse_rule_vi("từ ngày 07/9 đến ngày 14/9/2021, 6 giờ và 17 giờ")
    occ = rule.all_occurrences()
    assert len(occ) == 16
    assert occ[0] == utc(2021, 9, 6, 23, 0)  # 06:00 on 07/9 local is still 06/9 in UTC
    assert to_local(occ[-1]) == datetime(2021, 9, 14, 17, 0, tzinfo=LOCAL_TZ)
    assert rule.kind == "recurring"


def test_a_one_off_rule():
    rule = BroadcastRule.once("20/11/2021", "17h30")
    assert rule.kind == "once"
    assert rule.all_occurrences() == [utc(2021, 11, 20, 10, 30)]


def test_chosen_weekdays_only():
    rule = BroadcastRule.recurring("01/11/2021", "30/11/2021", "6:30", "Thứ 2, Thứ 6")
    days = [to_local(t).date() for t in rule.all_occurrences()]
    assert {d.weekday() for d in days} == {0, 4}
    assert days[0] == date(2021, 11, 1) and days[-1] == date(2021, 11, 29)
    assert len(days) == 9


def test_new_year_crossing_keeps_local_dates():
    rule = BroadcastRule.recurring("31/12/2021", "01/01/2022", ["06:00", "23:30"])
    local = [to_local(t).replace(tzinfo=None) for t in rule.all_occurrences()]
    assert local == [
        datetime(2021, 12, 31, 6, 0),
        datetime(2021, 12, 31, 23, 30),
        datetime(2022, 1, 1, 6, 0),
        datetime(2022, 1, 1, 23, 30),
    ]
    assert rule.all_occurrences()[2] == utc(2021, 12, 31, 23, 0)


def test_month_ends_including_leap_day():
    rule = BroadcastRule.recurring(date(2024, 2, 27), date(2024, 3, 1), time(0, 0))
    assert [to_local(t).date() for t in rule.all_occurrences()] == [
        date(2024, 2, 27), date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)
    ]


def test_windowed_occurrences_are_half_open_and_visit_only_touched_days():
    rule = BroadcastRule.recurring("01/01/2022", "31/12/2022", ["06:00", "17:00"])
    start = utc(2022, 6, 1, 23, 0)  # 06:00 local on 2/6
    got = occurrences(rule, start, start + timedelta(hours=48))
    assert got == [start, start + timedelta(hours=11), start + timedelta(hours=24), start + timedelta(hours=35)]
    assert occurrences(rule, start, start) == []
    assert occurrences(rule, utc(2023, 1, 1), utc(2023, 2, 1)) == []


def test_validity_window_clips_occurrences():
    rule = BroadcastRule.recurring(
        "07/9/2021", "14/9/2021", ["6:00", "17:00"],
        valid_from=utc(2021, 9, 8, 0, 0), valid_until=utc(2021, 9, 9, 10, 0),
    )
    assert [format_local_vi(t) for t in rule.all_occurrences()] == ["17:00 ngày 08/09/2021", "06:00 ngày 09/09/2021"]


def test_phrases_with_repeats_and_weekdays():
    rule = parse_rule_vi("ngày 20/11/2021 lúc 17h30, phát 2 lần cách nhau 5 phút")
    assert (rule.repeats, rule.repeat_gap, rule.slot_times) == (2, timedelta(minutes=5), (time(17, 30),))
    weekly = parse_rule_vi("Thứ 2 và Thứ 6 hằng tuần từ 01/11/2021 đến 30/11/2021, 6h30")
    assert weekly.weekdays == {0, 4}
    assert weekly.describe_vi() == "Các ngày Thứ 2, Thứ 6 từ 01/11/2021 đến 30/11/2021, lúc 06:30"
    assert rule.describe_vi() == "Ngày 20/11/2021, lúc 17:30, phát 2 lần cách nhau 5 phút"


def test_rules_survive_storage():
    rule = BroadcastRule.recurring(
        "28/12", "03/01/2022", ["6:00", "17:00"], ["Thứ 2", 6], repeats=3, repeat_gap=timedelta(seconds=90),
        valid_until=utc(2022, 1, 2, 0, 0),
    )
    assert rule.start_date == date(2021, 12, 28)
    assert BroadcastRule.from_dict(rule.to_dict()) == rule


@pytest.mark.parametrize(
    "kwargs, code",
    [
        (dict(start_date=date(2021, 9, 14), end_date=date(2021, 9, 7), slot_times=(time(6),)), "invalid_date_range"),
        (dict(start_date=date(2021, 1, 1), end_date=date(2022, 1, 2), slot_times=(time(6),)), "invalid_date_range"),
        (dict(start_date=date(2021, 9, 7), end_date=date(2021, 9, 7), slot_times=()), "invalid_time"),
        (dict(start_date=date(2021, 9, 7), end_date=date(2021, 9, 7), slot_times=(time(6, 0, 30),)), "invalid_time"),
        (dict(start_date=date(2021, 9, 7), end_date=date(2021, 9, 7), slot_times=(time(6),), weekdays=frozenset({7})), "invalid_weekdays"),
        (dict(start_date=date(2021, 9, 7), end_date=date(2021, 9, 7), slot_times=(time(6),), repeats=0), "invalid_repeats"),
        (dict(start_date=date(2021, 9, 7), end_date=date(2021, 9, 7), slot_times=(time(6),), repeat_gap=timedelta(hours=2)), "invalid_repeat_gap"),
        (dict(start_date=date(2021, 9, 7), end_date=date(2021, 9, 7), slot_times=(time(6),), valid_from=datetime(2021, 9, 7)), "naive_time"),
    ],
)
def test_invalid_rules_are_refused(kwargs, code):
    with pytest.raises(ScheduleInputError) as err:
        BroadcastRule(**kwargs)
    assert err.value.code == code


def test_unreadable_stored_rules_say_what_is_wrong():
    with pytest.raises(ScheduleInputError, match="slot_times"):
        BroadcastRule.from_dict({"start_date": "2021-09-07", "end_date": "2021-09-07"})
    with pytest.raises(ScheduleInputError) as err:
        BroadcastRule.from_dict({"start_date": "07/09/2021", "end_date": "2021-09-07", "slot_times": ["06:00"]})
    assert err.value.code == "invalid_rule"
    with pytest.raises(ScheduleInputError, match="ví dụ"):
        parse_rule_vi("sáng mai")
