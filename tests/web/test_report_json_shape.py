"""The JSON of /api/audit/compliance and /api/audit/logbook is a stable interface: its shape is pinned here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controller.reports import logbook, results
from loaxa.local_time import to_local
from loaxa.protocol import DeviceState, EventBatch, PlaybackEvent
from loaxa.wire_time import format_time, utcnow
from schedules.programme import occurrence_key
from support.world import make_world

COMPLIANCE_ROW = {"unit_id": "str", "unit_name": "str", "planned": "int", "played": "int", "missed": "int",
                  "other": "int", "preempted": "int", "offline": "int", "kill_switch": "int", "refused": "int",
                  "failed": "int", "rate": "float"}
OCCURRENCE = {"broadcast_id": "str", "device_id": "str", "planned_at": "str", "title": "str", "priority": "str",
              "unit_id": "str", "unit_name": "str", "device_name": "str", "approved_by": "str", "status": "str",
              "actual_start": "str", "duration_s": "NoneType", "reason": "str", "cause": "str", "repeat": "int",
              "alert_id": "str", "delay_s": "NoneType"}
COMPLIANCE = {
    "from": "str", "to": "str", "unit": "str",
    "offline": [{"unit_id": "str", "unit_name": "str", "offline": "int", "total": "int",
                 "devices": [{"id": "str", "name": "str", "last_seen": "str"}]}],
    "offline_clusters": "int", "offline_units": "int",
    "airtime": {"weeks": ["str"], "units": [{"unit_name": "str", "seconds": ["float"]}]},
    "compliance": [COMPLIANCE_ROW], "missed": [OCCURRENCE], "not_aired": [OCCURRENCE], "repeats": [],
    "by_day": [{"day": "str", "planned": "int", "played": "int"}],
}
LOGBOOK_ROW = {"date": "str", "planned": "str", "actual": "str", "duration": "float", "title": "str",
               "priority": "str", "unit": "str", "device": "str", "status": "str", "approved_by": "str",
               "note": "str", "cause": "str", "delay": "float", "repeat": "str", "planned_at": "str",
               "actual_start": "str"}
LOGBOOK = {"week": "str", "unit": "str", "heading": "str", "rows": [LOGBOOK_ROW]}


def shape(value: Any) -> Any:
    """Keys and value types, the first element standing for a list's."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture
def world(tmp_path, monkeypatch):
    w = make_world(tmp_path, schedules_quiet_start="00:00", schedules_quiet_end="00:00")
    c = w.controller
    c.ingest.on_state("loa-a", DeviceState(device_id="loa-a", online=True))
    bulletin = c.add_bulletin("Lịch tiêm phòng", "Sáng thứ Năm trạm y tế tiêm phòng.", created_by="editor-a")
    start = (utcnow() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    if to_local(start + timedelta(minutes=10)).date() != to_local(start).date():
        start += timedelta(minutes=30)  # both plays on one local day, whatever the hour the test runs
    played = c.schedule_broadcast(bulletin.id, format_time(start), ["xa-a"], created_by="editor-a")
    missed = c.schedule_broadcast(bulletin.id, format_time(start + timedelta(minutes=10)), ["xa-a"],
                                  created_by="editor-a")
    for bc in (played, missed):
        c.approve_broadcast(bc.id, "approver-a", "Đồng ý")
    item = occurrence_key(played.id, start, 0)
    c.ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e", events=(
        PlaybackEvent(seq=1, kind="finished", recorded_at=start, item_id=item, broadcast_id=played.id,
                      planned_at=start, actual_start=start + timedelta(seconds=2), duration_s=40.0),)))
    c.ingest.on_state("loa-a", DeviceState(device_id="loa-a", online=False))
    monkeypatch.setattr(logbook, "utcnow", lambda: start + timedelta(hours=1))  # the plays are in the past
    yield w, to_local(start).date().isoformat()
    c.stop()


def test_compliance_json_keeps_its_shape(world):
    w, day = world
    body = w.call("auditor", "GET", f"/api/audit/compliance?from={day}&to={day}&unit=xa-a").get_json()
    assert shape(body) == COMPLIANCE, shape(body)
    [row] = body["compliance"]
    assert (row["unit_id"], row["planned"], row["played"], row["offline"], row["rate"]) == ("thon-a", 2, 1, 1, 0.5)
    assert [o["status"] for o in body["missed"]] == ["missed"] and body["offline"][0]["devices"][0]["id"] == "loa-a"
    assert body["by_day"] == [{"day": day, "planned": 2, "played": 1}]
    assert (body["offline_clusters"], body["offline_units"]) == (1, 1)


def test_the_offline_list_is_a_first_page_with_the_counts_of_all(world, monkeypatch):
    w, day = world
    monkeypatch.setattr(results, "OFFLINE_PAGE", 0)  # a province's thousands of units, in small
    body = w.call("auditor", "GET", f"/api/audit/compliance?from={day}&to={day}&unit=xa-a").get_json()
    assert body["offline"] == [] and (body["offline_clusters"], body["offline_units"]) == (1, 1)
    page = w.call("auditor", "GET", f"/audit/compliance?from={day}&to={day}&unit=xa-a").get_data(as_text=True)
    assert 'id="offline-more"' in page and "1 cụm loa mất kết nối ở 1 đơn vị" in page
    every = w.call("auditor", "GET", f"/api/audit/compliance?from={day}&to={day}&unit=xa-a&offline=all").get_json()
    assert [d["id"] for g in every["offline"] for d in g["devices"]] == ["loa-a"]


def test_logbook_json_keeps_its_shape(world):
    w, day = world
    body = w.call("auditor", "GET", f"/api/audit/logbook?week={day}&unit=xa-a").get_json()
    first = body["rows"][0]
    assert shape({**body, "rows": [first]}) == LOGBOOK, shape(body)
    assert [r["status"] for r in body["rows"]] == ["Đã phát", "Không phát"]
    assert first["delay"] == 2.0 and first["repeat"] == "" and body["unit"] == "xa-a"


def test_the_logbook_spreadsheet_is_streamed_and_holds_the_json_rows(world):
    import io

    from openpyxl import load_workbook

    w, day = world
    r = w.call("auditor", "GET", f"/api/audit/logbook?week={day}&unit=xa-a&format=xlsx")
    assert r.status_code == 200 and r.is_streamed and r.mimetype.endswith("spreadsheetml.sheet")
    assert r.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    body = w.call("auditor", "GET", f"/api/audit/logbook?week={day}&unit=xa-a").get_json()
    assert [sheet.cell(row=n + 3, column=9).value for n in range(len(body["rows"]))] == [
        row["status"] for row in body["rows"]]
    assert sheet["A1"].value == body["heading"] and sheet.auto_filter.ref == f"A2:N{len(body['rows']) + 2}"
