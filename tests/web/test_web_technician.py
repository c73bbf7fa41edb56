"""The technician's pages, and no machine word left on any page, in real Chromium against real agents.

Adding a pole shows its one-time code; a pole that never connected says so; a new code and
revocation work from the device page; a whole village's volume is one audited change under
the editor's floor; the device list reads on a 390 px phone; the device page keeps a history.
Then every page and the logbook export, as the administrator of a world with events
(a routine replay refused by an agent among them), are scanned for untranslated machine codes.
"""

from __future__ import annotations

import re

import pytest
import requests

from loaxa import protocol
from support.browser import PHONE
from support.harness import Listener, wait_for
from support.web_commune import PASSWORD, setup_commune, sign_in

pytestmark = pytest.mark.browser

CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")
PAGES = ("/", "/compose", "/approvals", "/emergency", "/calendar", "/devices", "/devices/loa-1", "/audit",
         "/audit/compliance", "/audit/logbook", "/admin", "/alerts", "/fleet", "/fleet/devices/loa-1", "/dictionary")
# Machine words that must never reach a person: snake_case codes, and English words devices and the
# protocol use in their reasons.
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
ENGLISH = re.compile(r"\b(?:items?|rejected|replayed|expired|missed|skipped|failed|finished|started|delivered|"
                     r"interrupted|offline|online|playing|signature|payload|command|error|unknown)\b", re.I)


def _audit_actions(ctl, action: str) -> list[dict]:
    with ctl.db() as conn:
        conn.row_factory = __import__("sqlite3").Row
        return [dict(r) for r in conn.execute("SELECT * FROM audit_log WHERE action = ?", [action])]


def _machine_words(text: str) -> list[str]:
    return sorted(set(SNAKE.findall(text)) | {m.lower() for m in ENGLISH.findall(text)})


def test_technician_pages_and_no_untranslated_machine_words(system, sessions):
    commune = setup_commune(system, agents=("loa-1",))
    ctl = commune.ctl
    admin = sessions(ctl.url, "test-admin", ctl.admin_password)
    page = admin.page
    page.on("dialog", lambda d: d.accept())

    # Adding a pole in the UI shows its one-time enrollment code.
    admin.go("/admin")
    page.fill("#d-name", "Cụm loa chợ Đông")
    page.select_option("#d-unit", "thon-a")
    page.click("#add-device-enroll button[type=submit]")
    page.wait_for_selector("#enrollment:not([hidden])")
    first = page.inner_text("#enrollment [data-field='code']").strip()
    assert CODE.match(first), first
    qr = page.locator("#enrollment [data-field='qr_svg'] svg").count()
    assert qr == 1 or page.is_visible("#enrollment [data-field='qr_missing']")
    admin.shot("admin-enrollment-code")
    page.click("#new-device-link")
    page.wait_for_url(re.compile(r".*/devices/cum-loa-cho-dong$"))

    # Never connected: it says so, and shows no relay or volume it never reported.
    assert page.is_visible("#never-connected")
    facts = page.inner_text("#facts")
    assert "Rơ-le" not in facts and "Âm lượng" not in facts
    assert "Chưa từng kết nối" in page.inner_text("#device-status")
    page.click("#btn-new-code")
    wait_for(lambda: page.inner_text("#enrollment [data-field='code']").strip() not in ("", first),
             what="a new code on the device page")
    second = page.inner_text("#enrollment [data-field='code']").strip()
    assert CODE.match(second)
    key = protocol.public_key_to_text(protocol.Signer.generate().public_key)
    assert requests.post(ctl.url + "/api/enroll", json={"code": first, "device_public_key": key}, timeout=30).status_code == 403
    assert requests.post(ctl.url + "/api/enroll", json={"code": second, "device_public_key": key}, timeout=30).status_code == 200
    with page.expect_navigation():
        page.click("#revoke-form button[type=submit]")
    wait_for(lambda: _audit_actions(ctl, "device_revoked"), what="the revocation audited")
    assert _audit_actions(ctl, "enrollment_code_issued")

    # A whole village at once, audited as one change; an editor keeps to the floor.
    admin.go("/devices")
    page.select_option("#uv-unit", "thon-a")
    page.fill("#uv-volume", "60")
    with page.expect_navigation():
        page.click("#unit-volume-form button[type=submit]")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["state"].get("volume") == 60, timeout=30,
             what="loa-1 reports volume 60")
    entry = wait_for(lambda: _audit_actions(ctl, "unit_volume"), what="the unit volume audited")[0]
    assert entry["target"] == "thon-a" and '"after": 60' in entry["details"]
    editor = sign_in(ctl.url, "canbo", PASSWORD)
    low = editor.post(ctl.url + "/api/units/thon-a/volume", json={"volume": 10}, timeout=30)
    assert low.status_code == 403 and "Biên tập viên" in low.json()["error"]

    # A routine replay the agent refuses: what a reconnection causes, not a security warning.
    listener = Listener(system.broker, protocol.cmd_topic("loa-1"), client_id="replayer")
    page.goto(ctl.url + "/devices/loa-1")
    page.fill("#volume", "70")
    with page.expect_navigation():
        page.click("#volume-form button[type=submit]")
    sent = wait_for(lambda: listener.on(protocol.cmd_topic("loa-1")), what="the volume command on the wire")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["state"].get("volume") == 70, timeout=30, what="volume 70")
    listener.publish(protocol.cmd_topic("loa-1"), sent[-1])
    wait_for(lambda: ctl.api.get("/api/playback?device=loa-1&kind=security"), timeout=30, what="the refusal reported")
    listener.close()
    admin.go("/devices/loa-1")
    events = page.inner_text("#device-events")
    assert "Bỏ qua tin cũ" in events and "Cảnh báo an ninh" not in events
    assert "Trực tuyến" in page.inner_text("#periods")

    # The device list on a phone: one card per pole, every column kept and labelled.
    phone = sessions(ctl.url, "test-admin", ctl.admin_password, PHONE)
    phone.go("/devices")
    assert phone.overflow() <= 0
    assert phone.page.is_hidden("#devices thead")
    for label in ("Cụm loa", "Đơn vị", "Tình trạng", "Lần cuối", "Đang phát"):
        assert phone.page.is_visible(f"tr[data-device='loa-1'] td[data-label='{label}']"), label
    phone.shot("devices-cards")

    # Every page and the logbook export: no machine word reaches a person.
    found: dict[str, list[str]] = {}
    for path in PAGES:
        assert admin.go(path).status == 200, path
        words = _machine_words(page.inner_text("body"))
        if words:
            found[path] = words
    admin.go("/audit/logbook?unit=xa")
    with page.expect_download() as dl:
        page.click("#export-csv")
    words = _machine_words(open(dl.value.path(), encoding="utf-8-sig").read())
    if words:
        found["logbook.csv"] = words
    assert found == {}
    assert not admin.errors and not phone.errors
