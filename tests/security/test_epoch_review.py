"""A flagged new epoch of a pole is reviewed by an approver of its commune, once, and audited.

A pole's event numbering restarting (a new epoch) is flagged, since replayed records under a
fresh epoch looked like that in the penetration test.  On a real controller and a really
enrolled pole: editors and approvers of another commune cannot close the flag, an approver
of the pole's commune can (over the API and from the device page in Chromium), the audit
trail names who and what they found, and a second review is refused.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from controller.cli_http.client import ApiError
from edge_agent.config import AgentConfig
from loaxa import protocol
from loaxa.config import load_config
from loaxa.protocol import EventBatch, PlaybackEvent, Signer
from loaxa.wire_time import utcnow
from support.browser import CHROMIUM, CHROMIUM_ARGS, Session
from support.harness import wait_for
from support.secure_rig import Client, SecureRig


def _flag_two_epochs(secure: SecureRig, ctl) -> None:
    """The pole's own key seals batches of two epochs (a reinstalled pole): the second is flagged."""
    config = load_config(AgentConfig, secure.root / "agent-loa-1.toml", env={})
    key = Signer.from_pem(config.device_key_path.read_bytes())
    pole = Client(secure.port, config.mqtt.username, config.mqtt.password, client_id=config.mqtt.username)
    try:
        for epoch in ("epoch-a", "epoch-b"):
            batch = EventBatch(device_id="loa-1", epoch=epoch, events=(
                PlaybackEvent(seq=1, kind="security", recorded_at=utcnow(), reason="tamper"),))
            pole.publish(protocol.events_topic("loa-1"), key.seal(batch))
            wait_for(lambda: ctl.events(epoch=epoch), timeout=20, what=f"the {epoch} batch stored")
    finally:
        pole.close()


def _flag_gone(page) -> bool:
    """The page reloaded (the API answered) and no longer shows epoch-b; False while it navigates."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return (page.evaluate("document.readyState") == "complete"
                and page.query_selector('#epochs-to-review [data-epoch="epoch-b"]') is None)
    except PlaywrightError:
        return False


def _person(ctl, username: str, role: str, unit: str) -> str:
    password = secrets.token_urlsafe(12)
    ctl.loaxa_cli("user", "add", username, "--role", role, "--unit", unit, stdin=password + "\n")
    return password


def test_only_an_approver_of_the_poles_commune_marks_a_flagged_epoch_reviewed(secure: SecureRig):
    ctl, pole, _ = secure.commune_with_pole("loa-1")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["online"], timeout=30, what="loa-1 online")
    pole.stop()
    ctl.api.post("/api/units", {"id": "xb", "name": "Xã Khác", "level": "commune"})
    _flag_two_epochs(secure, ctl)
    flagged = [e["epoch"] for e in ctl.api.get("/api/devices/loa-1")["epochs_to_review"]]
    assert "epoch-b" in flagged  # (epoch-a too when the real pole had sent events of its own before it stopped)

    path = "/api/devices/loa-1/epoch-review"
    with pytest.raises(ApiError) as editor:
        ctl.user_api("bientap", "editor", "xa").post(path, {"epoch": "epoch-b"})
    assert editor.value.status == 403
    with pytest.raises(ApiError) as elsewhere:
        ctl.user_api("duyet-xb", "approver", "xb").post(path, {"epoch": "epoch-b"})
    assert elsewhere.value.status == 404  # a pole outside one's commune is unknown, not forbidden
    approver = ctl.user_api("duyet-xa", "approver", "xa")
    for bad, code in (({"epoch": {"a": 1}}, "invalid_epoch"), ({"epoch": "epoch-b", "note": "x" * 501}, "invalid_note"),
                      ({"epoch": "khong-co"}, "unknown_epoch")):
        with pytest.raises(ApiError) as refused:
            approver.post(path, bad)
        assert refused.value.status in (400, 404) and refused.value.code == code and refused.value.args[0]
    assert [e["epoch"] for e in ctl.api.get("/api/devices/loa-1")["epochs_to_review"]] == flagged  # refusals change nothing

    done = approver.post(path, {"epoch": "epoch-b", "note": "Thay thẻ nhớ hôm qua, đã kiểm tra tại cột."})
    assert done["reviewed_by"] == "duyet-xa" and done["epoch"] == "epoch-b" and done["reviewed_at"]
    assert [e["epoch"] for e in ctl.api.get("/api/devices/loa-1")["epochs_to_review"]] == [e for e in flagged if e != "epoch-b"]
    entry = [e for e in ctl.api.get("/api/audit") if e["action"] == "device_epoch_reviewed"]
    assert len(entry) == 1 and entry[0]["actor"] == "duyet-xa" and entry[0]["target"] == "loa-1"
    assert entry[0]["details"]["epoch"] == "epoch-b" and "thẻ nhớ" in entry[0]["details"]["note"]
    with pytest.raises(ApiError) as again:
        approver.post(path, {"epoch": "epoch-b"})
    assert again.value.status == 409 and again.value.code == "already_reviewed"
    with ctl.db() as conn:
        assert conn.execute("SELECT reviewed_by FROM device_epochs WHERE epoch = 'epoch-b'").fetchone()[0] == "duyet-xa"


@pytest.mark.browser
def test_the_device_page_shows_a_flagged_epoch_and_an_approver_closes_it(secure: SecureRig):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (scripts/install-system-deps.sh --test)")
    from playwright.sync_api import sync_playwright

    ctl, pole, _ = secure.commune_with_pole("loa-1")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["online"], timeout=30, what="loa-1 online")
    pole.stop()
    _flag_two_epochs(secure, ctl)
    editor_pw, approver_pw = _person(ctl, "bientap", "editor", "xa"), _person(ctl, "duyet-xa", "approver", "xa")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            editor = Session(browser, ctl.url, "bientap", editor_pw)
            editor.go("/devices/loa-1")
            assert "epoch-b" in editor.page.inner_text("#epochs-to-review")
            assert editor.page.query_selector("#epochs-to-review form") is None  # editors see it, cannot close it
            editor.close()

            approver = Session(browser, ctl.url, "duyet-xa", approver_pw)
            approver.go("/devices/loa-1")
            form = approver.page.locator('#epochs-to-review [data-epoch="epoch-b"] form')
            form.locator('input[name="note"]').fill("Đã kiểm tra tại cột loa.")
            approver.page.once("dialog", lambda d: d.accept())
            form.locator("button[type=submit]").click()
            wait_for(lambda: _flag_gone(approver.page), timeout=20, what="the page reloaded without the flag")
            assert approver.errors == []
            approver.close()
        finally:
            browser.close()
    entry = [e for e in ctl.api.get("/api/audit") if e["action"] == "device_epoch_reviewed"]
    assert entry and entry[0]["actor"] == "duyet-xa" and entry[0]["details"]["note"] == "Đã kiểm tra tại cột loa."
