"""The web UI in real headless Chromium against a real controller, broker and simulated agents."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from support.harness import DOCUMENTS, SPEECH_ONLY_AUDIO, wait_for
from support.browser import DESKTOP, PHONE, wait_js
from support.web_commune import PASSWORD, local_now, setup_commune

pytestmark = pytest.mark.browser

DOCUMENT_FILE = DOCUMENTS / "an-phu-cv-phong-sot-xuat-huyet.txt"
TITLE = "Lịch tiêm phòng tháng 12"
MAIN_PAGES = ("/", "/compose", "/approvals", "/emergency", "/calendar", "/devices", "/devices/loa-1", "/audit",
              "/audit/compliance", "/audit/logbook", "/admin")


def visible_error(page, field: str) -> str:
    loc = page.locator(f'[data-error-for="{field}"]').first
    wait_for(lambda: loc.inner_text().strip(), timeout=20, what=f"an error next to {field}")
    return loc.inner_text()


def test_compose_approve_play_audit_and_export(system, sessions):
    commune = setup_commune(system, agents=("loa-1", "loa-2"), audio_toml=SPEECH_ONLY_AUDIO)
    ctl = commune.ctl

    editor = sessions(ctl.url, "canbo", PASSWORD)
    page = editor.page
    editor.go("/compose")
    assert page.locator("#targets input[value='xa-b']").count() == 0, "commune B must not be offered"
    page.set_input_files("#file", str(DOCUMENT_FILE))
    page.click("#btn-prepare")
    page.wait_for_selector("#step-script:not([hidden])")
    assert "An Phú, ngày" in page.inner_text("#removed"), "the letterhead date is shown as removed"
    assert "phòng, chống dịch sốt xuất huyết" in page.input_value("#script").lower()
    assert page.input_value("#title")
    editor.shot("compose-cleaned")
    page.fill("#title", TITLE)
    page.fill("#script", "Thông báo. Xã tổ chức tiêm phòng vào sáng thứ 5, ngày 3/12.")
    page.click("#btn-reread")
    wait_for(lambda: "ba tháng mười hai" in page.inner_text("#reading") or "tháng mười hai" in page.inner_text("#reading"),
             what="the reading follows the edited script")
    page.click("#btn-render")
    page.wait_for_selector("#player:not([hidden])")
    assert page.is_visible("#voice-warning"), "the offline voice is announced"

    start = local_now() + timedelta(seconds=30)  # the submission and its approval take seconds; the page tour may overrun it
    page.check("#targets input[value='xa']")
    page.fill("#start_date", start.date().isoformat())
    page.fill("#slot_times", f"{start:%H:%M:%S}")
    page.click("#btn-submit")
    answered = wait_js(page, """() => !document.querySelector('#done').hidden ? 'done'
        : [...document.querySelectorAll('.field-error, .flash.error, #override-box:not([hidden])')]
            .map(e => e.innerText.trim()).filter(Boolean).join(' | ')""", timeout=30, what="the submission answered")
    assert answered == "done", f"the submission was refused: {answered}"
    bc_id = re.search(r"mã (bc-[0-9a-f]+)", page.inner_text("#done-text")).group(1)
    assert ctl.api.get(f"/api/broadcasts/{bc_id}")["status"] == "pending_approval"

    leader = sessions(ctl.url, "chutich", PASSWORD)
    leader.go("/approvals")
    card = leader.page.locator(f"article#{bc_id}")
    assert "Thông báo. Xã tổ chức tiêm phòng" in card.inner_text()
    leader.shot("approvals")
    card.locator("textarea[name=comment]").fill("Đồng ý phát.")
    card.locator("button.ok").click()
    leader.page.wait_for_selector(f"article#{bc_id}", state="detached")
    assert "Chủ tịch Xã" in leader.page.inner_text("#decided"), "the approver by full name"
    bc = ctl.api.get(f"/api/broadcasts/{bc_id}")
    assert bc["status"] == "approved" and bc["decided_by"] == "chutich"
    leader.go("/")
    upcoming = leader.page.inner_text("#upcoming")
    assert TITLE in upcoming and any(s in upcoming for s in ("Sẵn sàng", "Chưa sẵn sàng", "Mất kết nối"))

    # While the broadcast waits for its time: every main page as the administrator, phone and desktop.
    for viewport in (PHONE, DESKTOP):
        admin = sessions(ctl.url, "test-admin", ctl.admin_password, viewport)
        for path in MAIN_PAGES:
            response = admin.go(path)
            assert response.status == 200, path
            admin.shot(path.strip("/").replace("/", "-") or "dashboard")
            assert admin.overflow() <= 0, f"{path} overflows at {viewport['width']} px"
        assert not admin.errors

    for agent in commune.agents:
        plays = wait_for(agent.plays, timeout=60, what=f"{agent.device_id} to play")
        assert plays[0]["actual_start"] == pytest.approx(start.timestamp(), abs=1.0)
    wait_for(lambda: len(ctl.api.get(f"/api/playback?broadcast={bc_id}&kind=finished")) == 2, timeout=40,
             what="finished events stored")

    auditor = sessions(ctl.url, "kiemtra", PASSWORD)
    auditor.go("/audit?status=finished")
    log = auditor.page.inner_text("#playback-log")
    assert log.count("Phát xong") == 2 and "Cụm loa loa-1" in log
    auditor.go("/audit/logbook?unit=xa")
    book = auditor.page.inner_text("#logbook")
    assert TITLE in book and "Đã phát" in book and "chutich" in book
    with auditor.page.expect_download() as dl:
        auditor.page.click("#export-csv")
    rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read())))
    assert rows[0][0] == "Ngày"
    played = [r for r in rows[1:] if r[8] == "Đã phát"]
    assert {r[7] for r in played} == {"Cụm loa loa-1 (loa-1)", "Cụm loa loa-2 (loa-2)"}
    assert all(r[4] == TITLE and r[9] == "chutich" for r in played)
    with auditor.page.expect_download() as dl:
        auditor.page.click("#export-xlsx")
    sheet = load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert sum(1 for v in values if v[8] == "Đã phát") == 2
    auditor.go("/audit/compliance?unit=xa")
    assert "100%" in auditor.page.inner_text("#compliance")
    assert auditor.page.locator(".chart svg rect").count() >= 2

    assert not editor.errors and not leader.errors and not auditor.errors


def test_emergency_preempts_and_shows_delivery_per_device(system, sessions):
    commune = setup_commune(system, agents=("loa-1", "loa-2"))
    ctl = commune.ctl
    long_text = " ".join(["Thông báo về lịch tiêm phòng cho trẻ em dưới năm tuổi tại trạm y tế xã."] * 4)
    bulletin = ctl.api.post("/api/bulletins", {"title": "Tiêm phòng", "text": long_text})
    start = local_now() + timedelta(seconds=10)
    bc = ctl.api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": start.isoformat(), "targets": ["xa"]})

    leader = sessions(ctl.url, "chutich", PASSWORD)
    page = leader.page
    approved = page.evaluate("id => loaxa.api('POST', '/api/broadcasts/' + id + '/approve', {comment: ''})", bc["id"])
    assert approved["status"] == "approved"
    wait_for(lambda: len(ctl.api.get(f"/api/playback?broadcast={bc['id']}&kind=started")) == 2, timeout=40,
             what="the normal broadcast playing on both devices")

    leader.go("/emergency")
    page.fill("#em-title", "Cảnh báo lũ")
    page.fill("#em-text", "Khẩn cấp. Nước sông đang lên nhanh, bà con di chuyển lên chỗ cao.")
    page.fill("#em-reason", "mưa lớn thượng nguồn")
    page.check("#em-targets input[value='xa']")
    page.click("#btn-review")
    assert "NGAY" in page.inner_text("#confirm-text")
    page.click("#btn-fire")
    page.wait_for_selector("#live:not([hidden])")
    for device in ("loa-1", "loa-2"):
        page.wait_for_selector(f"#live-table tr[data-device='{device}'][data-stage='finished']", timeout=40_000)
    leader.shot("emergency-live")
    interrupted = ctl.api.get(f"/api/playback?broadcast={bc['id']}&kind=interrupted")
    assert {r["device_id"] for r in interrupted} == {"loa-1", "loa-2"}

    # The kill switch on the same page: confirm, engaged, then lifted.
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator("#kill-switches tr", has_text="Thôn thon-a")
    row.locator("button.danger").click()
    page.wait_for_selector("#kill-switches tr:has-text('Thôn thon-a') .badge.bad")
    assert [k["unit_id"] for k in ctl.api.get("/api/kill-switches")] == ["thon-a"]
    page.locator("#kill-switches tr", has_text="Thôn thon-a").locator("button.secondary").click()
    page.wait_for_selector("#kill-switches tr:has-text('Thôn thon-a') .badge.ok")
    assert ctl.api.get("/api/kill-switches") == []
    assert not leader.errors
