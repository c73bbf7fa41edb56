"""The daily volume schedule: what a person may type, which step is in force, and what a device should report."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from controller.devices.volume_schedule import expected_volume, parse_steps
from controller.errors import InputError
from loaxa.local_time import LOCAL_TZ
from loaxa.protocol import Plan, ProtocolError, VolumeStep
from loaxa.volume_steps import current_step

STEPS = (VolumeStep("06:00", 80), VolumeStep("18:00", 50), VolumeStep("21:30", 30))


def at(hh: int, mm: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize("text", ["06:00 80\n18:00 50\n21:30 30", "6h 80\n18h 50\n21.30 30", "6 giờ 80\n18 giờ - 50\n21:30 = 30%"])
def test_lines_people_type(text):
    assert parse_steps(text) == STEPS


@pytest.mark.parametrize("text, message", [("25:00 50", "không hợp lệ"), ("18:00 150", "từ 0 đến 100"),
                                           ("18:00 50\n18:00 40", "trùng giờ"), ("tối 50", "Dòng 1 \"tối 50\"")])
def test_refused_with_what_was_typed(text, message):
    with pytest.raises(InputError) as e:
        parse_steps(text)
    assert message in e.value.message


def test_step_in_force_wraps_over_midnight():
    assert current_step(STEPS, at(7)) == (STEPS[0], at(6))
    assert current_step(STEPS, at(19, 5)) == (STEPS[1], at(18))
    assert current_step(STEPS, at(2)) == (STEPS[2], at(21, 30, day=2))
    assert current_step((), at(2)) is None


def test_a_hand_set_volume_holds_until_the_next_step():
    manual = (65, at(19).astimezone(LOCAL_TZ))
    assert expected_volume(STEPS, manual, at(20)) == 65
    assert expected_volume(STEPS, manual, at(22)) == 30
    assert expected_volume((), manual, at(22)) == 65
    assert expected_volume(STEPS, None, at(12)) == 80


def test_the_plan_carries_the_steps_and_refuses_bad_ones():
    now = at(12)
    plan = Plan("loa-1", 3, now, now + timedelta(hours=1), volume_steps=STEPS)
    assert Plan.from_dict(plan.to_dict()).volume_steps == STEPS
    assert "volume_steps" not in Plan("loa-1", 3, now, now + timedelta(hours=1)).to_dict()
    bad = {**plan.to_dict(), "volume_steps": [{"at": "7:00", "volume": 50}]}
    with pytest.raises(ProtocolError):
        Plan.from_dict(bad)


def test_an_unknown_unit_has_no_volume_schedule(tmp_path):
    from support.world import make_world

    w = make_world(tmp_path)
    try:
        put = w.call("root", "PUT", "/api/units/khong-co/volume-schedule", json={"steps": "06:00 80"})
        got = w.call("root", "GET", "/api/units/khong-co/volume-schedule")
        assert (put.status_code, got.status_code) == (404, 404)
        assert put.get_json()["code"] == "unknown_unit" and "Không có đơn vị" in put.get_json()["error"]
        assert w.controller.volume_schedules.all() == {}
    finally:
        w.controller.stop()
