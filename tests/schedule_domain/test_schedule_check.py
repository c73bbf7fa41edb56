"""Checking a broadcast before approval: each refusal, its code, rule, conflicts and Vietnamese message."""

from __future__ import annotations

import pytest

from support.schedule_builders import bc, utc
from schedules.broadcast import Override
from schedules.check import CODE_TITLES_VI, check_broadcast
from schedules.errors import ScheduleInputError
from schedules.guardrails import GuardrailPolicy

NOW = utc(2021, 9, 6, 0, 0)
MORNINGS = bc("mornings", "từ ngày 07/9 đến ngày 14/9/2021, 6 giờ và 17 giờ", {"hn", "tq"}, 10, title="Phòng chống dịch")


def only(refusals):
    assert len(refusals) == 1, refusals
    return refusals[0]


def test_a_broadcast_that_fits_is_accepted(tree, policy):
    assert check_broadcast(MORNINGS, [], tree, policy, NOW) == []
    extra = bc("extra", "ngày 08/9/2021 lúc 10:00", "tq", 20)
    assert check_broadcast(extra, [MORNINGS], tree, policy, NOW) == []


def test_quiet_hours(tree, policy):
    late = bc("late", "ngày 08/9/2021 lúc 22h30", "tq-d2", 5)
    r = only(check_broadcast(late, [MORNINGS], tree, policy, NOW))
    assert (r.code, r.rule, r.conflicting, r.devices) == ("quiet_hours", "quiet_hours 22:00-05:00", (), ("tq-d2",))
    assert "22:30 ngày 08/09/2021" in r.message_vi and "giờ yên tĩnh (22:00–05:00)" in r.message_vi
    assert "Cụm loa chợ" in r.message_vi


def test_an_override_lifts_quiet_hours_and_is_never_needed_for_emergencies(tree, policy):
    late = bc("late", "ngày 08/9/2021 lúc 22h30", "tq-d2", 5, override=Override(by="Trưởng thôn", reason="Tìm trẻ lạc"))
    assert check_broadcast(late, [MORNINGS], tree, policy, NOW) == []
    alarm = bc("alarm", "ngày 08/9/2021 lúc 3:15", "hn", 60, priority="emergency")
    assert check_broadcast(alarm, [MORNINGS], tree, policy, NOW) == []


def test_running_into_quiet_hours_counts_too(tree, policy):
    r = only(check_broadcast(bc("long", "ngày 08/9/2021 lúc 21:50", "tq-d1", 15), [], tree, policy, NOW))
    assert r.code == "quiet_hours"


def test_minutes_per_programme_in_hanoi_urban_wards(tree, policy):
    item = bc("item", "ngày 08/9/2021 lúc 6:00", "hn-to-1", 6, priority="priority")
    r = only(check_broadcast(item, [MORNINGS], tree, policy, NOW))
    assert (r.code, r.rule, r.conflicting, r.devices) == ("cap_minutes_per_programme", "cap_minutes_per_programme 15", ("mornings",), ("hn-d1",))
    assert "16 phút" in r.message_vi and "tối đa 15 phút" in r.message_vi and "«Phòng chống dịch»" in r.message_vi
    assert check_broadcast(bc("item", "ngày 08/9/2021 lúc 6:00", "tq", 6), [MORNINGS], tree, policy, NOW) == []


def test_programmes_per_day_names_the_programmes_already_there(tree, policy):
    noon = bc("noon", "từ 08/9 đến 10/9/2021, 11:00", "hn", 5)
    r = only(check_broadcast(noon, [MORNINGS], tree, policy, NOW))
    assert (r.code, r.rule, r.conflicting) == ("cap_programmes_per_day", "cap_programmes_per_day 2", ("mornings",))
    assert r.devices == ("hn-d1", "hn-d2", "hn-d3") and len(r.times_utc) == 3
    assert "tối đa 2 buổi mỗi ngày" in r.message_vi and "(và 2 lần khác)" in r.message_vi and "Ảnh hưởng 3 cụm loa" in r.message_vi
    assert check_broadcast(bc("noon", "ngày 08/9/2021 lúc 11:00", "tq", 5), [MORNINGS], tree, policy, NOW) == []


def test_an_earlier_programme_that_would_drop_a_later_one_is_refused_too(tree, policy):
    dawn = bc("dawn", "ngày 08/9/2021 lúc 5:30", "hn-d3", 5)
    r = only(check_broadcast(dawn, [MORNINGS], tree, policy, NOW))
    assert r.code == "cap_programmes_per_day" and "«Phòng chống dịch» sẽ bị bỏ" in r.message_vi
    assert r.times_utc == (utc(2021, 9, 8, 10, 0),)


def test_weekend_rule(tree):
    policy = GuardrailPolicy(overrides_by_unit={"tq": {"weekend_days": "Chủ nhật", "weekend_normal_allowed": False}})
    sunday = bc("sunday", "ngày 12/9/2021 lúc 8:00", "tq", 5)
    r = only(check_broadcast(sunday, [], tree, policy, NOW))
    assert (r.code, r.conflicting) == ("weekend", ())
    assert "Chủ nhật 12/09/2021" in r.message_vi
    assert check_broadcast(bc("sunday", "ngày 12/9/2021 lúc 8:00", "tq", 5, priority="priority"), [], tree, policy, NOW) == []
    lifted = Override(by="Chủ tịch xã", reason="Bầu cử đại biểu", lifts=frozenset({"weekend"}))
    assert check_broadcast(bc("sunday", "ngày 12/9/2021 lúc 8:00", "tq", 5, override=lifted), [], tree, policy, NOW) == []


def test_overlap_with_the_next_programme_either_way(tree, policy):
    r = only(check_broadcast(bc("six-oh-five", "ngày 08/9/2021 lúc 6:05", "tq-d1", 5), [MORNINGS], tree, policy, NOW))
    assert (r.code, r.conflicting) == ("overlap", ("mornings",))
    assert r.message_vi.startswith("Buổi phát lúc 06:00 ngày 08/09/2021 kéo dài đến 06:10, chồng lên buổi phát lúc 06:05")
    r = only(check_broadcast(bc("long", "ngày 08/9/2021 lúc 16:50", "tq-d1", 15), [MORNINGS], tree, policy, NOW))
    assert (r.code, r.conflicting) == ("overlap", ("mornings",))
    joining = bc("joining", "ngày 08/9/2021 lúc 6:00", "tq-d1", 20)
    stretch = bc("stretch", "ngày 08/9/2021 lúc 6:25", "tq-d1", 5)
    r = only(check_broadcast(joining, [MORNINGS, stretch], tree, policy, NOW))
    assert (r.code, r.conflicting) == ("overlap", ("mornings", "stretch"))


def test_pushing_someone_else_into_quiet_hours_is_refused_even_with_an_override(tree, policy):
    evening = bc("evening", "ngày 08/9/2021 lúc 21:40", "tq-d1", 17)
    first = bc("first", "ngày 08/9/2021 lúc 21:40", "tq-d1", 5, priority="priority",
               override=Override(by="A", reason="Thông báo khẩn"))
    r = only(check_broadcast(first, [evening], tree, policy, NOW))
    assert (r.code, r.conflicting) == ("quiet_hours", ("evening",))


def test_in_the_past(tree, policy):
    gone = bc("gone", "ngày 05/9/2021 lúc 6:00", "tq", 5)
    r = only(check_broadcast(gone, [], tree, policy, NOW))
    assert (r.code, r.times_utc) == ("in_the_past", (utc(2021, 9, 4, 23, 0),))
    assert "06:00 ngày 05/09/2021 đã qua" in r.message_vi
    today = bc("today", "ngày 06/9/2021 lúc 6:00 và 17:00", "tq", 5)
    assert only(check_broadcast(today, [], tree, policy, NOW)).code == "in_the_past"
    emergency = bc("sos", "ngày 05/9/2021 lúc 6:00", "tq", 5, priority="emergency")
    assert only(check_broadcast(emergency, [], tree, policy, NOW)).code == "in_the_past"


def test_a_recurring_rule_already_running_is_checked_from_now_on(tree, policy):
    running = bc("running", "từ 01/9 đến 10/9/2021, 6:00 và 22:30", "tq", 5)
    r = only(check_broadcast(running, [], tree, policy, NOW))
    assert r.code == "quiet_hours" and len(r.times_utc) == 5  # 06 … 10/9, not the past ones


def test_no_occurrences(tree, policy):
    never = bc("never", "Chủ nhật từ 07/9 đến 10/9/2021, 6:00", "tq", 5)
    assert only(check_broadcast(never, [], tree, policy, NOW)).code == "no_occurrences"


def test_editing_a_broadcast_ignores_its_own_old_version(tree, policy):
    edited = bc("mornings", "từ ngày 07/9 đến ngày 14/9/2021, 6 giờ và 17 giờ", {"hn", "tq"}, 12)
    assert check_broadcast(edited, [MORNINGS], tree, policy, NOW) == []


def test_bad_targets_are_input_errors_not_refusals(tree, policy):
    with pytest.raises(ScheduleInputError) as err:
        check_broadcast(bc("x", "ngày 08/9/2021 lúc 6:00", "nowhere", 5), [], tree, policy, NOW)
    assert err.value.code == "unknown_node"
    with pytest.raises(ScheduleInputError):
        check_broadcast(MORNINGS, [], tree, policy, NOW.replace(tzinfo=None))


def test_refusals_serialise_for_the_web_layer(tree, policy):
    r = only(check_broadcast(bc("late", "ngày 08/9/2021 lúc 22h30", "tq-d2", 5), [], tree, policy, NOW))
    d = r.to_dict()
    assert d["code"] == "quiet_hours" and d["title_vi"] == CODE_TITLES_VI["quiet_hours"] == "Giờ yên tĩnh"
    assert d["times_utc"] == ["2021-09-08T15:30:00+00:00"] and d["devices"] == ["tq-d2"]
