"""The controller's door to intake: an upload read into what the compose page shows."""

from __future__ import annotations

import base64

import pytest

from audio.intake import IntakeLimits
from bench import intake_samples as samples
from controller.errors import InputError
from controller.plans import read_upload


def test_a_signed_pdf_gives_its_text_and_page_images():
    out = read_upload(samples.official_pdf(pages=2), "cong-van.pdf").to_dict()
    assert out["kind"] == "pdf" and out["pages"] == 2 and not out["ocr"]
    assert out["low_confidence"] == [] and out["threshold"] == IntakeLimits().low_confidence
    assert out["images"] and out["images"][0]["src"].startswith("data:image/jpeg;base64,")
    assert base64.b64decode(out["images"][0]["src"].split(",", 1)[1])[:2] == b"\xff\xd8"
    assert "THÔNG BÁO" in out["text"] or "Thông báo" in out["text"]


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF garbage", "cong-van.pdf", "pdf_broken"),
    (b"", "trong.txt", "empty_file"),
    (b"ID3\x03\x00\x00\x00" + bytes(200), "thong-bao.docx", None),
    (b"PK not a zip", "hong.docx", "not_what_it_claims"),
])
def test_bad_files_are_refused_in_vietnamese_on_the_file_field(data, name, code):
    with pytest.raises(InputError) as exc:
        read_upload(data, name)
    assert exc.value.field == "file" and exc.value.message
    if code:
        assert exc.value.code == code
