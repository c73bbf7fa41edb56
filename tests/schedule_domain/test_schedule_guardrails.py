"""Guardrails: inheritance down the tree, quiet hours across midnight, weekend caps, settings."""

from __future__ import annotations

from datetime import date, time

import pytest

from support.schedule_builders import utc
from loaxa.config import load_config
from schedules.broadcast import Broadcast, Override
from schedules.errors import ScheduleInputError
from schedules.guardrails import GuardrailPolicy, Guardrails, effective_guardrails
from schedules.rules import BroadcastRule
from schedules.settings import ScheduleSettings


def test_children_inherit_what_they_do_not_override(tree):
    overrides = {
        "hn": {"max_programmes_per_day": 2, "quiet_start": "21:30"},
        "hn-phuong-a": {"max_minutes_per_programme": 15},
        "hn-to-1": {"max_programmes_per_day": 1},
    }
    to1 = effective_guardrails(tree, "hn-to-1", overrides)
    to2 = effective_guardrails(tree, "hn-to-2", overrides)
    assert (to1.max_programmes_per_day, to1.max_minutes_per_programme, to1.quiet_start) == (1, 15.0, time(21, 30))
    assert (to2.max_programmes_per_day, to2.max_minutes_per_programme, to2.quiet_start) == (2, 15.0, time(21, 30))
    other = effective_guardrails(tree, "tq-thon", overrides)
    assert other == Guardrails()
    assert (other.max_programmes_per_day, other.max_minutes_per_programme) == (3, 45.0)


def test_a_none_override_means_no_cap(tree):
    policy = GuardrailPolicy(overrides_by_unit={"tq": {"max_programmes_per_day": 2}, "tq-xa": {"max_programmes_per_day": None}})
    assert policy.for_unit(tree, "tq-huyen").max_programmes_per_day == 2
    assert policy.for_device(tree, "tq-d1").max_programmes_per_day is None


def test_bad_overrides_are_refused_naming_the_unit_and_setting():
    with pytest.raises(ScheduleInputError, match="Đơn vị 'hn'.*max_programes_per_day"):
        GuardrailPolicy(overrides_by_unit={"hn": {"max_programes_per_day": 2}})
    with pytest.raises(ScheduleInputError) as err:
        GuardrailPolicy(overrides_by_unit={"hn": {"max_minutes_per_programme": -5}})
    assert err.value.field == "max_minutes_per_programme"
    with pytest.raises(ScheduleInputError):
        Guardrails().with_overrides({"quiet_start": "25:00"})
    with pytest.raises(ScheduleInputError):
        Guardrails().with_overrides({"weekend_normal_allowed": "có"})


@pytest.mark.parametrize(
    "start, end, quiet",
    [
        (utc(2021, 9, 7, 14, 59), utc(2021, 9, 7, 15, 0), False),  # 21:59–22:00 local
        (utc(2021, 9, 7, 14, 59), utc(2021, 9, 7, 15, 1), True),   # runs into 22:00
        (utc(2021, 9, 7, 20, 15), utc(2021, 9, 7, 20, 20), True),  # 03:15 local, the incident
        (utc(2021, 9, 7, 22, 0), utc(2021, 9, 7, 22, 30), False),  # 05:00–05:30 local
        (utc(2021, 9, 7, 21, 50), utc(2021, 9, 7, 22, 5), True),   # 04:50–05:05 local
        (utc(2021, 12, 31, 16, 59), utc(2021, 12, 31, 17, 30), True),  # across New Year's midnight
        (utc(2021, 9, 7, 10, 0), utc(2021, 9, 7, 10, 0), False),
    ],
)
def test_quiet_hours_cross_midnight(start, end, quiet):
    assert Guardrails().in_quiet_hours(start, end) is quiet


def test_quiet_hours_inside_one_day_and_switched_off():
    siesta = Guardrails(quiet_start=time(12), quiet_end=time(13, 30))
    assert siesta.in_quiet_hours(utc(2021, 9, 7, 5, 0), utc(2021, 9, 7, 5, 10))  # 12:00 local
    assert not siesta.in_quiet_hours(utc(2021, 9, 7, 15, 30), utc(2021, 9, 7, 16, 0))  # 22:30 local
    off = Guardrails(quiet_start=time(22), quiet_end=time(22))
    assert not off.has_quiet_hours and not off.in_quiet_hours(utc(2021, 9, 7, 20, 15), utc(2021, 9, 7, 20, 20))


def test_weekend_caps_fall_back_to_weekday_caps():
    g = Guardrails(weekend_days=frozenset({6}), weekend_max_programmes_per_day=1, weekend_normal_allowed=False)
    sunday, monday = date(2021, 9, 12), date(2021, 9, 13)
    assert (g.programmes_cap(sunday), g.programmes_cap(monday)) == (1, 3)
    assert g.minutes_cap(sunday) == g.minutes_cap(monday) == 45.0
    assert not g.normal_allowed(sunday) and g.normal_allowed(monday)
    assert Guardrails().with_overrides({"weekend_days": "Thứ 7, Chủ nhật"}).weekend_days == {5, 6}
    assert Guardrails().with_overrides({"weekend_days": ""}).weekend_days == frozenset()


def test_installation_defaults_come_from_the_config_loader(tmp_path):
    path = tmp_path / "loaxa.toml"
    path.write_text('quiet_start = "21:00"\nmax_programmes_per_day = 2\nweekend_days = [6]\n', encoding="utf-8")
    settings = load_config(ScheduleSettings, path, env={"LOAXA_WEEKEND_NORMAL_ALLOWED": "false"})
    g = settings.guardrails()
    assert (g.quiet_start, g.max_programmes_per_day, g.weekend_days, g.weekend_normal_allowed) == (time(21), 2, {6}, False)
    assert ScheduleSettings().guardrails() == Guardrails()


def test_overrides_record_who_why_and_what_they_lift():
    o = Override(by="Nguyễn Văn A", reason="Thông báo khẩn của huyện về lũ")
    assert o.lifts == {"quiet_hours"}
    assert Override.from_dict(o.to_dict()) == o
    with pytest.raises(ScheduleInputError, match="lý do"):
        Override(by="A", reason="  ")
    with pytest.raises(ScheduleInputError, match="người"):
        Override(by="", reason="Thông báo khẩn")
    with pytest.raises(ScheduleInputError):
        Override(by="A", reason="Thông báo khẩn", lifts=frozenset({"overlap"}))


def test_broadcasts_validate_and_round_trip():
    rule = BroadcastRule.once("07/9/2021", "22h30")
    b = Broadcast("bc-1", rule, {"hn"}, 120, priority="priority", order=2,
                  override=Override(by="A", reason="Lịch tiêm chủng gấp"), title="Tiêm chủng")
    assert Broadcast.from_dict(b.to_dict()) == b
    assert b.lifts("quiet_hours") and not b.lifts("cap_programmes_per_day")
    assert Broadcast("e", rule, {"hn"}, 60, priority="emergency").lifts("cap_programmes_per_day")
    for bad in (dict(id="x y"), dict(id="x" * 49), dict(targets=set()), dict(duration_s=0), dict(priority="urgent"),
                dict(order=1.5), dict(duration_s=3 * 3600, rule=BroadcastRule.once("07/9/2021", "6:00", repeats=3))):
        kwargs = dict(id="bc", rule=rule, targets={"hn"}, duration_s=60) | bad
        with pytest.raises(ScheduleInputError):
            Broadcast(**kwargs)
