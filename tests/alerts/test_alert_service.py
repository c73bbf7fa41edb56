"""The controller's alert service on a real SQLite file and real renders: decisions, repeats, lifecycle, plans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.cap_docs import GEOJSON, OASIS, SENDER, seed_son_ha, vi_alert
from support.world import make_controller
from controller.errors import InputError
from loaxa.protocol import parse_time, utcnow

AUTO_STORMS = {"rules": [{"name": "bão cấp 4-5 tự phát", "action": "auto", "risk_levels": [4, 5]},
                         {"name": "còn lại chờ 10 phút", "action": "queue", "countdown_min": 10}],
               "repeat_every_min": 30}


@pytest.fixture
def ctl(tmp_path):
    c = make_controller(tmp_path, schedules_quiet_start="00:00", schedules_quiet_end="00:00")
    seed_son_ha(c.registry)
    c.alerts.import_geography(GEOJSON.read_text(), "quan-tri")
    c.alerts.set_policy("tinh-son-ha", AUTO_STORMS, "quan-tri")
    yield c
    c.stop()


def items_of(c, device_id):
    return c.dispatcher.build(device_ids=[device_id]).plans[device_id].items


def test_a_level_4_storm_airs_by_itself_with_repeats_until_expiry_and_the_rule_is_audited(ctl, caplog):
    now = utcnow()
    got = ctl.alerts.upload(vi_alert("SH-1", sent=now, expires=now + timedelta(hours=2)), "can-bo")
    assert got.transition == "new"
    alert = ctl.alerts.get(got.alert_id)
    [unit] = alert.units
    assert unit.unit_id == "xa-tan-lap" and unit.explanation == "xã Tân Lập: đa giác 1 phủ 83 %"
    assert unit.status == "airing" and "bão cấp 4-5 tự phát" in unit.rule
    assert [r.n for r in unit.repeats] == [1, 2, 3, 4]  # 0, 30, 60, 90 min before 2 h
    # Each repeat is the attention signal, then the words right after it (the signal is its own item, made once).
    signals = [parse_time(r.signal.at, "at") for r in unit.repeats]
    words = [parse_time(r.at, "at") for r in unit.repeats]
    assert all(b - a == timedelta(minutes=30) for a, b in zip(signals, signals[1:]))
    length = words[1] - signals[1]
    assert timedelta(seconds=4) < length < timedelta(seconds=6) and all(w - s == length for s, w in zip(signals[1:], words[1:]))
    # The first signal was planned before the words were spoken; they follow it back to back unless the render
    # outlasted the signal, which is logged (then they follow as soon as every cluster can have them).
    assert words[0] - signals[0] == length or (words[0] - signals[0] > length and "render outlasted" in caplog.text)
    assert parse_time(unit.repeats[0].late_until, "l") == signals[1]  # a late device waits for the next repeat
    assert parse_time(unit.repeats[-1].late_until, "l") == parse_time(alert.ends_at, "e")
    items = items_of(ctl, "loa-tan-lap")
    assert [i.item_id for i in items] == [x for r in unit.repeats for x in (r.signal.item_id, r.item_id)]
    assert len({i.sha256 for i in items[::2]}) == 1 and len({i.sha256 for i in items[1::2]}) == 1
    assert [w.start - s.start for s, w in zip(items[::2], items[1::2])] == [w - s for s, w in zip(signals, words)]
    assert all(i.priority == "emergency" and i.late_until is not None and i.broadcast_id == alert.id for i in items)
    assert items_of(ctl, "loa-dong-son") == ()
    audit = ctl.audit.entries(action="alert_decision")
    assert audit and audit[0].to_dict()["details"]["rule"] == unit.rule and audit[0].to_dict()["actor"] == "hệ thống"


def test_update_replaces_future_repeats_and_cancel_removes_them_with_an_all_clear(ctl):
    now = utcnow()
    first = ctl.alerts.upload(vi_alert("SH-2", sent=now, expires=now + timedelta(hours=3)), "can-bo")
    update = vi_alert("SH-2u", sent=now + timedelta(seconds=1), expires=now + timedelta(hours=1), msg_type="Update",
                      references=(("SH-2", now),), headline="Bão số 3 suy yếu")
    got = ctl.alerts.upload(update, "can-bo")
    assert got.transition == "update" and got.ended == (first.alert_id,)
    old = ctl.alerts.get(first.alert_id)
    assert old.state == "superseded" and all(r.status == "removed" for r in old.units[0].repeats)
    ids = [i.item_id for i in items_of(ctl, "loa-tan-lap")]
    assert ids and all(i.startswith(got.alert_id) for i in ids) and len(ids) == 4  # two repeats, each signal + words
    assert [i.endswith(".signal") for i in ids] == [True, False, True, False]
    cancel = vi_alert("SH-2c", sent=now + timedelta(seconds=2), expires=None, msg_type="Cancel",
                      references=(("SH-2u", now + timedelta(seconds=1)),))
    done = ctl.alerts.upload(cancel, "can-bo")
    assert done.transition == "cancel" and done.ended == (got.alert_id,)
    items = items_of(ctl, "loa-tan-lap")
    assert [i.item_id for i in items] == [f"{got.alert_id}.{ctl.alerts.get(got.alert_id).units[0].repeats[0].item_id.split('.')[1]}.ac"]
    assert ctl.alerts.get(got.alert_id).state == "cancelled"


def test_queue_with_countdown_airs_when_nobody_rejects_and_english_waits_as_a_draft(ctl):
    now = utcnow()
    got = ctl.alerts.upload(vi_alert("SH-3", sent=now, expires=now + timedelta(hours=1), risk=2), "can-bo")
    [unit] = got.decisions
    assert unit.status == "pending" and unit.countdown_min == 10
    assert items_of(ctl, "loa-tan-lap") == ()
    ctl.alerts.tick(now + timedelta(minutes=5))
    assert items_of(ctl, "loa-tan-lap") == ()
    ctl.alerts.tick(now + timedelta(minutes=11))
    alert = ctl.alerts.get(got.alert_id)
    assert alert.units[0].status == "airing" and alert.units[0].repeats
    assert ctl.audit.entries(action="alert_approved")[0].to_dict()["details"]["rule"].startswith("hết thời gian đếm ngược")

    english = ctl.alerts.upload(vi_alert("SH-4", sent=now, expires=now + timedelta(hours=1), language="en-US",
                                         event="Typhoon", headline="Typhoon"), "can-bo")
    assert english.decisions[0].status == "draft"
    draft = ctl.alerts.get(english.alert_id)
    assert draft.draft and "Cảnh báo bão rất mạnh" in draft.script and draft.bulletin_id is None
    approved = ctl.alerts.approve(english.alert_id, "chu-tich", script="Cảnh báo bão rất mạnh. Người dân ở trong nhà.")
    assert approved.units[0].status == "airing" and not approved.draft


def test_expiry_disappearance_stop_and_test_status(ctl):
    now = utcnow()
    got = ctl.alerts.upload(vi_alert("SH-5", sent=now, expires=now + timedelta(hours=1)), "can-bo")
    ctl.alerts.tick(now + timedelta(hours=1, seconds=1))
    assert ctl.alerts.get(got.alert_id).state == "expired"
    live = ctl.alerts.upload(vi_alert("SH-6", sent=now, expires=now + timedelta(hours=1)), "can-bo")
    stopped = ctl.alerts.stop(live.alert_id, "chu-tich", "nhầm vùng")
    assert stopped.state == "stopped" and stopped.units[0].status == "stopped"
    assert items_of(ctl, "loa-tan-lap") == ()
    assert ctl.audit.entries(action="alert_stopped")[0].to_dict()["actor"] == "chu-tich"
    exercise = ctl.alerts.upload(vi_alert("SH-7", sent=now, expires=now + timedelta(hours=1), status="Exercise"), "c")
    assert exercise.decisions[0].status == "test" and items_of(ctl, "loa-tan-lap") == ()
    assert ctl.alerts.upload(vi_alert("SH-7", sent=now, expires=now + timedelta(hours=1), status="Exercise"),
                             "c").transition == "duplicate"


def test_push_needs_the_sources_own_token_and_hostile_documents_are_4xx(ctl):
    ctl.alerts.add_source({"id": "so-nn-son-ha", "kind": "push", "token": "bi-mat-tinh", "senders": [SENDER]}, "qt")
    now = utcnow()
    doc = vi_alert("SH-8", sent=now, expires=now + timedelta(hours=1))
    with pytest.raises(InputError) as refused:
        ctl.alerts.push("sai", doc)
    assert refused.value.status == 401
    assert ctl.alerts.push("bi-mat-tinh", doc).transition == "new"
    with pytest.raises(InputError) as wrong_sender:
        ctl.alerts.push("bi-mat-tinh", OASIS[0].read_bytes())
    assert wrong_sender.value.code == "cap_sender_refused" and wrong_sender.value.status == 403


def test_an_emergency_also_enters_the_plans_until_its_late_window_closes(ctl):
    em = ctl.emergency(["xa-dong-son"], "chu-tich", text="Lũ quét đang về, người dân lên chỗ cao ngay.",
                       reason="lũ quét")
    [item] = items_of(ctl, "loa-dong-son")
    assert item.item_id == em.broadcast_id and item.late_until is not None
    assert timedelta(minutes=59) < item.late_until - item.start <= timedelta(minutes=60)
    later = ctl.dispatcher.build(now=utcnow() + timedelta(minutes=61), device_ids=["loa-dong-son"])
    assert later.plans["loa-dong-son"].items == ()
