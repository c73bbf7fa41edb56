"""The test tone's confirmation in real headless Chromium, against a real controller, broker and agent.

A cluster is playing a programme; the technician presses "Phát âm thử", agrees to the tone,
then reads in Vietnamese which programme the tone would cut. Cancelling sends nothing (no
tone, no audit entry, the programme plays on); confirming sends the tone, which cuts the
programme as a preemption and is audited with what it cut.
"""

from __future__ import annotations

import pytest

from support.harness import wait_for
from support.schedule_api import plays_of, soon
from support.web_commune import setup_commune, sign_in
from loaxa.wire_time import format_time

pytestmark = pytest.mark.browser

LONG_TEXT = "Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng cho trẻ em trong toàn xã. " * 4


def _tone_audits(ctl) -> list[str]:
    with ctl.db() as conn:
        return [r[0] for r in conn.execute("SELECT details FROM audit_log WHERE action = 'device_test_tone'")]


def test_the_test_tone_asks_before_cutting_a_programme_cancel_sends_nothing_confirm_sends_it(system, sessions):
    commune = setup_commune(system, agents=("loa-1",))
    ctl, api, agent = commune.ctl, commune.ctl.api, commune.agents[0]
    bulletin = api.post("/api/bulletins", {"title": "Tiêm phòng", "text": LONG_TEXT})
    bc = api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "targets": ["thon-a"],
                                      "starts_at": format_time(soon(8))})
    approved = sign_in(ctl.url, "chutich").post(ctl.url + f"/api/broadcasts/{bc['id']}/approve",
                                                json={"comment": "Đồng ý"}, timeout=30)
    assert approved.status_code == 200, approved.text
    wait_for(lambda: plays_of(agent, bc["id"]), timeout=40, what="the programme playing")
    wait_for(lambda: api.get("/api/devices/loa-1")["state"].get("playing"), timeout=20, what="the device reports it")

    admin = sessions(ctl.url, "test-admin", ctl.admin_password)
    page = admin.page
    asked: list[str] = []
    answers: list[bool] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        (dialog.accept if answers.pop(0) else dialog.dismiss)()

    page.on("dialog", answer)
    admin.go("/devices/loa-1")
    button = page.locator("#tone-form button[type=submit]")

    answers[:] = [True, False]  # yes to the tone, then no once told it cuts the programme
    button.click()
    error = page.locator("#tone-form [data-error-for='_form']")
    wait_for(lambda: error.inner_text().strip(), timeout=20, what="the cancelled tone said so")
    assert asked[0] == "Phát âm thử 3 giây trên cụm loa này?"
    assert "Cụm loa đang phát «Tiêm phòng»" in asked[1] and "Vẫn phát âm thử?" in asked[1]
    assert error.inner_text().strip() == "Đã hủy: không có thay đổi nào."
    assert not answers and button.is_enabled()
    assert _tone_audits(ctl) == []
    assert not api.get(f"/api/playback?broadcast={bc['id']}&kind=interrupted")
    assert not [p for p in agent.plays() if str(p.get("item_id", "")).startswith("tone")]
    admin.shot("device-test-tone-cancelled")

    asked.clear()
    answers[:] = [True, True]
    with page.expect_navigation():
        button.click()
    assert len(asked) == 2 and "«Tiêm phòng»" in asked[1]
    [details] = wait_for(lambda: _tone_audits(ctl), timeout=20,
                         what="the tone audited")
    assert "Tiêm phòng" in details
    rows = wait_for(lambda: api.get(f"/api/playback?broadcast={bc['id']}&kind=interrupted"), timeout=30,
                    what="the programme cut by the tone")
    assert rows[0]["reason"] == "preempted" and "by_test_tone" in rows[0]["flags"]
    assert not admin.errors
