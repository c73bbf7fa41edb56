"""Low-confidence OCR words gate the preview in the controller itself, not only in the browser."""

from __future__ import annotations

import io

import pytest

from bench import intake_samples as samples
from controller.errors import InputError
from controller.people.actor import Actor
from controller.plans import use_cases as plans
from controller.plans.ocr_checks import OcrChecks
from support.world import PASSWORD, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("ocr-ack"))
    yield w
    w.controller.stop()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return samples.phone_photo(samples.notice_page())


def _editor(c) -> Actor:
    user = c.users.get("editor-a")
    return Actor.of(user, c.users.scope(user), "10.0.0.5")


def test_the_registry_matches_the_text_whatever_its_line_endings_and_forgets_old_uploads():
    now = [0.0]
    checks = OcrChecks(clock=lambda: now[0])
    checks.note("canbo", "Dòng một\nDòng hai\n", ("hai",))
    assert checks.unchecked("canbo", "Dòng một\r\nDòng hai") == ("hai",)
    assert checks.unchecked("nguoi-khac", "Dòng một\nDòng hai") == ()
    now[0] = 13 * 3600.0
    assert checks.unchecked("canbo", "Dòng một\nDòng hai") == ()
    assert checks.unchecked("canbo", "\ud800 lạ") == (), "any text a request can carry is a key"


def test_a_preview_of_doubtful_ocr_text_is_refused_until_acknowledged(world, photo):
    c = world.controller
    editor = _editor(c)
    upload = plans.read_intake(c, editor, photo, "thong-bao.jpg")
    assert upload.low_confidence, "the degraded photo has doubtful words"
    text = upload.text
    with pytest.raises(InputError) as err:
        plans.add_bulletin(c, editor, "Thông báo", text.replace("\n", "\r\n"), script=text)
    assert err.value.code == "ocr_unchecked" and err.value.field == "ocr_ack" and err.value.status == 400
    assert f"“{upload.low_confidence[0]['text']}”" in err.value.message
    assert not [b for b in c.bulletins.list() if b.created_by == "editor-a"], "nothing stored"
    bulletin = plans.add_bulletin(c, editor, "Thông báo", text, script=text, ocr_ack=True)
    assert bulletin.media


def test_the_http_api_refuses_in_vietnamese_without_the_acknowledgement(world, photo):
    read = world.call("editor", "POST", "/api/compose/intake",
                      data={"file": (io.BytesIO(photo), "anh.jpg")}, content_type="multipart/form-data")
    assert read.status_code == 200 and read.json["low_confidence"]
    text = read.json["text"]
    refused = world.call("editor", "POST", "/api/bulletins", json={"title": "Tin", "text": text, "script": text})
    assert refused.status_code == 400 and refused.json["code"] == "ocr_unchecked"
    assert "đối chiếu với ảnh gốc" in refused.json["error"]
    other = world.call("approver", "POST", "/api/bulletins", json={"title": "Tin", "text": "Thông báo ngắn."})
    assert other.status_code == 201, "text that came from no doubtful upload needs nothing"
