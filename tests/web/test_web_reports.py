"""The audit reports and the compose uploads, in process: a real controller (not started), real SQLite, ffmpeg."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import timedelta
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook

from controller.config import ControllerConfig
from controller.service import Controller
from loaxa.local_time import LOCAL_TZ
from loaxa.config import load_config
from loaxa.protocol import EventBatch, PlaybackEvent
from loaxa.wire_time import format_time, utcnow
from controller.reports import logbook as reports
from schedules.programme import occurrence_key
from web.app import create_app

PASSWORD = "mat-khau-bao-cao"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Commune A (loa-a) and B (loa-b) under one province, an editor and an approver of the province."""
    data = tmp_path_factory.mktemp("reports")
    c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": str(data), "LOAXA_AUDIO_ENGINE": "espeak",
                                                      "LOAXA_MQTT_PORT": "9", "LOAXA_SCHEDULES_QUIET_START": "00:00",
                                                      "LOAXA_SCHEDULES_QUIET_END": "00:00"}))
    c.registry.add_unit("tinh", "Tỉnh Thử", None, "province")
    for x in ("a", "b"):
        c.registry.add_unit(f"xa-{x}", f"Xã {x.upper()}", "tinh", "commune")
        c.registry.add_device(f"loa-{x}", f"Cụm loa {x.upper()}", f"xa-{x}")
    tokens = {}
    for name, role in (("canbo", "editor"), ("chutich", "approver")):
        c.users.add(name, PASSWORD, role, "tinh")
        tokens[name] = c.users.create_token(name)
    app = create_app(c, {"TESTING": True})
    c.jobs.start()  # the scheduler runs as in production; MQTT stays off (commands are signed, then dropped)
    yield c, app, tokens
    c.jobs.shutdown()
    c.stop()


def call(world, who: str, method: str, path: str, headers: dict | None = None, **kw):
    _, app, tokens = world
    return app.test_client().open(path, method=method, headers={"Authorization": f"Bearer {tokens[who]}", **(headers or {})},
                                  **kw)


def count(c: Controller, table: str) -> int:
    with c.db.tx() as db:
        return db[table].count


def test_docx_upload_is_cleaned_like_pasted_text(world, tmp_path):
    document = docx.Document()
    for line in ("ỦY BAN NHÂN DÂN XÃ A", "Số: 12/TB-UBND", "THÔNG BÁO", "Về lịch tiêm phòng",
                 "Trạm y tế xã tiêm phòng cho trẻ em vào sáng thứ Năm.", "Nơi nhận:", "- Các thôn;"):
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    r = call(world, "canbo", "POST", "/api/compose/prepare",
             data={"file": (io.BytesIO(buf.getvalue()), "thong-bao.docx")}, content_type="multipart/form-data")
    assert r.status_code == 200, r.json
    assert "tiêm phòng cho trẻ em" in r.json["script"]
    assert any("Nơi nhận" in x["text"] for x in r.json["removed"])
    assert "Trạm y tế" in r.json["normalized"]
    broken = call(world, "canbo", "POST", "/api/compose/prepare",
                  data={"file": (io.BytesIO(b"PK not a zip"), "hong.docx")}, content_type="multipart/form-data")
    assert broken.status_code == 400 and "docx" in broken.json["error"]


def test_recorded_announcement_is_transcoded_and_bad_audio_stores_nothing(world, tmp_path):
    c = world[0]
    wav = tmp_path / "ghi-am.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    str(wav)], check=True)
    before = count(c, "bulletins")
    bad = call(world, "canbo", "POST", "/api/compose/recording",
               data={"file": (io.BytesIO(b"RIFF....WAVEnot really"), "hong.wav")}, content_type="multipart/form-data")
    assert bad.status_code == 400 and "không phải âm thanh" in bad.json["error"]
    wrong = call(world, "canbo", "POST", "/api/compose/recording",
                 data={"file": (io.BytesIO(b"x"), "tai-lieu.pdf")}, content_type="multipart/form-data")
    assert wrong.status_code == 400 and wrong.json["field"] == "audio"
    assert count(c, "bulletins") == before
    ok = call(world, "canbo", "POST", "/api/compose/recording",
              data={"file": (wav.open("rb"), "ghi-am.wav"), "title": "Lời kêu gọi", "progress_id": "ghi-am-0001"},
              content_type="multipart/form-data")
    assert ok.status_code == 201, ok.json
    step = call(world, "canbo", "GET", "/api/render-progress/ghi-am-0001").json
    assert (step["stage"], step["engine"], step["fraction"]) == ("done", "upload", 1.0)
    media = ok.json["media"]
    assert media["engine"] == "upload" and media["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert (c.config.media_dir / f"{media['sha256']}.ogg").is_file()
    heard = call(world, "chutich", "GET", f"/ui/media/{media['sha256']}.ogg", headers={"Range": "bytes=0-99"})
    assert heard.status_code in (200, 206)


def _event(seq: int, kind: str, bc_id: str, planned, sha: str) -> PlaybackEvent:
    return PlaybackEvent(seq=seq, kind=kind, recorded_at=planned, item_id=occurrence_key(bc_id, planned, 0),
                         broadcast_id=bc_id, sha256=sha,
                         planned_at=planned, actual_start=planned, duration_s=3.0 if kind == "finished" else None)


def test_compliance_missed_and_logbook_exports(world):
    c = world[0]
    bulletin = c.add_bulletin("Họp dân", "Chiều nay họp dân tại nhà văn hóa.", created_by="canbo")
    start = (utcnow() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    bc = c.schedule_broadcast(bulletin.id, format_time(start), ["tinh"], created_by="canbo")
    c.approve_broadcast(bc.id, "chutich", "Đồng ý")
    sha = bulletin.media.sha256
    c.ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e1", events=(
        _event(1, "started", bc.id, start, sha), _event(2, "finished", bc.id, start, sha))))

    later = start + timedelta(hours=1)
    occ = reports.occurrences(c.db, c.guardrails.policy(), ["loa-a", "loa-b"], start - timedelta(hours=1), later, now=later)
    assert {(o.device_id, o.status) for o in occ} == {("loa-a", "finished"), ("loa-b", "missed")}
    assert all(o.approved_by == "chutich" for o in occ)
    early = reports.occurrences(c.db, c.guardrails.policy(), ["loa-b"], start - timedelta(hours=1), later, now=start - timedelta(minutes=5))
    assert [o.status for o in early] == ["upcoming"]

    table = reports.compliance(occ, {"xa-a": "Xã A", "xa-b": "Xã B"}, {"xa-a": "xa-a", "xa-b": "xa-b"})
    assert [(t.unit_name, t.planned, t.played, t.missed, t.offline, t.rate) for t in table] == [
        ("Xã A", 1, 1, 0, 0, 1.0), ("Xã B", 1, 0, 0, 1, 0.0)]  # loa-b never connected: offline, not "missed"
    svg = reports.compliance_svg(table)
    assert svg.startswith("<svg") and "Xã B" in svg and "100%" in svg and "0%" in svg

    rows = reports.logbook_rows(occ)
    local = start.astimezone(LOCAL_TZ)
    assert rows[0].date == f"{local:%d/%m/%Y}" and rows[0].planned == f"{local:%H:%M}"
    assert {r.status for r in rows} == {"Đã phát", "Không phát"}
    raw = reports.logbook_csv(rows)
    assert raw.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert parsed[0][:3] == ["Ngày", "Giờ dự kiến", "Giờ phát thực tế"] and len(parsed) == 3
    sheet = load_workbook(io.BytesIO(reports.logbook_xlsx(rows, "Sổ nhật ký"))).active
    assert sheet["A1"].value == "Sổ nhật ký" and sheet.auto_filter.ref == "A2:N4"  # then the signature block
    assert reports.offline_clusters(c.registry.devices(), {"xa-a": "Xã A", "xa-b": "Xã B"})[0].offline == 1


def test_recurring_schedule_from_the_form_fills_the_calendar(world):
    c = world[0]
    bulletin = c.add_bulletin("Lịch thu gom rác", "Sáng mai thu gom rác thải tại các thôn.", created_by="canbo")
    first = (utcnow().astimezone(LOCAL_TZ) + timedelta(days=1)).date()
    form = {"bulletin_id": bulletin.id, "targets": ["xa-a"], "recurrence": "daily", "start_date": first.isoformat(),
            "end_date": (first + timedelta(days=2)).isoformat(), "slot_times": "06:30, 17:15", "repeats": "2"}
    r = call(world, "canbo", "POST", "/api/compose/submit", json=form)
    assert r.status_code == 201, r.json
    assert r.json["status"] == "pending_approval" and r.json["rule"]["slot_times"] == ["06:30", "17:15"]
    assert r.json["rule"]["repeats"] == 2
    week = call(world, "chutich", "GET", f"/api/calendar?unit=xa-a&week={first.isoformat()}").json
    entries = [(d["iso"], e["time"]) for d in week["days"] for e in d["entries"] if e["id"] == r.json["id"]]
    in_week = [first + timedelta(days=i) for i in range(3) if (first + timedelta(days=i)).isocalendar()[1] == first.isocalendar()[1]]
    assert entries == [(d.isoformat(), t) for d in in_week for t in ("06:30", "17:15")]
    assert all(e["status"] == "pending_approval" for d in week["days"] for e in d["entries"] if e["id"] == r.json["id"])
    queue = call(world, "chutich", "GET", "/api/approvals").json
    assert r.json["id"] in [b["id"] for b in queue]
    seconds = call(world, "canbo", "POST", "/api/compose/submit", json={**form, "slot_times": "06:30:15"})
    assert seconds.status_code == 400 and seconds.json["field"] == "slot_times"


def test_device_controls_validate_and_send_signed_commands(world):
    c = world[0]
    assert call(world, "canbo", "POST", "/api/devices/loa-a/volume", json={"volume": 150}).status_code == 400
    assert call(world, "canbo", "POST", "/api/devices/loa-a/volume", json={"volume": True}).status_code == 400
    assert call(world, "canbo", "POST", "/api/devices/khong-co/volume", json={"volume": 50}).status_code == 404
    before = c.db.next_counter("command_seq")
    sent = call(world, "canbo", "POST", "/api/devices/loa-a/volume", json={"volume": 55})
    assert sent.status_code == 200 and sent.json["command_seq"] == before + 1
    tone = call(world, "canbo", "POST", "/api/devices/loa-a/test-tone")
    again = call(world, "canbo", "POST", "/api/devices/loa-a/test-tone")
    assert tone.status_code == again.status_code == 200 and again.json["command_seq"] == tone.json["command_seq"] + 1
    with c.db.tx() as db:
        assert db["media"].count_where("engine = 'test_tone'") == 1
