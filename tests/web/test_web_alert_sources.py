"""CAP alert sources edited and disabled from the "Cảnh báo" page, in real headless Chromium."""

from __future__ import annotations

import pytest

from support.browser import PHONE
from support.harness import wait_for
from support.web_commune import setup_commune

pytestmark = pytest.mark.browser


def test_an_administrator_edits_a_feed_source_then_disables_it_from_the_alerts_page(system, sessions):
    commune = setup_commune(system)
    ctl = commune.ctl
    ctl.api.post("/api/alerts/sources", {"id": "kttv", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml",
                                         "interval_s": 600, "name": "Đài KTTV"})
    admin = sessions(ctl.url, "test-admin", ctl.admin_password, PHONE)
    page = admin.page
    admin.go("/alerts")
    source = page.locator("#source-kttv")
    source.locator("button", has_text="Sửa").click()
    form = page.locator("#edit-kttv")
    form.locator("input[name=interval_s]").fill("2")
    form.locator("button[type=submit]").click()
    wait_for(lambda: "tối thiểu 5 giây" in form.locator('[data-error-for="interval_s"]').inner_text(), timeout=20,
             what="the refusal next to the interval")
    form.locator("input[name=interval_s]").fill("300")
    form.locator("input[name=name]").fill("Đài KTTV tỉnh")
    form.locator("textarea[name=senders]").fill("kttv@nchmf.gov.vn")
    form.locator("button[type=submit]").click()
    wait_for(lambda: ctl.api.get("/api/alerts/sources")[0]["interval_s"] == 300, timeout=20, what="the edit stored")
    [stored] = ctl.api.get("/api/alerts/sources")
    assert stored["name"] == "Đài KTTV tỉnh" and stored["senders"] == ["kttv@nchmf.gov.vn"]
    page.wait_for_selector("#source-kttv h3:has-text('Đài KTTV tỉnh')")

    page.once("dialog", lambda d: d.accept())
    page.locator("#source-kttv button", has_text="Tắt nguồn").click()
    page.wait_for_selector("#source-kttv.disabled")
    assert ctl.api.get("/api/alerts/sources") == []
    assert "Bật lại nguồn" in page.inner_text("#source-kttv") and admin.overflow() == 0 and admin.errors == []
    admin.shot("alert-sources")
    actions = [e["action"] for e in ctl.api.get("/api/audit?target=kttv")]
    assert {"alert_source_added", "alert_source_edited", "alert_source_disabled"} <= set(actions)
