"""A village's volume over the day, set on the devices page, carried in the signed plan, applied by a real agent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.harness import wait_for
from support.web_commune import PASSWORD, local_now, setup_commune, sign_in

pytestmark = pytest.mark.browser


def test_volume_schedule_reaches_the_pole_in_its_plan_and_a_hand_set_volume_holds(system, sessions):
    commune = setup_commune(system, agents=("loa-1",))
    ctl = commune.ctl
    admin = sessions(ctl.url, "test-admin", ctl.admin_password)
    page = admin.page
    now = local_now()
    evening, morning = now - timedelta(hours=1), now + timedelta(hours=5)  # the step in force now is "evening"

    admin.go("/devices")
    page.select_option("#vs-unit", "thon-a")
    page.fill("#vs-steps", f"{evening:%H:%M} 30\n{morning:%H:%M} 80")
    with page.expect_navigation():
        page.click("#volume-schedule-form button[type=submit]")
    assert f"{evening:%H:%M} → 30" in page.inner_text("#schedules li[data-unit='thon-a']")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["state"].get("volume") == 30, timeout=30,
             what="loa-1 applies the step in force")
    plan = ctl.api.get("/api/plans/loa-1")
    assert sorted(plan["plan"]["volume_steps"], key=lambda s: s["volume"]) == [
        {"at": f"{evening:%H:%M}", "volume": 30}, {"at": f"{morning:%H:%M}", "volume": 80}]
    with ctl.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'volume_schedule_changed' "
                            "AND target = 'thon-a'").fetchone()[0] == 1

    # A volume set by hand holds until the next step; the controller does not force the step back.
    admin.go("/devices/loa-1")
    page.fill("#volume", "65")
    with page.expect_navigation():
        page.click("#volume-form button[type=submit]")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["state"].get("volume") == 65, timeout=30, what="volume 65")
    admin.go("/devices/loa-1")
    assert page.locator("#pending").count() == 0

    # An editor keeps to the volume floor in a schedule too, and bad lines are refused as typed.
    editor = sign_in(ctl.url, "canbo", PASSWORD)
    low = editor.put(ctl.url + "/api/units/thon-a/volume-schedule", json={"steps": "21:00 10"}, timeout=30)
    assert low.status_code == 403
    admin.go("/devices")
    page.fill("#vs-steps", "tối 50")
    page.click("#volume-schedule-form button[type=submit]")
    wait_for(lambda: page.inner_text("[data-error-for='steps']").strip(), what="the refusal next to the field")
    assert "tối 50" in page.inner_text("[data-error-for='steps']")
    assert not admin.errors
