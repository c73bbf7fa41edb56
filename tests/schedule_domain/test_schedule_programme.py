"""Per-device programmes: order, back-to-back layout, emergencies, shifts and the guardrails' cuts."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from support.schedule_builders import bc, utc
from schedules.broadcast import Override
from schedules.guardrails import GuardrailPolicy
from schedules.programme import Delay, expand, occurrence_key
from schedules.timeutil import LOCAL_TZ, to_utc

DAY = utc(2021, 9, 6, 17, 0)  # local midnight starting Tuesday 07/09/2021


def local(p) -> str:
    return f"{p.start_utc.astimezone(LOCAL_TZ):%H:%M:%S}"


def test_a_programme_plays_back_to_back_in_priority_then_commune_order(tree, policy):
    broadcasts = [
        bc("a-normal", "ngày 07/9/2021 lúc 6:00", "tq-thon", 5, order=2),
        bc("b-normal", "ngày 07/9/2021 lúc 6:00", "tq-thon", 5, order=1),
        bc("p-priority", "ngày 07/9/2021 lúc 6:00, phát 2 lần cách nhau 1 phút", "tq", 3, priority="priority", order=9),
    ]
    plays = expand(broadcasts, tree, policy, DAY).for_device("tq-d1")
    assert [(p.broadcast_id, p.repeat_index, local(p)) for p in plays] == [
        ("p-priority", 0, "06:00:00"),
        ("p-priority", 1, "06:04:00"),
        ("b-normal", 0, "06:07:00"),
        ("a-normal", 0, "06:12:00"),
    ]
    assert {p.slot_utc for p in plays} == {to_utc(datetime(2021, 9, 7, 6, 0))}


def test_an_emergency_keeps_its_time_and_the_programme_plays_around_it(tree, policy):
    broadcasts = [
        bc("a", "ngày 07/9/2021 lúc 6:00", "tq-d1", 10),
        bc("b", "ngày 07/9/2021 lúc 6:00", "tq-d1", 10),
        bc("fire", "ngày 07/9/2021 lúc 6:05", "tq-d1", 5, priority="emergency"),
    ]
    result = expand(broadcasts, tree, policy, DAY)
    assert [(p.broadcast_id, local(p)) for p in result.plays] == [("fire", "06:05:00"), ("a", "06:10:00"), ("b", "06:20:00")]
    assert result.skipped == () and result.delays == ()


def test_an_overrunning_programme_shifts_the_next_and_says_so(tree, policy):
    broadcasts = [bc("long", "ngày 07/9/2021 lúc 6:00", "tq-d1", 30), bc("next", "ngày 07/9/2021 lúc 6:15", "tq-d1", 5)]
    result = expand(broadcasts, tree, policy, DAY)
    assert [(p.broadcast_id, local(p)) for p in result.plays] == [("long", "06:00:00"), ("next", "06:30:00")]
    six, quarter = to_utc(datetime(2021, 9, 7, 6, 0)), to_utc(datetime(2021, 9, 7, 6, 15))
    assert result.delays == (Delay("tq-d1", quarter, six, 900.0),)


def test_quiet_hours_cut_unless_emergency_or_recorded_override(tree, policy):
    override = Override(by="Chủ tịch UBND xã", reason="Thông báo lịch cắt điện sáng mai")
    broadcasts = [
        bc("late", "ngày 07/9/2021 lúc 21:50", "tq-d1", 15),
        bc("late-ok", "ngày 07/9/2021 lúc 21:50", "tq-d2", 15, override=override),
        bc("night", "ngày 08/9/2021 lúc 3:15", "tq-d1", 5),
        bc("flood", "ngày 08/9/2021 lúc 3:15", "tq-d2", 5, priority="emergency"),
    ]
    result = expand(broadcasts, tree, policy, DAY)
    assert {(p.device_id, p.broadcast_id) for p in result.plays} == {("tq-d2", "late-ok"), ("tq-d2", "flood")}
    assert {(s.broadcast_id, s.code) for s in result.skipped} == {("late", "quiet_hours"), ("night", "quiet_hours")}


def test_minutes_cap_cuts_the_lowest_items_of_a_programme(tree, policy):
    broadcasts = [
        bc("first", "ngày 07/9/2021 lúc 6:00", "hn", 10, priority="priority"),
        bc("second", "ngày 07/9/2021 lúc 6:00", "hn", 10),
        bc("short", "ngày 07/9/2021 lúc 6:00", "hn", 4, order=5),
    ]
    result = expand(broadcasts, tree, policy, DAY)
    assert {p.broadcast_id for p in result.for_device("hn-d1")} == {"first"}
    assert {(s.broadcast_id, s.code) for s in result.skipped if s.device_id == "hn-d1"} == {
        ("second", "cap_minutes_per_programme"), ("short", "cap_minutes_per_programme")
    }


def test_day_cap_drops_the_latest_programmes_and_ignores_emergencies(tree, policy):
    broadcasts = [
        bc("morning", "ngày 07/9/2021 lúc 6:00", "hn", 5),
        bc("storm", "ngày 07/9/2021 lúc 9:00", "hn", 2, priority="emergency"),
        bc("noon", "ngày 07/9/2021 lúc 11:00", "hn", 5),
        bc("evening", "ngày 07/9/2021 lúc 17:00", "hn", 5),
        bc("evening-2", "ngày 07/9/2021 lúc 17:00", "tq", 5),
    ]
    result = expand(broadcasts, tree, policy, DAY)
    assert [p.broadcast_id for p in result.for_device("hn-d2")] == ["morning", "storm", "noon"]
    assert {s.broadcast_id for s in result.skipped} == {"evening"}
    assert [p.broadcast_id for p in result.for_device("tq-d1")] == ["evening-2"]


def test_the_weekend_rule_blocks_normal_broadcasts_only(tree):
    policy = GuardrailPolicy(overrides_by_unit={"tq": {"weekend_days": [6], "weekend_normal_allowed": False}})
    broadcasts = [
        bc("daily", "từ 11/9 đến 13/9/2021, 6:00", "tq-d1", 5),
        bc("important", "ngày 12/9/2021 lúc 17:00", "tq-d1", 5, priority="priority"),
    ]
    result = expand(broadcasts, tree, policy, utc(2021, 9, 10, 17, 0), horizon=timedelta(days=3))
    days = [(p.broadcast_id, p.start_utc.astimezone(LOCAL_TZ).strftime("%d/%m %H:%M")) for p in result.plays]
    assert days == [("daily", "11/09 06:00"), ("important", "12/09 17:00"), ("daily", "13/09 06:00")]
    assert [(s.code, s.slot_utc.astimezone(LOCAL_TZ).day) for s in result.skipped] == [("weekend", 12)]


def test_occurrence_keys_are_stable_short_plan_item_ids(tree, policy):
    long_id = "b" * 48
    b = bc(long_id, "từ 31/12/2021 đến 01/01/2022, 6:00 và 17:00, phát 3 lần", "tq-d1", 1)
    first = expand([b], tree, policy, utc(2021, 12, 30, 17, 0))
    later = expand([b], tree, policy, utc(2021, 12, 31, 1, 0))
    keys = [p.occurrence_key for p in first.plays]
    assert keys[0] == f"{long_id}-202112302300-0"
    assert all(len(k) <= 64 and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", k) for k in keys)
    assert len(set(keys)) == len(keys) == 12
    overlap = {(p.occurrence_key, p.start_utc) for p in later.plays if p.start_utc < first.window_end}
    assert overlap == {(p.occurrence_key, p.start_utc) for p in first.plays if p.start_utc >= later.window_start}
    assert occurrence_key("x", utc(2022, 1, 1, 0, 0), 2) == "x-202201010000-2"


def test_identical_devices_share_one_plan_and_window_edges_are_half_open(tree, policy):
    b = bc("a", "từ 07/9 đến 09/9/2021, 6:00", "hn", 5)
    start = to_utc(datetime(2021, 9, 7, 6, 0))
    result = expand([b], tree, policy, start, start + timedelta(days=1))
    by_device = result.by_device()
    assert set(by_device) == {"hn-d1", "hn-d2", "hn-d3"}
    assert all([p.start_utc for p in plays] == [start] for plays in by_device.values())


def test_a_target_removed_from_the_tree_is_ignored_with_a_warning(tree, policy, caplog):
    b = bc("a", "ngày 07/9/2021 lúc 6:00", {"tq-d1", "old-village"}, 5)
    with caplog.at_level(logging.WARNING, logger="schedules.programme"):
        result = expand([b], tree, policy, DAY)
    assert [p.device_id for p in result.plays] == ["tq-d1"]
    assert "old-village" in caplog.text


def test_a_programme_may_run_past_midnight_with_an_override(tree, policy):
    override = Override(by="A", reason="Tường thuật giao thừa", lifts=frozenset({"quiet_hours"}))
    b = bc("tet", "ngày 31/12/2021 lúc 23:55", "tq-d1", 10, override=override)
    plays = expand([b], tree, policy, utc(2021, 12, 31, 0, 0)).plays
    assert [p.start_utc for p in plays] == [utc(2021, 12, 31, 16, 55)]
    assert plays[0].end_utc == utc(2021, 12, 31, 17, 5)
