"""/api/relay-sources: administrators register sources and test them; bad input answers in Vietnamese."""

from __future__ import annotations

from pathlib import Path

from support.harness import wait_for
from support.stream_rig import HlsSource
from support.world import make_world


def test_an_administrator_registers_and_tests_a_source_and_bad_ones_are_explained(tmp_path: Path):
    w = make_world(tmp_path / "ctl", streaming_probe_s="3")
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    try:
        wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the HLS playlist")
        r = w.call("root", "POST", "/api/relay-sources", {"id": "vov1", "name": "VOV1", "url": hls.url, "kind": "hls"})
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["mount"] == "/relay-vov1.ogg"
        assert w.controller.audit.entries(action="relay_source_added")

        bad = w.call("root", "POST", "/api/relay-sources", {"name": "VOV", "url": "file:///etc/passwd", "kind": "hls"})
        assert bad.status_code == 400 and "http" in bad.get_json()["error"]
        session = w.call("root", "POST", "/api/relay-sources", {"name": "VOV", "kind": "hls",
                                                                "url": "https://x.vn/a/chunklist_w123.m3u8"})
        assert session.status_code == 400 and "chunklist" in session.get_json()["error"]
        editor = w.call("editor", "POST", "/api/relay-sources", {"name": "VOV", "url": hls.url, "kind": "hls"})
        assert editor.status_code == 403

        probe = w.call("root", "POST", "/api/relay-sources/vov1/probe")
        assert probe.status_code == 200 and probe.get_json()["alive"] and probe.get_json()["codec"] == "aac"
        listed = w.call("auditor", "GET", "/api/relay-sources").get_json()
        assert [s["id"] for s in listed] == ["vov1"] and listed[0]["last_probe"]["alive"]
        assert w.call("root", "POST", "/api/relay-sources/none/probe").status_code == 404
    finally:
        hls.close()
        w.controller.stop()


def test_a_source_is_tested_before_it_is_registered_and_what_was_heard_is_served_by_the_controller(tmp_path: Path):
    w = make_world(tmp_path / "ctl", streaming_probe_s="3")
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    try:
        assert hls.ready()
        # a playlist naming itself by its full address is a loop, named before ffmpeg would listen until its timeout
        (hls.dir / "self.m3u8").write_text(f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{hls.url.rsplit('/', 1)[0]}/self.m3u8\n")
        loop = w.call("root", "POST", "/api/relay-sources/probe", {"url": hls.url.replace("live", "self"),
                                                                     "kind": "hls"}).get_json()
        assert loop["reason"] == "loop" and not loop["alive"] and loop["preview_url"] is None
        ok = w.call("root", "POST", "/api/relay-sources/probe", {"url": hls.url, "kind": "hls"})
        assert ok.status_code == 200 and ok.get_json()["alive"] and ok.get_json()["codec"] == "aac"
        heard = w.call("root", "GET", ok.get_json()["preview_url"])
        assert heard.status_code == 200 and heard.data[:4] == b"OggS" and heard.mimetype == "audio/ogg"
        assert not w.controller.streaming.sources.list()  # a test registers nothing
        for bad, field in (({"url": "ftp://vov.vn/a", "kind": "hls"}, "url"), ({"url": hls.url, "kind": "rtmp"}, "kind"),
                           ({"kind": "hls"}, "url")):
            r = w.call("root", "POST", "/api/relay-sources/probe", bad)
            assert r.status_code == 400 and r.get_json()["field"] == field and r.get_json()["error"], bad
        assert w.call("editor", "POST", "/api/relay-sources/probe", {"url": hls.url, "kind": "hls"}).status_code == 403
        assert w.call("editor", "GET", ok.get_json()["preview_url"]).status_code == 403
        assert w.call("root", "GET", "/api/relay-previews/../../c.db").status_code == 404
        # the page's form sends "" for "no unit" and "no fallback": that is none, not an unknown unit
        r = w.call("root", "POST", "/api/relay-sources", {"name": "VOV1", "url": hls.url, "kind": "hls", "unit_id": "",
                                                          "fallback_source_id": ""})
        assert r.status_code == 201 and r.get_json()["unit_id"] is None and r.get_json()["fallback_source_id"] is None
    finally:
        hls.close()
        w.controller.stop()
