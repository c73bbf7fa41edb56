"""A pasted official document becomes a reviewed script; the approved script text is what is rendered."""

from __future__ import annotations

import re

import pytest

from controller.cli_http.client import ApiError
from support.harness import DOCUMENTS


def test_prepare_script_from_an_official_document_stores_nothing(system):
    ctl = system.controller('[unit]\ncommune_name = "Tân Lập"\n')
    text = (DOCUMENTS / "an-phu-cv-phong-sot-xuat-huyet.txt").read_text()
    draft = ctl.api.post("/api/scripts", {"text": text})
    assert draft["script"].startswith("Đài Truyền thanh xã Tân Lập")
    reasons = {r["reason"] for r in draft["removed"]}
    assert any("Nơi nhận" in r for r in reasons)
    assert "Nơi nhận" not in draft["script"]
    assert not re.search(r"\d", draft["normalized"])
    assert ctl.api.get("/api/bulletins") == []


def test_the_edited_script_is_what_is_stored_and_rendered(system):
    ctl = system.controller()
    text = "UBND XÃ TÂN LẬP\n\nThông báo lịch tiêm chủng\n\nSáng thứ 7 ngày 05/12/2026 tiêm vắc xin tại trạm y tế.\n\nNơi nhận:\n- Lưu VT."
    draft = ctl.api.post("/api/scripts", {"text": text})
    edited = "Thông báo lịch tiêm chủng. Sáng thứ bảy tuần này tiêm vắc xin tại trạm y tế xã."
    b = ctl.api.post("/api/bulletins", {"text": text, "script": edited})
    assert b["script"] == edited
    assert b["removed"] == draft["removed"] and b["removed"]
    plain = ctl.api.post("/api/bulletins", {"text": text})
    assert plain["script"] == draft["script"]
    assert plain["media"]["sha256"] != b["media"]["sha256"]
    mp3 = b["media"]["mp3"]["sha256"]  # the MP3 fallback is rendered and indexed beside the Opus file
    assert (ctl.data_dir / "media" / f"{mp3}.mp3").is_file()
    with ctl.db() as conn:
        assert conn.execute("SELECT ext FROM media WHERE sha256 = ?", [mp3]).fetchone()[0] == "mp3"


@pytest.mark.parametrize("payload, code", [
    ({"text": "Nơi nhận:\n- Như trên;\n- Lưu: VT."}, "nothing_to_read"),
    ({"text": "Thông báo.", "script": 5}, "empty_text"),
    ({"text": "Thông báo.", "script": "x" * 100_001}, "text_too_long"),
])
def test_unusable_scripts_are_refused(refusing_controller, payload, code):
    with pytest.raises(ApiError) as err:
        refusing_controller.api.post("/api/bulletins", payload)
    assert err.value.status == 400 and err.value.code == code
    assert refusing_controller.api.get("/api/bulletins") == []  # a refusal stores nothing
