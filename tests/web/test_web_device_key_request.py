"""The device page's key request in real headless Chromium: ask a pole enrolled before device keys for its key.

An administrator sees that the pole has no key of its own, presses the button, agrees, and
reads what was sent and until when the controller waits (and that the pole is offline);
the request is audited with who and from where, and a signed command left.  Once the
pole's key is registered the page says so and offers no button; a pole that already has a
key is explained in Vietnamese.  Editors and approvers see no button and the API refuses them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loaxa import protocol
from loaxa.protocol import Signer
from support.browser import ServedApp, Session, chromium, wait_js
from support.world import PASSWORD, make_world

pytestmark = pytest.mark.browser


def _commands_sent(c) -> int:
    with c.db.tx() as db:
        row = db.execute("SELECT value FROM counters WHERE name = 'command_seq'").fetchone()
    return row[0] if row else 0


def test_an_administrator_asks_a_pole_for_its_key_from_the_device_page_in_chromium(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    c = w.controller
    served = ServedApp(w.app)
    try:
        assert w.call("root", "GET", "/api/devices/loa-a/key").get_json()["state"] == "missing"
        with chromium() as browser:
            s = Session(browser, served.url, "root", PASSWORD)
            asked: list[str] = []
            s.page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
            s.go("/devices/loa-a")
            assert s.page.get_attribute("#device-key", "data-key-state") == "missing"
            assert "Chưa có khóa riêng" in s.page.text_content("#device-key")
            sent_before = _commands_sent(c)
            s.page.click("#btn-key-request")
            wait_js(s.page, "document.getElementById('key-result').dataset.result !== undefined",
                    what="the answer to the key request")
            said = s.page.text_content("#key-result")
            assert s.page.get_attribute("#key-result", "data-result") == "sent", said
            assert "Đã gửi lệnh yêu cầu khóa tới cụm loa" in said and "tới " in said
            assert "đang không trực tuyến" in said  # the pole never connected here: ask again once it is back
            assert asked and asked[0].startswith("Gửi lệnh yêu cầu")
            assert _commands_sent(c) == sent_before + 1  # the signed register_key command left
            [entry] = c.audit.entries(action="device_key_requested")
            assert (entry.actor, entry.target, entry.ip) == ("root", "loa-a", "127.0.0.1")
            s.shot("device-key-request")  # the operator guide's picture

            s.page.reload()
            assert s.page.get_attribute("#device-key", "data-key-state") == "requested"
            assert "máy chủ chờ khóa tới" in s.page.text_content("#key-requested")
            assert s.page.text_content("#btn-key-request").strip() == "Yêu cầu lại khóa riêng"

            # the pole answers (over its media channel in service; here straight to the controller)
            key = Signer.generate()
            kid = c.key_migration.accept("loa-a", {"public_key": protocol.public_key_to_text(key.public_key),
                                                   "proof": key.sign_detached(protocol.device_key_proof("loa-a"))})
            s.page.reload()
            assert s.page.get_attribute("#device-key", "data-key-state") == "active"
            assert kid in s.page.text_content("#device-key") and not s.page.is_visible("#btn-key-request")

            # a pole whose key arrives while the page is open: the refusal is explained
            s.go("/devices/loa-b")
            c.key_migration.keys.register("loa-b", protocol.public_key_to_text(Signer.generate().public_key),
                                          protocol.utcnow())
            s.page.click("#btn-key-request")
            wait_js(s.page, "document.getElementById('key-result').dataset.result !== undefined",
                    what="the refusal of a second key")
            assert s.page.get_attribute("#key-result", "data-result") == "has_device_key"
            assert "đã có khóa riêng" in s.page.text_content("#key-result")
            assert not s.errors
            s.close()

            for who in ("editor-a", "approver-a"):
                other = Session(browser, served.url, who, PASSWORD)
                other.go("/devices/loa-a")
                assert other.page.is_visible("h1") and not other.page.is_visible("#device-key")
                other.close()
        assert len(c.audit.entries(action="device_key_requested")) == 1
        for who in ("editor", "approver"):
            assert w.call(who, "POST", "/api/devices/loa-a/key-request", {}).status_code == 403
            assert w.call(who, "GET", "/api/devices/loa-a/key").status_code == 403
        assert w.call("admin", "GET", "/api/devices/loa-b/key").status_code == 404  # another commune's pole
        assert w.call("root", "GET", "/api/devices/khong-co/key").status_code == 404
        assert w.call("root", "GET", "/api/devices/loa-a/key").get_json() == {
            "device_id": "loa-a", "state": "active", "kid": kid, "request": None, "may_request": False}
    finally:
        served.close()
        c.stop()
