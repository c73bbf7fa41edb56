"""The fleet page on a phone, in real headless Chromium, against a real controller with signed
releases published and a real agent: versions and update state, a staged rollout started from
the form (bad input refused next to its field), its canary failing and the rollout pausing,
fleet rollback in one click, and remote care (speaker check, diagnostics) with its history."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError, expect

from support.browser import PHONE
from support.harness import wait_for
from support.release_rig import signed_releases
from support.tree import seed_commune
from loaxa.protocol import public_key_to_text

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    return signed_releases(tmp_path_factory, "fleet-page-releases", ("0.1.0", "0.2.0"))


def reload_until(session, check, what: str):
    def once():
        try:  # the page may be reloading itself after a form's post; then look again
            session.page.reload()
            return check()
        except PlaywrightError:
            return None
    return wait_for(once, timeout=60, what=what)


def test_fleet_page_rollout_pause_rollback_and_remote_care_on_a_phone(system, releases, sessions):
    release_key = public_key_to_text(releases.signer.public_key)
    ctl = system.controller(extra_toml=f'\n[fleet]\nrelease_public_key = "{release_key}"\ntick_s = 0.3\n'
                                       "wave_timeout_s = 2\n")
    for v in ("0.1.0", "0.2.0"):
        ctl.loaxa_cli("fleet", "publish", str(releases.dir / v))
    seed_commune(ctl.api, {"loa-1": "thon-a", "loa-2": "thon-b"})
    system.agent("loa-1", ctl.api.get("/api/pubkey")["public_key"], ctl.url)
    wait_for(lambda: any(d["online"] and d["agent_version"] for d in ctl.api.get("/api/fleet/devices")
                         if d["id"] == "loa-1"), timeout=30, what="loa-1 online with its version")

    admin = sessions(ctl.url, "test-admin", ctl.admin_password, PHONE)
    page = admin.page
    page.on("dialog", lambda dialog: dialog.accept())
    admin.go("/fleet")
    expect(page.locator("nav.menu a[aria-current=page]")).to_have_text("Đội loa")
    row = page.locator("#fleet-devices tr[data-device='loa-1']")
    expect(row).to_contain_text("Trực tuyến")
    assert row.locator(".version").inner_text().strip() not in ("", "chưa rõ")
    expect(page.locator("#fleet-devices tr[data-device='loa-2']")).to_contain_text("Mất kết nối")
    assert page.locator("#releases li[data-release]").evaluate_all("els => els.map(e => e.dataset.release)") == \
        ["0.2.0", "0.1.0"]
    assert admin.overflow() <= 0, "the fleet page is wider than a phone"

    # Bad input is refused next to its field, and nothing starts.
    form = page.locator("#rollout-form")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error-for='targets']")).to_contain_text("Chọn ít nhất một")
    form.locator("input[name=targets][value='loa-2']").check()
    page.fill("#canary_percent", "năm")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error-for='canary_percent']")).to_contain_text("phần trăm")
    assert ctl.api.get("/api/rollouts") == []

    # A rollout to the pole that never answers: its canary fails and the rollout pauses by itself.
    page.select_option("#release", "0.2.0")
    page.fill("#canary_percent", "50")
    page.fill("#waves", "1")
    form.locator("button[type=submit]").click()
    rollout = page.locator("article.rollout").first
    expect(rollout).to_contain_text("bản 0.2.0")
    reload_until(admin, lambda: rollout.get_attribute("data-status") == "paused", "the rollout paused")
    expect(rollout.locator(".rollout-reason")).to_contain_text("ngoại tuyến")
    expect(rollout.locator(".wave").first).to_contain_text("Thử trước")
    expect(rollout.locator(".member[data-device='loa-2']")).to_contain_text("Lỗi")
    expect(rollout.locator("button", has_text="Tiếp tục")).to_be_visible()
    expect(page.locator("#rollout-form")).to_have_count(0)  # one rollout at a time
    admin.shot("fleet-paused")

    # Fleet rollback is one click; the rollout is rolled back and a new one may start.
    page.locator("#fleet-rollback button").click()
    expect(rollout).to_have_attribute("data-status", "rolled_back")
    expect(page.locator("#rollout-form")).to_be_visible()
    assert [r["status"] for r in ctl.api.get("/api/rollouts")] == ["rolled_back"]
    assert admin.overflow() <= 0

    # Remote care from the pole's page: a speaker check and diagnostics, each with its history.
    page.locator("#fleet-devices tr[data-device='loa-1'] a").click()
    expect(page.locator("h1")).to_contain_text("Chăm sóc từ xa")
    expect(page.locator("#speaker-checks")).to_contain_text("Chưa kiểm tra lần nào")
    page.fill("#check-volume", "101")
    page.locator("#care-speaker_check button").click()
    expect(page.locator("#care-speaker_check [data-error-for='volume']")).to_contain_text("0 đến 100")
    page.fill("#check-volume", "40")
    page.locator("#care-speaker_check button").click()
    reload_until(admin, lambda: page.locator("#speaker-checks tbody tr").first.inner_text().find("Phát xong") >= 0,
                 "the speaker check's result")
    page.locator("#care-diagnostics button").click()
    reload_until(admin, lambda: "Chưa có" not in page.locator("#diagnostics tbody").inner_text(),
                 "the uploaded diagnostics")
    assert page.locator("#diagnostics tbody tr").count() == 1
    assert admin.overflow() <= 0, "the care page is wider than a phone"
    admin.shot("fleet-care")
    assert admin.errors == []
