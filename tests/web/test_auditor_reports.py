"""The auditor's reports on a real controller and SQLite file: causes, outages, alert repeats, charts, exports."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook

from controller.people.actor import Actor
from controller.plans import use_cases as plans
from controller.plans.planner import load_tree
from controller.reports import charts, logbook, outages
from controller.reports import use_cases as reports
from controller.reports.audit import ACTIONS
from controller.reports.audit_trail import ACTION_VI, GROUPS
from loaxa.local_time import to_local
from loaxa.protocol import DeviceState, EventBatch, PlaybackEvent
from loaxa.wire_time import format_time, parse_time, utcnow
from schedules.programme import occurrence_key
from support.cap_docs import GEOJSON, seed_son_ha, vi_alert
from support.world import make_controller

PASSWORD = "mat-khau-kiem-tra"
DEVICES = ("loa-a", "loa-b", "loa-c", "loa-d", "loa-e", "loa-f", "loa-g")


@pytest.fixture
def ctl(tmp_path):
    c = make_controller(tmp_path, schedules_quiet_start="00:00", schedules_quiet_end="00:00")
    c.registry.add_unit("xa", "Xã Thử", None, "commune")
    for d in DEVICES:
        c.registry.add_unit(f"thon-{d[-1]}", f"Thôn {d[-1].upper()}", "xa", "village")
        c.registry.add_device(d, f"Cụm loa {d[-1].upper()}", f"thon-{d[-1]}")
    c.users.add("kiemtra", PASSWORD, "auditor", "xa", display_name="Kiểm tra Xã")
    c.users.add("chutich", PASSWORD, "approver", "xa", display_name="Chủ tịch Xã")
    c.users.add("canbo", PASSWORD, "editor", "xa", display_name="Cán bộ Văn hóa")
    yield c
    c.stop()


def actor(c, username: str) -> Actor:
    user = c.users.find(username)
    return Actor.of(user, c.users.scope(user), "127.0.0.1")


def state(c, device_id: str, online: bool) -> None:
    c.ingest.on_state(device_id, DeviceState(device_id=device_id, online=online))


def event(seq: int, kind: str, item_id: str, bc_id: str, planned: datetime, **kw) -> PlaybackEvent:
    return PlaybackEvent(seq=seq, kind=kind, recorded_at=kw.pop("actual_start", planned), item_id=item_id,
                         broadcast_id=bc_id, planned_at=planned, actual_start=kw.pop("at", planned), **kw)


def test_each_cause_has_its_column_and_missed_means_nothing_happened(ctl):
    c = ctl
    for d in DEVICES:
        state(c, d, True)
    state(c, "loa-c", False)  # loa-c goes away now, before the broadcast is due
    bulletin = c.add_bulletin("Lịch tiêm phòng", "Sáng thứ Năm trạm y tế tiêm phòng.", created_by="canbo")
    start = (utcnow() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    bc = c.schedule_broadcast(bulletin.id, format_time(start), ["xa"], created_by="canbo")
    c.approve_broadcast(bc.id, "chutich", "Đồng ý")
    item = occurrence_key(bc.id, start, 0)
    emergency = "bc-khan-cap"
    c.ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e", events=(
        event(1, "started", item, bc.id, start, at=start + timedelta(seconds=2)),
        event(2, "finished", item, bc.id, start, at=start + timedelta(seconds=2), duration_s=40.0))))
    c.ingest.on_events("loa-b", EventBatch(device_id="loa-b", epoch="e", events=(
        event(1, "skipped", item, bc.id, start, reason="kill_switch"),)))
    c.ingest.on_events("loa-e", EventBatch(device_id="loa-e", epoch="e", events=(
        event(1, "interrupted", item, bc.id, start, reason="preempted", duration_s=5.0),)))
    c.ingest.on_events("loa-g", EventBatch(device_id="loa-g", epoch="e", events=(  # a relay item reports as a stream
        event(1, "stream_finished", item, bc.id, start, duration_s=40.0),)))
    local = to_local(start)  # thon-f's quiet hours now cover the slot: the planner keeps it out of loa-f's plan
    c.guardrails.put(load_tree(c.db), "thon-f", {"quiet_start": f"{local - timedelta(minutes=10):%H:%M}",
                                                 "quiet_end": f"{local + timedelta(minutes=20):%H:%M}"})
    c.dispatcher.rebuild()  # records the skip, as the plan job does (no broker here: nothing is sent)
    later = start + timedelta(hours=1)
    occ = logbook.occurrences(c.db, c.guardrails.policy(), DEVICES, start - timedelta(hours=1), later, now=later)
    causes = {o.device_id: o.cause for o in occ}
    assert causes == {"loa-a": "played", "loa-b": "kill_switch", "loa-c": "offline", "loa-d": "missed",
                      "loa-e": "preempted", "loa-f": "refused", "loa-g": "played"}, causes
    assert {o.device_id: o.delay_s for o in occ}["loa-a"] == 2.0
    assert emergency not in {o.broadcast_id for o in occ}

    [total] = logbook.compliance(occ, {"xa": "Xã Thử"}, {f"thon-{d[-1]}": "xa" for d in DEVICES})
    assert (total.planned, total.played, total.missed, total.preempted, total.offline, total.kill_switch,
            total.refused, total.failed, total.other) == (7, 2, 1, 1, 1, 1, 1, 0, 4)
    rows = {r.device: r for r in logbook.logbook_rows(occ)}
    assert rows["Cụm loa C (loa-c)"].cause == "Mất kết nối"
    assert rows["Cụm loa F (loa-f)"].status == "Bị từ chối" and rows["Cụm loa F (loa-f)"].note == "Trong giờ yên tĩnh"
    assert rows["Cụm loa A (loa-a)"].delay == 2.0

    sheet = load_workbook(io.BytesIO(logbook.logbook_xlsx(list(rows.values()), "Sổ nhật ký chương trình"))).active
    assert sheet.title == "Sổ nhật ký chương trình"
    assert sheet.auto_filter.ref == f"A2:N{2 + len(rows)}" and len(rows) == len(DEVICES)
    first = [cell.value for cell in sheet[3]]
    local = to_local(start)
    assert first[0] == datetime.combine(local.date(), time()) and sheet["A3"].number_format == "DD/MM/YYYY"
    assert first[1] == local.time().replace(tzinfo=None) and sheet["B3"].is_date
    signature = [cell.value for row in sheet.iter_rows(min_row=3 + len(rows)) for cell in row if cell.value]
    assert "NGƯỜI LẬP SỔ" in signature and "(Ký, ghi rõ họ tên)" in signature


def test_outages_over_a_period_come_from_the_devices_history(ctl):
    c = ctl
    state(c, "loa-a", True)
    state(c, "loa-a", False)
    state(c, "loa-b", True)
    devices = {d.id: d for d in c.registry.devices()}
    with c.db.tx() as db:
        moves = db.execute("SELECT device_id, kind = 'online' FROM device_history "
                           "WHERE kind IN ('online', 'offline') ORDER BY id").fetchall()
    assert moves == [("loa-a", 1), ("loa-a", 0), ("loa-b", 1)]
    now = utcnow()
    since = now - timedelta(hours=1)
    per = outages.device_outages(c.db, [devices["loa-a"], devices["loa-b"], devices["loa-c"]], since,
                                 now + timedelta(hours=1), now + timedelta(minutes=10))
    [gone] = per["loa-a"]
    assert gone.ongoing and gone.end == now + timedelta(minutes=10) and gone.seconds >= 599
    assert per["loa-b"] == []  # from registration to first contact is installation, not an outage
    [never] = per["loa-c"]  # never connected: offline from its registration on
    assert never.ongoing and never.start == parse_time(devices["loa-c"].created_at, "created_at")
    assert outages.offline_at(per, "loa-a", now + timedelta(minutes=5))
    assert not outages.offline_at(per, "loa-b", now + timedelta(minutes=5))

    today = to_local(now).date()
    report = reports.outage_report(c, actor(c, "kiemtra"), today, today, None)
    names = [r.device_name for r in report.clusters]
    assert names[-1] == "Cụm loa B" and report.clusters[-1].availability == 1.0
    [never_seen] = [r for r in report.clusters if r.device_id == "loa-c"]
    assert never_seen.never_connected and never_seen.availability == pytest.approx(0.0, abs=0.01)
    assert report.timeline.startswith("<svg") and report.timeline.count('class="outage"') >= len(DEVICES) - 1


def test_alert_repeats_per_cluster_in_the_logbook_and_compliance(tmp_path):
    c = make_controller(tmp_path, schedules_quiet_start="00:00", schedules_quiet_end="00:00")
    try:
        seed_son_ha(c.registry)
        c.alerts.import_geography(GEOJSON.read_text(), "quan-tri")
        c.alerts.set_policy("tinh-son-ha", {"rules": [{"name": "bão tự phát", "action": "auto", "risk_levels": [4, 5]}],
                                            "repeat_every_min": 30}, "quan-tri")
        now = utcnow()
        got = c.alerts.upload(vi_alert("SH-R", sent=now, expires=now + timedelta(hours=2)), "can-bo")
        [unit] = c.alerts.get(got.alert_id).units
        first, second = unit.repeats[:2]
        at = datetime.fromisoformat(first.at.replace("Z", "+00:00"))
        c.ingest.on_events("loa-tan-lap", EventBatch(device_id="loa-tan-lap", epoch="e", events=(
            event(1, "finished", first.item_id, got.alert_id, at, at=at + timedelta(minutes=4), duration_s=30.0),)))
        later = at + timedelta(hours=3)
        occ = logbook.occurrences(c.db, c.guardrails.policy(), ["loa-tan-lap"], at - timedelta(hours=1), later,
                                  now=later)
        assert [o.repeat for o in occ] == [1, 2, 3, 4] and all(o.alert_id == got.alert_id for o in occ)
        assert occ[0].cause == "played" and occ[0].delay_s == 240.0 and occ[1].cause in ("offline", "missed")
        [row] = logbook.alert_repeats(occ)
        assert (row.device_id, row.planned, row.played, row.late) == ("loa-tan-lap", 4, 1, 1)
        book = logbook.logbook_rows(occ)
        assert [r.repeat for r in book] == [1, 2, 3, 4] and book[0].priority == "Khẩn cấp"
        assert second.item_id == occ[1].item_id
    finally:
        c.stop()


def test_audit_trail_filters_and_exports_are_audited(ctl):
    c = ctl
    bulletin = c.add_bulletin("Thông báo họp", "Tối nay họp thôn.", created_by="canbo")
    start = (utcnow() + timedelta(minutes=45)).replace(second=0, microsecond=0)
    bc = c.schedule_broadcast(bulletin.id, format_time(start), ["thon-a"], created_by="canbo")
    plans.approve_broadcast(c, actor(c, "chutich"), bc.id, "=HYPERLINK(\"http://x\")")
    c.audit.record("chutich", "device_volume", "loa-a", {"volume": 60})
    c.audit.record("chutich", "device_volume", "loa-b", {"volume": 40})
    c.registry.add_unit("xa-khac", "Xã Khác", None, "commune")
    c.registry.add_device("loa-khac", "Cụm loa khác", "xa-khac")
    c.users.add("quantri", PASSWORD, "admin", None)
    c.audit.record("quantri", "device_volume", "loa-c", {"volume": 70})  # in the auditor's commune: shown
    c.audit.record("quantri", "device_volume", "loa-khac", {"volume": 30})  # elsewhere: not shown
    auditor = actor(c, "kiemtra")
    today = to_local(utcnow()).date()
    everything = reports.audit_trail_report(c, auditor, today, today)
    assert {r.action for r in everything.rows} >= {"broadcast_approved", "device_volume"}
    assert {r.target for r in everything.rows if r.actor == "quantri"} == {"loa-c"}
    volumes = reports.audit_trail_report(c, auditor, today, today, action="devices", unit="thon-a")
    assert [(r.action, r.target, r.details) for r in volumes.rows] == [("device_volume", "loa-a", "âm lượng: 60")]
    assert all(r.action_label == ACTION_VI[r.action] for r in volumes.rows)
    approvals = reports.audit_trail_report(c, auditor, today, today, by="chutich", action="broadcast_approved")
    [approved] = approvals.rows
    assert approved.actor_name == "Chủ tịch Xã" and approved.action_label == "Duyệt phát"
    with pytest.raises(Exception) as bad:
        reports.audit_trail_report(c, auditor, today, today, action="khong-co")
    assert "Hành động" in str(bad.value)

    export = reports.export_audit_trail(c, auditor, approvals, "xlsx")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet.title == "Nhật ký thao tác" and isinstance(sheet["A3"].value, datetime)
    assert sheet["F3"].data_type == "s" and sheet["F3"].value.startswith("ý kiến")
    raw = reports.export_audit_trail(c, auditor, approvals, "csv").content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(raw)))[1][2] == "Duyệt phát"
    [entry] = c.audit.entries(action="report_exported", limit=1)
    assert entry.actor == "kiemtra" and entry.details["format"] == "csv" and "report_exported" in ACTIONS


def test_charts_are_svg_text_with_vietnamese_labels_and_escaped_names():
    weeks = ["Tuần 01/12", "Tuần 08/12"]
    svg = charts.airtime_by_week(weeks, [charts.Series("Thôn <Đông>", (600.0, 1200.0)), charts.Series("Thôn Tây", (0.0, 90.0))])
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "Thôn &lt;Đông&gt;" in svg and "<Đông>" not in svg
    assert svg.count("<rect") >= 4 and "20 phút" in svg and "phút" in svg
    trend = charts.compliance_over_time([("01/12", 10, 10), ("02/12", 10, 7), ("03/12", 0, 0)])
    assert "<polyline" in trend and "70%" in trend and trend.count("<circle") == 2
    start = datetime(2026, 12, 1, tzinfo=to_local(utcnow()).tzinfo)
    lane = charts.Lane("Cụm loa 1", ((start + timedelta(hours=5), start + timedelta(hours=8)),))
    line = charts.outage_timeline([lane], start, start + timedelta(days=2), [(start, "01/12")])
    assert 'class="outage"' in line and "3 giờ 00 phút" in line
    assert "Chưa có" in charts.compliance_over_time([]) and date(2026, 12, 1)


def test_an_emergency_a_cluster_refused_as_expired_is_refused_not_missed(ctl):
    c = ctl
    for d in ("loa-a", "loa-b"):
        state(c, d, True)
    sent = c.emergencies.trigger(["thon-a", "thon-b"], "Chủ tịch Xã", text="Khẩn cấp. Nước lũ đang lên.", reason="lũ")
    at = utcnow()
    c.ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e", events=(  # what the agent logs on a late command
        PlaybackEvent(seq=1, kind="security", recorded_at=at + timedelta(seconds=30),
                      reason="rejected on cmd: command #3 expired"),)))
    later = at + timedelta(minutes=30)
    occ = logbook.occurrences(c.db, c.guardrails.policy(), ["loa-a", "loa-b"], at - timedelta(hours=1), later, now=later)
    assert {o.device_id: (o.broadcast_id, o.cause) for o in occ} == {
        "loa-a": (sent.broadcast_id, "refused"), "loa-b": (sent.broadcast_id, "missed")}
