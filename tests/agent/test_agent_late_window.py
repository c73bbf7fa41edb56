"""Warnings missed while offline: played once, late, inside their window; never after it; never twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from support.agent_rig import ConductorRig, make_clip, play_item
from support.harness import wait_for
from loaxa.protocol import PlayItem


@pytest.fixture
def rig(tmp_path):
    r = ConductorRig(tmp_path / "rig")
    yield r
    r.close()


def test_missed_item_inside_its_window_plays_at_once_and_logs_its_delay(rig, tmp_path, caplog):
    clip = make_clip(tmp_path / "media", 0.5)
    rig.add(clip)
    now = datetime.now(timezone.utc)
    rig.items = (
        play_item("al-1-r0", clip, now - timedelta(minutes=20), priority="emergency", late_until=now - timedelta(minutes=1)),
        play_item("al-1-r1", clip, now - timedelta(minutes=10), priority="emergency", late_until=now + timedelta(minutes=10)),
    )
    with caplog.at_level(logging.WARNING):
        rig.start()
        [(item, fields)] = wait_for(lambda: rig.kinds("finished"), timeout=10, what="the missed repeat to play")
    assert item.item_id == "al-1-r1" and "late" in fields["flags"]
    assert fields["actual_start"] - item.start.timestamp() == pytest.approx(600, abs=15)
    assert [(i.item_id, f["reason"]) for i, f in rig.kinds("skipped")] == [("al-1-r0", "missed_start")]
    assert "al-1-r1 plays late by 6" in caplog.text


def test_the_same_item_sent_as_a_command_does_not_play_twice(rig, tmp_path):
    clip = make_clip(tmp_path / "media", 0.5)
    rig.add(clip)
    now = datetime.now(timezone.utc)
    item = play_item("em-1", clip, now - timedelta(seconds=90), priority="emergency", late_until=now + timedelta(minutes=5))
    rig.items = (item,)
    rig.start()
    wait_for(lambda: rig.kinds("finished"), timeout=10, what="the plan's copy to play")
    rig.conductor.preempt(item)  # the play_now command arrives after the plan did
    rig.conductor.wake()
    assert rig.store.play_status("em-1") == "finished" and not rig.conductor._urgent
    assert len(rig.kinds("started")) == 1


def test_late_until_is_optional_on_the_wire():
    plain = PlayItem(item_id="x", start=datetime(2026, 1, 1, tzinfo=timezone.utc), sha256="0" * 64, size=1)
    assert "late_until" not in plain.to_dict()  # ordinary items serialise exactly as before
    until = datetime(2026, 1, 1, 1, tzinfo=timezone.utc)
    late = PlayItem.from_dict({**plain.to_dict(), "late_until": "2026-01-01T01:00:00Z"})
    assert late.late_until == until and PlayItem.from_dict(late.to_dict()) == late
