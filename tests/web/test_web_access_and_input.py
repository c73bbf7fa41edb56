"""Roles, scope and bad input through the UI: each refusal is clear Vietnamese and stores nothing."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest

from support.browser import wait_js
from support.web_commune import PASSWORD, local_now, setup_commune

pytestmark = pytest.mark.browser

API_CALL = "([m, p, b]) => loaxa.api(m, p, b).then(r => ({ok: true, body: r}), e => ({ok: false, status: e.status, error: e.error}))"


def call(page, method: str, path: str, body: dict | None = None) -> dict:
    """Call the JSON API from inside the signed-in page, as the page's own script does."""
    return page.evaluate(API_CALL, [method, path, body])


def error_text(page, field: str) -> str:
    loc = page.locator(f'[data-error-for="{field}"]').first
    loc.wait_for(state="visible")
    return loc.inner_text()


def test_roles_and_scope(system, sessions):
    commune = setup_commune(system)
    api = commune.ctl.api
    bulletin = api.post("/api/bulletins", {"title": "Họp dân", "text": "Chiều nay họp dân tại nhà văn hóa."})
    start = local_now() + timedelta(hours=1)
    bc = api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": start.isoformat(), "targets": ["xa"]})
    assert bc["status"] == "pending_approval"

    editor = sessions(commune.ctl.url, "canbo", PASSWORD)
    assert "Phê duyệt" not in editor.page.inner_text("nav.menu")
    response = editor.go("/approvals")
    assert response.status == 403 and "Không có quyền" in editor.page.inner_text("main")
    refused = call(editor.page, "POST", f"/api/broadcasts/{bc['id']}/approve", {"comment": "tự duyệt"})
    assert refused["status"] == 403 and not refused["ok"]
    assert api.get(f"/api/broadcasts/{bc['id']}")["status"] == "pending_approval"

    # Commune A's editor neither sees nor targets commune B.
    editor.go("/devices")
    devices = editor.page.inner_text("#devices")
    assert "loa-1" in devices and "Cụm loa 3" not in devices
    assert editor.go("/devices/loa-3").status == 404
    editor.go("/compose")
    assert editor.page.locator("#targets input[value='xa-b']").count() == 0
    refused = call(editor.page, "POST", "/api/compose/submit", {
        "bulletin_id": bulletin["id"], "targets": ["xa-b"], "recurrence": "once",
        "start_date": start.date().isoformat(), "slot_times": f"{start:%H:%M}"})
    assert refused["status"] == 403 and "ngoài đơn vị" in refused["error"]
    assert editor.go("/calendar?unit=xa-b").status in (400, 403)
    editor.go(f"/calendar?week={start.date().isoformat()}")
    week = editor.page.inner_text("#week-grid")
    assert "Họp dân" in week and f"{start:%H:%M}" in week and "Chờ duyệt" in week

    other = sessions(commune.ctl.url, "canbo-b", PASSWORD)
    other.go("/")
    assert "Họp dân" not in other.page.inner_text("main")
    other.go("/devices")
    assert "loa-1" not in other.page.inner_text("#devices") and "Cụm loa 3" in other.page.inner_text("#devices")

    auditor = sessions(commune.ctl.url, "kiemtra", PASSWORD)
    assert "Soạn bản tin" not in auditor.page.inner_text("nav.menu")
    assert auditor.go("/compose").status == 403
    assert auditor.go("/audit").status == 200
    refused = call(auditor.page, "POST", "/api/bulletins", {"title": "x", "text": "Nội dung thử."})
    assert refused["status"] == 403
    refused = call(auditor.page, "POST", "/api/compose/submit", {"bulletin_id": bulletin["id"], "targets": ["xa"]})
    assert refused["status"] == 403
    assert call(auditor.page, "DELETE", f"/api/broadcasts/{bc['id']}")["status"] == 403
    assert api.get(f"/api/broadcasts/{bc['id']}")["status"] == "pending_approval"
    assert commune.count("bulletins") == 1


def test_bad_input_is_refused_in_vietnamese_and_stores_nothing(system, sessions, tmp_path):
    commune = setup_commune(system)
    editor = sessions(commune.ctl.url, "canbo", PASSWORD)
    page = editor.page
    editor.go("/compose")

    page.click("#btn-prepare")
    assert "trống" in error_text(page, "text")
    page.fill("#text", "a" * 100_001)
    page.click("#btn-prepare")
    assert "dài quá" in error_text(page, "text")
    page.fill("#text", "")

    pdf = tmp_path / "cong-van.pdf"
    pdf.write_bytes(b"%PDF-1.4 not a bulletin")
    page.set_input_files("#file", str(pdf))
    page.click("#btn-prepare")
    assert "PDF bị hỏng" in error_text(page, "file"), "a PDF is read; a broken one is refused in Vietnamese"
    page.set_input_files("#file", [])

    fake = tmp_path / "thong-bao.mp3"
    fake.write_text("đây không phải âm thanh")
    page.click("details summary")
    page.set_input_files("#audio", str(fake))
    page.click("#btn-recording")
    assert "không phải âm thanh" in error_text(page, "audio")
    editor.shot("compose-errors")
    assert commune.count("bulletins") == 0

    page.fill("#text", "Thông báo. Sáng mai cắt điện từ 7 giờ đến 9 giờ.")
    page.click("#btn-prepare")
    page.wait_for_selector("#step-script:not([hidden])")
    page.click("#btn-render")
    page.wait_for_selector("#player:not([hidden])")
    player_src = page.get_attribute("#player", "src")
    assert page.evaluate("src => fetch(src).then(r => r.status)", player_src) == 200
    page.check("#targets input[value='xa']")

    quiet = commune.quiet_at
    page.fill("#start_date", quiet.date().isoformat())
    page.fill("#slot_times", f"{quiet:%H:%M}")
    page.click("#btn-submit")
    assert "giờ yên tĩnh" in error_text(page, "starts_at")

    yesterday = local_now() - timedelta(days=1)
    page.fill("#start_date", yesterday.date().isoformat())
    page.fill("#slot_times", "06:00")
    page.click("#btn-submit")
    assert "đã qua" in error_text(page, "start_date")

    page.fill("#start_date", local_now().date().isoformat())
    page.fill("#slot_times", "25:61")
    page.click("#btn-submit")
    assert "“25:61”" in error_text(page, "slot_times"), "the error quotes what was typed"
    editor.shot("compose-schedule-refused")
    assert commune.count("broadcasts") == 0

    # A real recording replaces the synthesized voice.
    wav = tmp_path / "loi-keu-goi.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2", str(wav)],
                   check=True)
    page.set_input_files("#audio", str(wav))
    page.click("#btn-recording")
    wait_js(page, "src => document.getElementById('player').getAttribute('src') !== src", arg=player_src)
    assert commune.count("bulletins") == 2 and page.is_hidden("#voice-warning") and page.is_hidden("#btn-render")
    assert not editor.errors
