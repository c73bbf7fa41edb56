"""One-off broadcasts entered to the second: each keeps its own second within its minute.

In process: a real controller (not started), real SQLite and espeak-ng renders.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.config import ControllerConfig
from controller.service import Controller
from support.tree import seed_registry
from loaxa.config import load_config
from loaxa.protocol import format_time, utcnow

ENV = {"LOAXA_AUDIO_ENGINE": "espeak", "LOAXA_MQTT_PORT": "9", "LOAXA_SCHEDULES_QUIET_START": "00:00",
       "LOAXA_SCHEDULES_QUIET_END": "00:00", "LOAXA_PLANS_AUTO_APPROVE": "true"}


@pytest.fixture
def controller(tmp_path):
    c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": str(tmp_path), **ENV}))
    seed_registry(c.registry)
    yield c
    c.db.close()


def test_two_one_offs_in_the_same_minute_each_keep_their_second(controller):
    c = controller
    first_b = c.bulletins.add("Tin một", "Thông báo họp dân.", "canbo")
    second_b = c.bulletins.add("Tin hai", "Thông báo lịch cắt điện.", "canbo")
    minute = (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)
    early, late = minute + timedelta(seconds=5), minute + timedelta(seconds=40)
    assert first_b.media.duration_s < 35  # room for both at their own seconds
    a = c.broadcasts.schedule(first_b.id, format_time(early), ["loa-a"], created_by="canbo")
    b = c.broadcasts.schedule(second_b.id, format_time(late), ["loa-a"], created_by="canbo")
    items = {i.broadcast_id: i.start for i in c.dispatcher.build(device_ids=["loa-a"]).plans["loa-a"].items}
    assert items == {a.id: early, b.id: late}


def test_a_one_off_that_would_overlap_the_one_before_waits_for_its_end(controller):
    c = controller
    long_b = c.bulletins.add("Tin dài", "Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng. " * 2, "canbo")
    short_b = c.bulletins.add("Tin ngắn", "Thông báo họp dân.", "canbo")
    minute = (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)
    first, second = minute + timedelta(seconds=2), minute + timedelta(seconds=4)
    a = c.broadcasts.schedule(long_b.id, format_time(first), ["loa-a"], created_by="canbo")
    b = c.broadcasts.schedule(short_b.id, format_time(second), ["loa-a"], created_by="canbo")
    items = {i.broadcast_id: i for i in c.dispatcher.build(device_ids=["loa-a"]).plans["loa-a"].items}
    assert items[a.id].start == first
    assert items[b.id].start == first + timedelta(seconds=items[a.id].duration_s)
