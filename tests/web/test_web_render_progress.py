"""The compose page shows a render's real progress (step, paragraphs read, a filling bar) at phone width.

Google's voice is the slow case in production; here a local stand-in plays Google and holds
the third paragraph until the browser has shown "Đang đọc đoạn 2/4", so nothing depends on timing.
"""

from __future__ import annotations

import io
import json
import threading
from urllib.parse import parse_qs

import pytest

from support.harness import wait_for

from support.tree import seed_commune
from support.browser import PHONE, wait_js
from support.google_stand_in import GoogleStandIn, make_mp3

pytestmark = pytest.mark.browser

PASSWORD = "mat-khau-tien-do"
SCRIPT = ("Thông báo lịch tiêm chủng\n\nTrạm y tế xã tổ chức tiêm vắc xin cho trẻ em\n\n"
          "Đề nghị các gia đình đưa trẻ đến đúng giờ\n\nXin trân trọng thông báo")
HELD_WORDS = "gia đình"


def held_google(mp3: bytes):
    """The stand-in, holding the first request that speaks ``HELD_WORDS`` until ``go_on`` is set."""
    base = GoogleStandIn

    class HeldGoogle(base):
        def __init__(self) -> None:
            super().__init__(mp3)
            self.holding, self.go_on = threading.Event(), threading.Event()

        def _answer(self, h) -> None:
            body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
            h.rfile = io.BytesIO(body)
            try:
                text = json.loads(json.loads(parse_qs(body.decode("utf-8"))["f.req"][0])[0][0][1])[0]
            except (KeyError, IndexError, ValueError):
                text = ""
            if HELD_WORDS in text.lower() and not self.holding.is_set():
                self.holding.set()
                self.go_on.wait(timeout=20)
            super()._answer(h)

    return HeldGoogle()


def test_compose_shows_the_paragraph_being_read_then_the_preview(system, sessions):
    with held_google(make_mp3(0.3)) as google:
        ctl = system.controller(start=False)
        ctl.env.update(LOAXA_AUDIO_ENGINE="gtts", LOAXA_AUDIO_GTTS_ENDPOINT=google.url,
                       LOAXA_AUDIO_GTTS_MIN_INTERVAL_S="0", LOAXA_AUDIO_GTTS_READ_TIMEOUT_S="30")
        ctl.start()
        seed_commune(ctl.api, {"loa-1": "thon-a"})
        ctl.api.post("/api/users", {"username": "canbo", "password": PASSWORD, "role": "editor", "unit_id": "xa",
                                    "display_name": "Cán bộ Văn hóa"})
        editor = sessions(ctl.url, "canbo", PASSWORD, PHONE)
        page = editor.page
        editor.go("/compose")
        page.fill("#text", SCRIPT)
        page.click("#btn-prepare")
        page.wait_for_selector("#step-script:not([hidden])")
        page.fill("#script", SCRIPT)
        page.click("#btn-render")
        try:
            assert google.holding.wait(timeout=20), "the render never reached the third paragraph"
            wait_js(page, "document.getElementById('render-message').textContent.includes('Đang đọc đoạn 2/4')")
            # Google's voice is most of a render's time: half the paragraphs read fills 30 % of the bar.
            assert page.get_attribute("#render-bar", "aria-valuenow") == "30"
            assert page.is_visible("#render-elapsed")
            assert editor.overflow() == 0, "the progress must fit a 390 px phone"
            editor.shot("compose-render-progress")
        finally:
            google.go_on.set()
        page.wait_for_selector("#player:not([hidden])")
        assert page.is_hidden("#render-progress")
        assert page.is_hidden("#voice-warning"), "Google's voice spoke: no offline-voice warning"
        assert "Thời lượng" in page.inner_text("#media-info")
        assert editor.errors == []
