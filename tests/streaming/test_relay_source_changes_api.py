"""/api/relay-sources/<id>: administrators edit and remove sources and set a recorded fallback notice.

Each change is audited with what it was before, and a new URL goes on air in a running relay; a source still aired by a relay programme
that is not over, or another source's fallback, is not removed, and the refusal names why;
a bad, oversize or too long notice is refused in Vietnamese and stores nothing.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from controller.devtools.broker_runner import free_port
from loaxa.local_time import to_local
from loaxa.wire_time import utcnow
from support.agent_rig import make_clip
from support.harness import wait_for
from support.stream_rig import HlsSource, decode, dominant_hz
from support.world import make_world

URL = "http://127.0.0.1:9/live.m3u8"


def _add(w, sid: str, name: str, **extra) -> dict:
    r = w.call("root", "POST", "/api/relay-sources", {"id": sid, "name": name, "url": URL, "kind": "hls", **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _media_count(w) -> int:
    with w.controller.db.tx() as db:
        return db.execute("SELECT COUNT(*) FROM media").fetchone()[0]


def test_an_administrator_edits_a_source_and_bad_edits_are_refused_in_vietnamese(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    try:
        _add(w, "vov1", "VOV1", url="https://nghe:bi-mat@vov.example/live.m3u8")
        _add(w, "tinh", "Đài tỉnh")
        r = w.call("root", "PATCH", "/api/relay-sources/vov1",
                   {"name": "VOV1 – Thời sự", "fallback_source_id": "tinh", "unit_id": "",
                    "url": "https://nghe:•••@vov.example/live.m3u8"})  # the URL as the form shows it: unchanged
        assert r.status_code == 200, r.get_json()
        got = r.get_json()
        assert got["name"] == "VOV1 – Thời sự" and got["fallback_source_id"] == "tinh"
        assert got["url"] == "https://nghe:bi-mat@vov.example/live.m3u8"
        [entry] = w.controller.audit.entries(action="relay_source_edited")
        assert entry.actor == "root" and entry.target == "vov1"
        assert entry.details["changes"] == {"name": {"before": "VOV1", "after": "VOV1 – Thời sự"},
                                            "fallback_source_id": {"before": None, "after": "tinh"}}
        r = w.call("root", "PATCH", "/api/relay-sources/vov1", {"url": "https://nghe:moi@vov2.example/live.m3u8"})
        assert r.status_code == 200
        url_change = w.controller.audit.entries(action="relay_source_edited")[0].details["changes"]["url"]
        assert "bi-mat" not in str(url_change) and "moi" not in str(url_change)  # no listener password in the trail
        # nor for those who only read sources
        for who, path in (("auditor", "/api/relay-sources/vov1"), ("editor", "/api/relay-sources")):
            shown = w.call(who, "GET", path).get_json()
            assert "moi" not in str(shown) and "nghe:•••@vov2.example" in str(shown), who
        assert w.call("root", "GET", "/api/relay-sources/vov1").get_json()["url"] == "https://nghe:moi@vov2.example/live.m3u8"

        bad = {
            "kind": ({"kind": "rtmp"}, 400, "Loại nguồn"),
            "url": ({"url": "file:///etc/passwd"}, 400, "http://"),
            "name": ({"name": "  "}, 400, "Tên nguồn"),
            "fallback_source_id": ({"fallback_source_id": "vov1"}, 400, "chính nguồn này"),
            "unit_id": ({"unit_id": "khong-co"}, 400, "Không có đơn vị"),
            "fallback_media_sha256": ({"fallback_media_sha256": "ab" * 32}, 400, "kho âm thanh"),
            "bogus": ({"bogus": 1}, 400, "Không sửa được trường"),
        }
        for field, (changes, status, words) in bad.items():
            r = w.call("root", "PATCH", "/api/relay-sources/vov1", changes)
            assert r.status_code == status and r.get_json()["field"] == field, (field, r.get_json())
            assert words in r.get_json()["error"], (field, r.get_json())
        assert w.call("root", "PATCH", "/api/relay-sources/vov1", {}).get_json()["code"] == "nothing_to_change"
        assert w.call("root", "PATCH", "/api/relay-sources/vov1", data="x",
                      content_type="text/plain").status_code == 400
        assert w.call("root", "PATCH", "/api/relay-sources/khong-co", {"name": "X"}).status_code == 404
        assert w.call("editor", "PATCH", "/api/relay-sources/vov1", {"name": "X"}).status_code == 403
        # a commune's administrator may not change a shared source, nor move one of theirs out of their commune
        scoped = w.call("admin", "PATCH", "/api/relay-sources/vov1", {"name": "X"})
        assert scoped.status_code == 403 and "dùng chung" in scoped.get_json()["error"]
        assert w.call("admin", "POST", "/api/relay-sources", {"id": "xa", "name": "Đài xã", "url": URL, "kind": "hls",
                                                               "unit_id": "xa-a"}).status_code == 201
        assert w.call("admin", "PATCH", "/api/relay-sources/xa", {"name": "Đài xã A"}).status_code == 200
        assert w.call("admin", "PATCH", "/api/relay-sources/xa", {"unit_id": "xa-b"}).status_code == 403
        assert w.controller.streaming.sources.get("vov1").name == "VOV1 – Thời sự"
        assert len(w.controller.audit.entries(action="relay_source_edited")) == 3
    finally:
        w.controller.stop()


def test_a_source_in_use_is_not_removed_and_one_no_longer_used_leaves_every_list(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    try:
        _add(w, "vov1", "VOV1")
        _add(w, "tinh", "Đài tỉnh", fallback_source_id="vov1")
        day = to_local(utcnow()) + timedelta(days=1)
        r = w.call("editor", "POST", "/api/relays", {"source_id": "vov1", "duration_min": 30, "targets": ["xa-a"],
                                                     "rule_text": f"từ ngày {day:%d/%m} đến ngày "
                                                                  f"{day + timedelta(days=6):%d/%m/%Y}, 6 giờ"})
        assert r.status_code == 201, r.get_json()
        relay = r.get_json()

        refused = w.call("root", "DELETE", "/api/relay-sources/vov1")
        assert refused.status_code == 409 and refused.get_json()["code"] == "source_in_use"
        assert "«Tiếp sóng VOV1» (chờ duyệt)" in refused.get_json()["error"]
        assert "hủy các lịch đó" in refused.get_json()["error"]
        assert [d["broadcast_id"] for d in refused.get_json()["details"]] == [relay["id"]]
        assert w.call("approver", "POST", f"/api/broadcasts/{relay['id']}/cancel", {}).status_code == 200

        fallback = w.call("root", "DELETE", "/api/relay-sources/vov1")
        assert fallback.status_code == 409 and fallback.get_json()["code"] == "source_is_fallback"
        assert "«Đài tỉnh»" in fallback.get_json()["error"]
        assert w.call("root", "PATCH", "/api/relay-sources/tinh", {"fallback_source_id": ""}).status_code == 200

        assert w.call("editor", "DELETE", "/api/relay-sources/vov1").status_code == 403
        assert w.call("admin", "DELETE", "/api/relay-sources/vov1").status_code == 403  # a shared source
        r = w.call("root", "DELETE", "/api/relay-sources/vov1")
        assert r.status_code == 200 and r.get_json()["removed_by"] == "root" and r.get_json()["name"] == "VOV1"
        [entry] = w.controller.audit.entries(action="relay_source_removed")
        assert entry.target == "vov1" and entry.details["name"] == "VOV1"

        assert [s["id"] for s in w.call("root", "GET", "/api/relay-sources").get_json()] == ["tinh"]
        gone = w.call("root", "GET", "/api/relay-sources/vov1")
        assert gone.status_code == 404 and "đã bị xóa" in gone.get_json()["error"]
        assert w.call("root", "DELETE", "/api/relay-sources/vov1").status_code == 404
        assert w.call("root", "PATCH", "/api/relay-sources/vov1", {"name": "X"}).status_code == 404
        again = w.call("editor", "POST", "/api/relays", {"source_id": "vov1", "duration_min": 30, "targets": ["xa-a"],
                                                         "rule_text": f"ngày {day:%d/%m/%Y}, 7 giờ"})
        assert again.status_code == 404 and "đã bị xóa" in again.get_json()["error"]
        assert w.call("root", "PATCH", "/api/relay-sources/tinh", {"fallback_source_id": "vov1"}).status_code == 400
        assert w.call("root", "POST", "/api/relay-sources", {"id": "vov1", "name": "VOV1", "url": URL,
                                                             "kind": "hls"}).status_code == 409
        # the cancelled relay still names its source: the row stays for the history
        assert w.controller.bulletins.get(relay["bulletin_id"]).relay_source_id == "vov1"
        relays_page = w.call("editor", "GET", "/relays").get_data(as_text=True)
        assert 'value="vov1"' not in relays_page and 'value="tinh"' in relays_page
    finally:
        w.controller.stop()


def test_a_recorded_notice_is_uploaded_or_picked_and_bad_files_are_refused(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    try:
        _add(w, "vov1", "VOV1")
        clip = make_clip(tmp_path / "clips", 4, freq=500, ext="mp3")
        before = _media_count(w)

        def upload(who: str, name: str, data: bytes):
            return w.call(who, "POST", "/api/relay-sources/vov1/notice", data={"file": (io.BytesIO(data), name)},
                          content_type="multipart/form-data")

        refusals = {
            "not audio": (upload("root", "thong-bao.wav", b"RIFF khong phai am thanh" * 100), 400, "không phải âm thanh"),
            "wrong type": (upload("root", "thong-bao.txt", clip.path.read_bytes()), 400, "MP3, WAV, M4A hoặc OGG"),
            "oversize": (upload("root", "lon.wav", b"\0" * (25 * 1024 * 1024 + 1)), 400, "lớn quá 25 MB"),
            "too long": (upload("root", "dai.mp3", make_clip(tmp_path / "long", 150, freq=500, ext="mp3").path.read_bytes()),
                         400, "tối đa 120 giây"),
            "no file": (w.call("root", "POST", "/api/relay-sources/vov1/notice", data={},
                               content_type="multipart/form-data"), 400, "Chưa chọn tệp"),
            "editor": (upload("editor", "thong-bao.mp3", clip.path.read_bytes()), 403, ""),
        }
        for what, (r, status, words) in refusals.items():
            assert r.status_code == status, (what, r.get_json())
            assert words in r.get_json()["error"], (what, r.get_json())
            if status == 400:
                assert r.get_json()["field"] == "notice", what
        assert _media_count(w) == before and w.controller.streaming.sources.get("vov1").fallback_media_sha256 is None

        r = upload("root", "thong-bao-su-co.mp3", clip.path.read_bytes())
        assert r.status_code == 200, r.get_json()
        sha = r.get_json()["fallback_media_sha256"]
        with w.controller.db.tx() as db:
            ext, duration, engine = db.execute("SELECT ext, duration_s, engine FROM media WHERE sha256 = ?", [sha]).fetchone()
        assert (ext, engine) == ("ogg", "upload") and 3.5 < duration < 5
        assert (w.controller.config.media_dir / f"{sha}.ogg").is_file()
        [entry] = w.controller.audit.entries(action="relay_source_edited")
        assert entry.details["changes"]["fallback_media_sha256"] == {"before": None, "after": sha}
        assert entry.details["notice_file"] == "thong-bao-su-co.mp3"

        # another source picks the same notice from the store
        _add(w, "tinh", "Đài tỉnh")
        notices = w.call("root", "GET", "/api/relay-notices").get_json()
        assert [n["sha256"] for n in notices] == [sha] and "giây" in notices[0]["label"]
        assert w.call("editor", "GET", "/api/relay-notices").status_code == 403
        r = w.call("root", "PATCH", "/api/relay-sources/tinh", {"fallback_media_sha256": sha})
        assert r.status_code == 200 and r.get_json()["fallback_media_sha256"] == sha
        # a long recording set through the API is refused as a notice
        with w.controller.db.tx() as db:
            db["media"].insert({"sha256": "cd" * 32, "ext": "ogg", "size": 1, "duration_s": 900.0, "engine": "espeak",
                                "created_at": "2026-01-01T00:00:00.000+00:00"})
        r = w.call("root", "PATCH", "/api/relay-sources/tinh", {"fallback_media_sha256": "cd" * 32})
        assert r.status_code == 400 and "tối đa 120 giây" in r.get_json()["error"]
        assert w.call("root", "PATCH", "/api/relay-sources/tinh", {"fallback_media_sha256": ""}).get_json()[
            "fallback_media_sha256"] is None
    finally:
        w.controller.stop()


def test_a_new_url_goes_on_air_at_once_in_a_running_relay_and_a_new_name_does_not_restart_it(tmp_path: Path):
    icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))  # reachable by Icecast's own account
    w = make_world(tmp_path / "ctl", streaming_enabled="true", streaming_port=str(free_port()),
                   streaming_config_dir=str(icecast_dir / "icecast"))
    c = w.controller
    first, second = HlsSource(tmp_path / "hls-600", freq=600).start(), HlsSource(tmp_path / "hls-900", freq=900).start()
    try:
        c.streaming.start()
        assert first.ready() and second.ready()
        _add(w, "vov1", "VOV1", url=first.url)
        relay = c.streaming.ensure_relay("vov1", time.time() + 90)
        account = c.streaming.accounts.for_device("loa-a")
        listen = c.streaming.address("/relay-vov1.ogg", account).url.replace(
            "://", f"://{account.username}:{account.password}@")

        def hears(hz: int):
            return lambda: abs(dominant_hz(decode(listen, 1.0)[0]) - hz) < 15

        wait_for(hears(600), timeout=30, what="the first URL on the mount")
        assert w.call("root", "PATCH", "/api/relay-sources/vov1", {"name": "VOV1 – Thời sự"}).status_code == 200
        assert c.streaming.relay("vov1") is relay  # a new name does not cut the relay
        assert w.call("root", "PATCH", "/api/relay-sources/vov1", {"url": second.url}).status_code == 200
        assert c.streaming.relay("vov1") is not relay and not relay.encoder_alive
        wait_for(hears(900), timeout=30, what="the new URL on the same mount")
    finally:
        c.stop()
        c.streaming.stop()
        first.close()
        second.close()
        shutil.rmtree(icecast_dir, ignore_errors=True)
