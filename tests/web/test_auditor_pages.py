"""The auditor's pages in real headless Chromium against a real controller, broker and agents, over HTTP.

One cluster plays a broadcast, the other is stopped before it is due: the audit trail shows
who approved and who changed a volume, compliance names the cause of the missing play, the
outage history and its timeline show the stopped cluster, and every export opens in openpyxl
with typed cells.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from support.browser import DESKTOP, PHONE
from support.harness import SPEECH_ONLY_AUDIO, wait_for
from support.web_commune import PASSWORD, local_now, setup_commune, sign_in

pytestmark = pytest.mark.browser

AUDIT_PAGES = ("/audit/trail", "/audit/outages", "/audit/compliance?unit=xa", "/audit?unit=xa")
MISSED_AFTER_S = 5  # the reports' "missed" rule, shortened from the production minute


def test_auditor_reads_the_trail_causes_outages_and_charts_and_exports_them(system, sessions):
    commune = setup_commune(system, agents=("loa-1", "loa-2"), extra_toml=f"[plans]\nmissed_after_s = {MISSED_AFTER_S}\n",
                            audio_toml=SPEECH_ONLY_AUDIO)
    ctl, api = commune.ctl, commune.ctl.api
    assert api.post("/api/devices/loa-1/volume", {"volume": 65})["command_seq"] > 0
    commune.agents[1].stop()  # down before the broadcast is even planned: no race with its start
    wait_for(lambda: not next(d for d in api.get("/api/devices") if d["id"] == "loa-2")["online"], timeout=30,
             what="loa-2 offline")
    bulletin = api.post("/api/bulletins", {"title": "Lịch thu thuế", "text": "Chiều nay thu thuế tại nhà văn hóa."})
    start = (local_now() + timedelta(seconds=12)).replace(microsecond=0)  # the media is made: approval and plans remain
    bc = api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "targets": ["xa"], "starts_at": start.isoformat()})
    leader = sign_in(ctl.url, "chutich")
    approved = leader.post(ctl.url + f"/api/broadcasts/{bc['id']}/approve", json={"comment": "Đồng ý"}, timeout=30)
    assert approved.status_code == 200, approved.text
    wait_for(lambda: next(d for d in api.get("/api/devices") if d["id"] == "loa-1")["plan_version_applied"] > 0,
             timeout=30, what="loa-1 applied its plan")
    wait_for(lambda: api.get(f"/api/playback?broadcast={bc['id']}&kind=finished"), timeout=90,
             what="loa-1 finished the broadcast")
    wait_for(lambda: local_now() > start + timedelta(seconds=MISSED_AFTER_S + 1), timeout=120,
             what="the play to be overdue on loa-2")

    auditor = sessions(ctl.url, "kiemtra", PASSWORD)
    page = auditor.page
    auditor.go("/audit/trail?action=approval")
    trail = page.inner_text("#audit-trail")
    assert "Duyệt phát" in trail and "Chủ tịch Xã" in trail and "ý kiến: Đồng ý" in trail
    assert "Đổi âm lượng" not in trail
    page.select_option("#action", "device_volume")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**action=device_volume**")
    assert "loa-1" in page.inner_text("#audit-trail") and "sau: 65" in page.inner_text("#audit-trail")
    auditor.shot("audit-trail")
    with page.expect_download() as dl:
        page.click("#trail-xlsx")
    sheet = load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    assert sheet.title == "Nhật ký thao tác" and sheet.auto_filter.ref.startswith("A2:G")
    assert isinstance(sheet["A3"].value, datetime) and sheet["C3"].value == "Đổi âm lượng"

    auditor.go("/audit/compliance?unit=xa")
    table = page.inner_text("#compliance")
    assert "Mất kết nối" in table and "Công tắc ngắt" in table and "Không phát (không rõ lý do)" in table
    cells = page.locator("#compliance tbody tr", has_text="Thôn thon-b").locator("td").all_inner_texts()
    assert cells[1:5] == ["1", "0", "0", "1"] and cells[8] == "0" and "0%" in cells[9]  # offline, not "missed"
    cells = page.locator("#compliance tbody tr", has_text="Thôn thon-a").locator("td").all_inner_texts()
    assert cells[1:3] == ["1", "1"] and "100%" in cells[9]
    assert "Mất kết nối" in page.inner_text("#not-aired")
    assert page.locator("#chart-trend svg circle").count() >= 1
    assert page.locator("#chart-airtime svg rect").count() >= 1
    auditor.shot("audit-compliance")

    auditor.go("/audit/outages")
    outages = page.inner_text("#outages")
    assert "Cụm loa loa-2" in outages and "nay" in outages
    assert page.locator("#chart-outages svg rect.outage").count() >= 1
    auditor.shot("audit-outages")
    outages_json = sign_in(ctl.url, "kiemtra").get(ctl.url + "/api/audit/outages", timeout=30).json()
    [gone] = [c for c in outages_json["clusters"] if c["device_id"] == "loa-2"]
    assert gone["periods"][-1]["ongoing"] and gone["offline_s"] > 0

    auditor.go("/audit?unit=xa&status=finished")
    with page.expect_download() as dl:
        page.click("#playback-xlsx")
    sheet = load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    assert sheet.title == "Nhật ký phát"
    header = [c.value for c in sheet[2]]
    assert "Độ trễ (giây)" in header
    [played] = [r for r in sheet.iter_rows(min_row=3, values_only=True) if r[4] == "Phát xong"]
    assert isinstance(played[0], datetime) and isinstance(played[6], datetime)
    assert played[7] == pytest.approx(0.0, abs=2.0)
    with page.expect_download() as dl:
        page.click("#playback-csv")
    rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read())))
    assert rows[0][7] == "Độ trễ (giây)" and rows[1][4] == "Phát xong"

    auditor.go("/audit/logbook?unit=xa")
    with page.expect_download() as dl:
        page.click("#export-xlsx")
    book = load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    assert book.title == "Sổ nhật ký chương trình" and book["A3"].is_date and book["B3"].is_date
    causes = {r[11] for r in book.iter_rows(min_row=3, max_row=book.max_row, values_only=True) if r[4] == "Lịch thu thuế"}
    assert causes == {"Đã phát", "Mất kết nối"}
    assert "NGƯỜI LẬP SỔ" in [c.value for row in book.iter_rows(min_row=3) for c in row]

    exports = [e for e in api.get("/api/audit?action=report_exported") if e["actor"] == "kiemtra"]
    assert {e["target"] for e in exports} == {"audit_trail", "playback", "logbook"}

    for viewport in (PHONE, DESKTOP):
        viewer = sessions(ctl.url, "kiemtra", PASSWORD, viewport)
        for path in AUDIT_PAGES:
            assert viewer.go(path).status == 200, path
            assert viewer.overflow() <= 0, f"{path} overflows at {viewport['width']} px"
        assert not viewer.errors
    bad = sign_in(ctl.url, "kiemtra").get(ctl.url + "/api/audit/trail?action=khong-co", timeout=30)
    assert bad.status_code == 400 and "Hành động" in bad.json()["error"]
    assert not auditor.errors
