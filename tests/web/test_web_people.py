"""An administrator manages accounts on the Quản trị page of a phone, in real headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from support.browser import PHONE, SCREENSHOTS
from support.web_commune import PASSWORD, setup_commune

pytestmark = pytest.mark.browser

NEW_PASSWORD = "mat-khau-moi-2026"


def tools(page, username: str):
    return page.locator(f"#users li[data-user='{username}']")


def test_admin_edits_a_role_resets_a_password_disables_and_enables_a_user(system, sessions):
    ctl = setup_commune(system).ctl
    editor = sessions(ctl.url, "canbo", PASSWORD)
    admin = sessions(ctl.url, "test-admin", ctl.admin_password, PHONE)
    page = admin.page
    page.on("dialog", lambda dialog: dialog.accept())
    admin.go("/admin")
    assert tools(page, "test-admin").locator("button", has_text="Vô hiệu hóa").count() == 0, "no disabling oneself"

    # Role: the editor becomes an approver of the province; their open session ends.
    tools(page, "canbo").locator("button", has_text="Sửa").click()
    page.select_option("#e-role-canbo", "approver")
    page.select_option("#e-unit-canbo", "tinh")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.card", has=page.locator("#users")).screenshot(path=str(SCREENSHOTS / "admin-users-phone.png"))
    tools(page, "canbo").locator("button", has_text="Lưu thay đổi").click()
    row = tools(page, "canbo").locator(".person")
    expect(row).to_contain_text("Phê duyệt")
    expect(row).to_contain_text("Tỉnh")
    assert admin.overflow() <= 0, "the page is wider than a phone"
    editor.go("/")
    expect(editor.page).to_have_url(re.compile(r".*/login\?next=.*"))

    # Password: a short one is refused next to the field, then the new one signs in.
    tools(page, "chutich").locator("button", has_text="Đặt lại mật khẩu").click()
    page.fill("#p-new-chutich", "ngan")
    tools(page, "chutich").locator("button", has_text="Đặt mật khẩu mới").click()
    expect(tools(page, "chutich").locator("[data-error-for='password']")).to_contain_text("ít nhất")
    page.fill("#p-new-chutich", NEW_PASSWORD)
    page.check("#pw-chutich input[name=revoke_tokens]")
    tools(page, "chutich").locator("button", has_text="Đặt mật khẩu mới").click()
    expect(tools(page, "chutich").locator("#pw-chutich")).to_be_hidden()  # the page reloaded
    leader = sessions(ctl.url, "chutich", NEW_PASSWORD)
    assert "Phê duyệt" in leader.page.inner_text("nav.menu")

    # Disable, after the confirmation: the row goes and that person can no longer sign in.
    tools(page, "kiemtra").locator("button", has_text="Vô hiệu hóa").click()
    expect(tools(page, "kiemtra")).to_have_count(0)
    login = admin.context.browser.new_context().new_page()
    login.goto(ctl.url + "/login")
    login.fill("#username", "kiemtra")
    login.fill("#password", PASSWORD)
    login.click("button[type=submit]")
    expect(login.locator(".field-error")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")
    login.context.close()

    # Enable again, with a new password: the row moves back and the new password signs in.
    back = page.locator("#disabled-users li[data-user='kiemtra']")
    back.locator("button", has_text="Kích hoạt lại").click()
    assert admin.overflow() <= 0, "the disabled accounts are wider than a phone"
    page.fill("#en-pw-kiemtra", NEW_PASSWORD)
    back.locator("button", has_text="Kích hoạt tài khoản").click()
    expect(tools(page, "kiemtra")).to_have_count(1)
    expect(page.locator("#disabled-users")).to_have_count(0)
    returning = sessions(ctl.url, "kiemtra", NEW_PASSWORD)
    assert "Kiểm tra" in returning.page.inner_text("nav.menu")

    actions = {(e["action"], e["target"]) for e in ctl.api.get("/api/audit?actor=test-admin")}
    assert {("user_updated", "canbo"), ("password_changed", "chutich"), ("user_disabled", "kiemtra"),
            ("user_enabled", "kiemtra")} <= actions
    [reset] = [e for e in ctl.api.get("/api/audit?action=password_changed") if e["target"] == "chutich"]
    assert "tokens_revoked" in reset["details"], "the box asked for the API tokens to be revoked"
    assert not admin.errors and not leader.errors and not returning.errors
