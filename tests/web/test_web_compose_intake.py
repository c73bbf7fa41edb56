"""The compose page with real documents, in real headless Chromium against a real controller:
a phone photo of a notice read by OCR beside its image, doubtful words acknowledged before
the preview, a bad file answered in Vietnamese, and unknown words taught to the commune
dictionary in one click."""

from __future__ import annotations

import pytest

from bench import intake_samples as samples
from support.browser import DESKTOP, PHONE
from support.harness import wait_for
from support.web_commune import PASSWORD, setup_commune

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "thong-bao.jpg"
    path.write_bytes(samples.phone_photo(samples.notice_page()))
    return path


def test_phone_photo_is_read_beside_its_image_and_doubtful_words_gate_the_preview(system, sessions, photo):
    commune = setup_commune(system)
    editor = sessions(commune.ctl.url, "canbo", PASSWORD, PHONE)
    page = editor.page
    editor.go("/compose")
    accept = page.get_attribute("#file", "accept")
    assert "image/*" in accept and "application/pdf" in accept and ".docx" in accept
    assert page.get_attribute("#camera", "capture") == "environment"
    assert "image/*" in page.get_attribute("#camera", "accept")

    page.set_input_files("#camera", str(photo))
    page.click("#btn-prepare")
    page.wait_for_selector("#intake-progress:not([hidden])")
    page.wait_for_selector("#step-intake:not([hidden])", timeout=180_000)
    assert page.get_attribute("#intake-bar", "aria-valuenow") == "100"
    image = page.locator("#page-images img").first
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())
    marked = page.locator("#ocr-text mark.low-confidence")
    assert marked.count() >= 1, "the doubtful OCR words are marked"
    assert "Thông báo" in page.inner_text("#ocr-text") or "THÔNG BÁO" in page.inner_text("#ocr-text")
    page.wait_for_selector("#step-script:not([hidden])")
    assert page.input_value("#script").strip()
    assert page.is_visible("#ocr-check") and page.is_disabled("#btn-render")
    editor.shot("compose-ocr")
    assert editor.overflow() <= 0, "the compose page overflows at 390 px"

    page.check("#ocr-ack")
    assert page.is_enabled("#btn-render")
    page.click("#btn-render")
    page.wait_for_selector("#player:not([hidden])", timeout=180_000)
    assert not editor.errors


def test_a_corrupt_pdf_is_answered_in_vietnamese_and_the_page_keeps_working(system, sessions, tmp_path):
    commune = setup_commune(system)
    editor = sessions(commune.ctl.url, "canbo", PASSWORD, DESKTOP)
    page = editor.page
    editor.go("/compose")
    bad = tmp_path / "cong-van.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF garbage")
    page.set_input_files("#file", str(bad))
    page.click("#btn-prepare")
    error = page.locator('[data-error-for="file"]')
    wait_for(lambda: error.inner_text().strip(), timeout=60, what="the refusal next to the file picker")
    assert "PDF" in error.inner_text() and "500" not in error.inner_text()
    assert page.is_hidden("#step-script")
    page.set_input_files("#file", [])
    page.fill("#text", "Thông báo lịch tiêm phòng cho đàn gia súc vào sáng thứ Hai tuần tới tại nhà văn hóa thôn.")
    page.click("#btn-prepare")
    page.wait_for_selector("#step-script:not([hidden])")
    assert not editor.errors


def test_unknown_words_are_taught_to_the_commune_dictionary_in_one_click(system, sessions):
    commune = setup_commune(system)
    ctl = commune.ctl
    editor = sessions(ctl.url, "canbo", PASSWORD, PHONE)
    page = editor.page
    editor.go("/compose")
    page.fill("#text", "HTXKLB thông báo lịch tưới nước vụ Đông Xuân.\n\nBà con tham gia Festival hoa cúc của xã.")
    page.click("#btn-prepare")
    page.wait_for_selector("#unknown-box:not([hidden])")
    row = page.locator('#unknown-words [data-word="HTXKLB"]')
    assert row.locator("input").input_value() == "hát tê ích ca e lờ bê"
    assert page.locator('#foreign-words [data-word="Festival"]').count() == 1
    assert editor.overflow() <= 0
    row.locator("input").fill("hợp tác xã Khánh Lợi Bắc")
    row.locator("button").click()
    wait_for(lambda: "hợp tác xã khánh lợi bắc" in page.inner_text("#reading").lower(), what="the reading uses the new entry")
    wait_for(lambda: page.locator('#unknown-words [data-word="HTXKLB"]').count() == 0, what="the word no longer listed")

    entries = ctl.api.get("/api/dictionary")["entries"]
    assert [(e["key"], e["reading"], e["updated_by"]) for e in entries] == [("HTXKLB", "hợp tác xã Khánh Lợi Bắc", "canbo")]
    audit = ctl.api.get("/api/audit?action=dictionary_entry_set")
    assert any(a["target"] == "HTXKLB" and a["actor"] == "canbo" for a in audit)

    editor.go("/dictionary")
    assert "hợp tác xã Khánh Lợi Bắc" in page.inner_text("#dictionary-entries")
    assert editor.overflow() <= 0
    page.click('[data-edit="HTXKLB"]')
    page.fill("#dict-reading", "hợp tác xã dịch vụ Khánh Lợi Bắc")
    page.click("#dictionary-form button[type=submit]")
    page.wait_for_load_state("load")
    wait_for(lambda: "hợp tác xã dịch vụ Khánh Lợi Bắc" in page.inner_text("#dictionary-entries"), what="the edited reading")
    page.fill("#dict-key", "")
    page.fill("#dict-reading", "")
    page.click("#dictionary-form button[type=submit]")
    wait_for(lambda: page.locator('[data-error-for="key"]').inner_text().strip(), what="a Vietnamese refusal")
    page.once("dialog", lambda d: d.accept())
    page.click('[data-delete="HTXKLB"]')
    wait_for(lambda: ctl.api.get("/api/dictionary")["entries"] == [], what="the entry removed")
    assert not editor.errors
