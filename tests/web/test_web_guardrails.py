"""Guardrails on screen, in real headless Chromium: an administrator edits a unit's quiet hours, and a
refused slot is overridden on the compose page with a recorded reason by a person with the right."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.browser import DESKTOP
from support.harness import wait_for
from support.web_commune import PASSWORD, local_now, setup_commune, sign_in

pytestmark = pytest.mark.browser


def test_admin_edits_quiet_hours_and_a_leader_overrides_a_refused_slot_with_a_reason(system, sessions):
    commune = setup_commune(system)
    ctl = commune.ctl
    start = local_now() + timedelta(hours=2)
    quiet_start, quiet_end = f"{start:%H%M}", f"{start + timedelta(hours=1):%H.%M}"

    admin = sessions(ctl.url, "test-admin", ctl.admin_password, DESKTOP)
    admin.go("/guardrails")
    unit = admin.page.locator("#unit-xa")
    if unit.get_attribute("open") is None:
        unit.locator("summary").click()
    unit.locator("[name=max_programmes_per_day]").fill("ba")
    unit.locator("button[type=submit]").click()
    error = unit.locator('[data-error-for="max_programmes_per_day"]')
    wait_for(lambda: error.inner_text().strip(), what="the cap's error")
    assert "“ba”" in error.inner_text()
    unit.locator("[name=max_programmes_per_day]").fill("")
    unit.locator("[name=quiet_start]").fill(quiet_start)
    unit.locator("[name=quiet_end]").fill(quiet_end)
    with admin.page.expect_navigation():
        unit.locator("button[type=submit]").click()  # saved: the page reloads with the new values
    wait_for(lambda: ctl.api.get("/api/units/xa/guardrails")["own"].get("quiet_start") == f"{start:%H:%M}",
             what="the quiet hours stored")
    view = ctl.api.get("/api/units/thon-a/guardrails")
    assert view["effective"]["quiet_end"] == f"{start + timedelta(hours=1):%H:%M}" and view["set_by"]["quiet_start"] == "xa"
    assert f"{start:%H:%M}" in admin.page.locator("#unit-xa").text_content()
    admin.shot("guardrails")
    with ctl.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'guardrails_changed' AND target = 'xa'"
                            ).fetchone()[0] == 1

    slot = start + timedelta(minutes=15)
    leader = sessions(ctl.url, "chutich", PASSWORD, DESKTOP)
    page = leader.page
    leader.go("/compose")
    page.fill("#title", "Thông báo khẩn về lũ")
    page.fill("#text", "Thông báo. Nước sông đang lên nhanh, bà con chú ý.")
    page.click("#btn-prepare")
    page.wait_for_selector("#step-script:not([hidden])")
    page.click("#btn-render")
    page.wait_for_selector("#player:not([hidden])", timeout=180_000)
    page.check("#targets input[value='xa']")
    page.fill("#start_date", slot.date().isoformat())
    page.fill("#slot_times", f"{slot:%H%M}")
    page.dispatch_event("#slot_times", "change")
    page.wait_for_selector("#schedule-facts:not([hidden])")
    assert page.inner_text("#facts-count").startswith("1 buổi")
    page.click("#btn-submit")
    page.wait_for_selector("#override-form:not([hidden])")
    assert "giờ yên tĩnh" in page.inner_text("#step-schedule"), "the refusal names the rule"
    page.fill("#override_reason", "Lũ lên nhanh, cần báo ngay cho bà con")
    page.click("#btn-override")
    page.wait_for_selector("#done:not([hidden])")
    leader.shot("compose-override")
    bc = [b for b in ctl.api.get("/api/broadcasts") if b["override"]][0]
    assert bc["override"]["by"] == "Chủ tịch Xã" and bc["override"]["lifts"] == ["quiet_hours"]
    assert bc["override"]["reason"] == "Lũ lên nhanh, cần báo ngay cho bà con"
    assert not leader.errors and not admin.errors

    editor = sign_in(ctl.url, "canbo")
    r = editor.post(ctl.url + "/api/broadcasts", json={
        "bulletin_id": bc["bulletin_id"], "targets": ["thon-a"], "starts_at": (slot + timedelta(minutes=5)).isoformat(),
        "override": {"reason": "Tôi muốn phát ngoài giờ"}}, timeout=60)
    assert r.status_code == 403 and r.json()["code"] == "override_forbidden"
