"""A relay source's own page in real headless Chromium: edit it, give it a recorded notice, remove it.

At phone size an administrator renames a source and gives it a fallback source, uploads a
short recording as its fallback notice (a file that is not audio is explained first), picks
that notice for another source, is told in Vietnamese why a source still aired by a relay
programme cannot be removed, and removes it once that programme is cancelled.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from loaxa.local_time import to_local
from loaxa.wire_time import utcnow
from support.agent_rig import make_clip
from support.browser import PHONE, ServedApp, Session, chromium, wait_js
from support.world import PASSWORD, make_world

pytestmark = pytest.mark.browser

URL = "http://127.0.0.1:9/live.m3u8"


def test_an_administrator_edits_gives_a_notice_to_and_removes_a_relay_source_in_chromium(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    c = w.controller
    for sid, name in (("vov1", "VOV1"), ("tinh", "Đài tỉnh")):
        assert w.call("root", "POST", "/api/relay-sources", {"id": sid, "name": name, "url": URL,
                                                             "kind": "hls"}).status_code == 201
    day = to_local(utcnow()) + timedelta(days=1)
    relay = w.call("editor", "POST", "/api/relays", {"source_id": "vov1", "duration_min": 30, "targets": ["xa-a"],
                                                     "rule_text": f"ngày {day:%d/%m/%Y}, 6 giờ"}).get_json()
    clip = make_clip(tmp_path / "clips", 4, freq=500, ext="mp3")
    not_audio = tmp_path / "thong-bao.wav"
    not_audio.write_bytes(b"RIFF day khong phai am thanh" * 50)
    served = ServedApp(w.app)
    try:
        with chromium() as browser:
            s = Session(browser, served.url, "root", PASSWORD, viewport=PHONE)
            dialogs: list[str] = []
            s.page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
            s.go("/relay-sources")
            s.page.click('#source-list [data-source="vov1"] [data-edit]')
            s.page.wait_for_selector("#edit-form")
            assert s.page.input_value("#source-name") == "VOV1" and s.page.input_value("#source-url") == URL
            # the test button on an unchanged URL tests the saved source (its hidden password included)
            s.page.click("#source-test")
            wait_js(s.page, "document.getElementById('source-test-result').dataset.reason !== undefined "
                            "&& !document.getElementById('source-test').disabled", timeout=40, what="the test")
            assert s.page.get_attribute("#source-test-result", "data-reason") == "unreachable"
            assert c.streaming.sources.get("vov1").last_probe["reason"] == "unreachable"  # remembered: the saved one

            # edit: a new name and a fallback source; the list shows both
            s.page.fill("#source-name", "VOV1 – Thời sự")
            s.page.select_option("#source-fallback", "tinh")
            s.page.click("#edit-form button[type=submit]")
            s.page.wait_for_url(f"{served.url}/relay-sources")
            row = s.page.text_content('#source-list [data-source="vov1"]')
            assert "VOV1 – Thời sự" in row and "Dự phòng: Đài tỉnh" in row
            assert c.streaming.sources.get("vov1").fallback_source_id == "tinh"

            # the notice: a file that is not audio is explained, a short recording is mastered and set
            s.go("/relay-sources/vov1")
            s.page.set_input_files("#notice-file", str(not_audio))
            s.page.click("#notice-form button[type=submit]")
            wait_js(s.page, "document.querySelector('#notice-form [data-error-for=notice]').textContent.length > 0",
                    what="the refusal of a file that is not audio")
            assert "không phải âm thanh" in s.page.text_content('#notice-form [data-error-for="notice"]')
            assert c.streaming.sources.get("vov1").fallback_media_sha256 is None
            s.page.set_input_files("#notice-file", str(clip.path))
            s.page.click("#notice-form button[type=submit]")
            wait_js(s.page, "document.getElementById('notice-result').dataset.sha !== undefined", timeout=60,
                    what="the notice mastered and set")
            sha = c.streaming.sources.get("vov1").fallback_media_sha256
            assert sha and s.page.get_attribute("#notice-result", "data-sha") == sha
            assert "Đã lưu «" in s.page.text_content("#notice-result")
            assert s.page.input_value("#source-notice") == sha
            assert s.page.text_content('#notice-form [data-error-for="notice"]') == ""
            s.shot("relay-source-edit")  # the operator guide's picture

            # the other source picks the same recording from the store
            s.go("/relay-sources/tinh")
            s.page.select_option("#source-notice", sha)
            s.page.click("#edit-form button[type=submit]")
            s.page.wait_for_url(f"{served.url}/relay-sources")
            assert c.streaming.sources.get("tinh").fallback_media_sha256 == sha
            assert s.page.is_visible('#source-list [data-source="tinh"] [data-notice]')

            # removal: refused while the relay programme is pending, then done once it is cancelled
            s.go("/relay-sources/vov1")
            assert "«Tiếp sóng VOV1»" in s.page.text_content("#remove-blocked")
            s.page.click("#remove-form button[type=submit]")
            wait_js(s.page, "document.querySelector('#remove-form [data-error-for=_form]').textContent.length > 0",
                    what="the refusal to remove a source in use")
            said = s.page.text_content('#remove-form [data-error-for="_form"]')
            assert "Không xóa được" in said and "«Tiếp sóng VOV1» (chờ duyệt)" in said
            assert {x.id for x in c.streaming.sources.list()} == {"tinh", "vov1"}
            assert w.call("approver", "POST", f"/api/broadcasts/{relay['id']}/cancel", {}).status_code == 200
            s.page.reload()
            assert not s.page.is_visible("#remove-blocked")
            s.page.click("#remove-form button[type=submit]")
            s.page.wait_for_url(f"{served.url}/relay-sources")
            assert not s.page.is_visible('#source-list [data-source="vov1"]')
            assert dialogs == ["Xóa nguồn «VOV1 – Thời sự»? Không thể hoàn tác."] * 2
            assert s.overflow() == 0 and not s.errors
            s.close()
        assert [x.id for x in c.streaming.sources.list()] == ["tinh"]
        assert [e.actor for e in c.audit.entries(action="relay_source_removed")] == ["root"]
        assert len(c.audit.entries(action="relay_source_edited")) == 3  # the edit, the upload, the pick
    finally:
        served.close()
        c.stop()
