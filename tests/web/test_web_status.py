"""The status on screen is true: broker loss, emergency delivery per device, desired volume.

Real controller, real mosquitto, real agents and headless Chromium.  Each step waits on
what the controller or the page really shows, within bounds.
"""

from __future__ import annotations

import pytest

from support.harness import wait_for
from support.web_commune import setup_commune

pytestmark = pytest.mark.browser

FAST_COMMANDS = "[plans]\ncommand_ttl_s = 8\nemergency_resend_s = 1\n"


def _device(ctl, device_id: str) -> dict:
    return ctl.api.get(f"/api/devices/{device_id}")


def test_offline_volume_waits_emergency_reports_unreached_and_broker_loss_shows_unknown(system, sessions):
    commune = setup_commune(system, agents=("loa-1", "loa-2"), extra_toml=FAST_COMMANDS)
    ctl = commune.ctl
    loa2 = commune.agents[1]
    admin = sessions(ctl.url, "test-admin", ctl.admin_password)
    page = admin.page
    page.on("dialog", lambda d: d.accept())

    # A volume for a pole that is offline is kept and shown as waiting for the device.
    loa2.stop()
    wait_for(lambda: not _device(ctl, "loa-2")["online"], timeout=20, what="loa-2 offline")
    admin.go("/devices/loa-2")
    assert "mất kết nối" in page.inner_text("#offline-notice")
    page.fill("#volume", "40")
    page.click("#volume-form button[type=submit]")
    page.wait_for_selector("#pending [data-pending='volume']")
    assert "đang chờ thiết bị" in page.inner_text("#pending")

    # An emergency while loa-2 is away: loa-1 confirms, loa-2 is "not reached" once the command expires.
    admin.go("/emergency")
    page.fill("#em-text", "Thông báo khẩn: nước lên nhanh, đề nghị bà con sơ tán.")
    page.fill("#em-reason", "lũ")
    page.check("#em-targets input[value='xa']")
    page.click("#btn-review")
    page.click("#btn-fire")
    page.wait_for_selector("#live-table tr[data-device='loa-2'][data-stage='waiting']", timeout=30_000)
    page.wait_for_selector("#live-table tr[data-device='loa-1'][data-stage='finished']", timeout=60_000)
    page.wait_for_selector("#live-table tr[data-device='loa-2'][data-stage='unreached']", timeout=30_000)
    live = page.inner_text("#live")
    assert "Không tới được" in live and "Đã gửi lệnh" not in live
    assert "1 cụm loa không tới được" in page.inner_text("#live-summary")
    admin.shot("emergency-unreached")

    # loa-2 comes back: the controller sends the volume again until the pole reports it.
    loa2.start()
    wait_for(lambda: _device(ctl, "loa-2")["state"].get("volume") == 40, timeout=40, what="loa-2 reports volume 40")
    admin.go("/devices/loa-2")
    assert page.locator("#pending").count() == 0
    assert page.inner_text("#volume-now").strip() == "40"

    # The broker goes away: the open page says so at once, and no device reads "Trực tuyến".
    admin.go("/devices")
    assert page.locator("tr[data-device='loa-1'] .badge.ok", has_text="Trực tuyến").count() == 1
    assert page.is_hidden("#link-banner")
    system.broker.stop()
    page.wait_for_selector("#link-banner:not([hidden])", timeout=30_000)
    page.wait_for_selector("tr[data-device='loa-1'][data-link='unknown']", timeout=30_000)
    table = page.inner_text("#devices")
    assert "Trực tuyến" not in table, table
    assert table.count("Không rõ") == 2 and "Chưa từng kết nối" in table  # loa-3 never connected
    assert "liên lạc lần cuối" in table
    admin.shot("devices-broker-lost")
    for path in ("/", "/devices/loa-1", "/calendar", "/fleet"):
        admin.go(path)
        assert page.is_visible("#link-banner"), path
    assert "Trực tuyến" not in page.inner_text("main")  # the fleet page too
    admin.go("/devices/loa-1")
    assert "Không rõ" in page.inner_text("#device-status") and "Trực tuyến" not in page.inner_text("#device-status")
    assert "không rõ" in page.inner_text("#periods")
    assert _device(ctl, "loa-1")["link"] == "unknown"
    assert not admin.errors
