"""GET /api/render-progress/<id> while POST /api/bulletins renders for real (espeak-ng, ffmpeg), in process."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from audio.progress import RenderProgress
from controller.config import ControllerConfig
from controller.service import Controller
from loaxa.config import load_config
from web.app import create_app

PASSWORD = "mat-khau-tien-do"
PARAGRAPHS = 6
SCRIPT = "\n\n".join(f"Đoạn thứ {n}: bà con lưu ý lịch tiêm chủng của trạm y tế xã." for n in range(1, PARAGRAPHS + 1))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An editor and an approver (both may draft) and an auditor (may not), all over one commune."""
    data = tmp_path_factory.mktemp("progress")
    c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": str(data), "LOAXA_AUDIO_ENGINE": "espeak",
                                                      "LOAXA_MQTT_PORT": "9"}))
    c.registry.add_unit("xa", "Xã Thử", None, "commune")
    tokens = {}
    for name, role in (("canbo", "editor"), ("chutich", "approver"), ("kiemtra", "auditor")):
        c.users.add(name, PASSWORD, role, "xa")
        tokens[name] = c.users.create_token(name)
    yield c, create_app(c, {"TESTING": True}), tokens
    c.stop()


def call(world, who: str, method: str, path: str, **kw) -> Any:
    _, app, tokens = world
    return app.test_client().open(path, method=method, headers={"Authorization": f"Bearer {tokens[who]}"}, **kw)


def test_progress_is_visible_to_its_owner_while_the_render_runs(world, monkeypatch):
    c = world[0]
    reached, release = threading.Event(), threading.Event()
    start = c.render_progress.start

    def start_held(progress_id: Any, owner: str):
        """The real registry, with the render held after its second paragraph until the test has looked."""
        report = start(progress_id, owner)

        def held(event: RenderProgress) -> None:
            report(event)
            if event.stage == "speaking" and event.done == 2:
                reached.set()
                release.wait(timeout=30)

        return held

    monkeypatch.setattr(c.render_progress, "start", start_held)
    result: dict[str, Any] = {}
    post = threading.Thread(target=lambda: result.update(r=call(world, "canbo", "POST", "/api/bulletins", json={
        "title": "Lịch tiêm", "text": SCRIPT, "script": SCRIPT, "progress_id": "tien-do_0001"})))
    post.start()
    try:
        assert reached.wait(timeout=30), "the render never reached its second paragraph"
        during = call(world, "canbo", "GET", "/api/render-progress/tien-do_0001")
        assert during.status_code == 200
        assert during.json == {"stage": "speaking", "done": 2, "total": PARAGRAPHS, "engine": "espeak",
                               "fraction": round(0.05 * 2 / PARAGRAPHS, 3), "message": f"Đang đọc đoạn 2/{PARAGRAPHS}"}
        other = call(world, "chutich", "GET", "/api/render-progress/tien-do_0001")
        assert other.status_code == 404 and other.json["code"] == "unknown_progress"
        assert call(world, "kiemtra", "GET", "/api/render-progress/tien-do_0001").status_code == 403
    finally:
        release.set()
        post.join(timeout=60)
    assert result["r"].status_code == 201
    bulletin = result["r"].json
    assert bulletin["script"] == SCRIPT and bulletin["media"]["engine"] == "espeak"
    after = call(world, "canbo", "GET", "/api/render-progress/tien-do_0001").json
    assert after["stage"] == "done" and after["message"] == "Đã xong"


def test_bad_or_unknown_ids_are_refused_and_nothing_is_stored(world):
    before = len(call(world, "canbo", "GET", "/api/bulletins").json)
    bad = call(world, "canbo", "POST", "/api/bulletins", json={"text": "Thông báo.", "progress_id": "x y"})
    assert bad.status_code == 400 and bad.json["field"] == "progress_id"
    assert len(call(world, "canbo", "GET", "/api/bulletins").json) == before
    short = call(world, "canbo", "GET", "/api/render-progress/abc")
    assert short.status_code == 400 and short.json["code"] == "invalid_progress_id"
    unknown = call(world, "canbo", "GET", "/api/render-progress/never-started-01")
    assert unknown.status_code == 404 and "Không có tiến độ" in unknown.json["error"]


def test_without_a_progress_id_the_interface_is_unchanged(world):
    r = call(world, "canbo", "POST", "/api/bulletins", json={"text": "Thông báo mất điện.\n\nXin cảm ơn."})
    assert r.status_code == 201 and r.json["media"]["sha256"]
