"""The administrator's "Nguồn tiếp sóng" page in real headless Chromium, against sources made by ffmpeg on loopback.

An HLS stream written to a directory and served over HTTP (VOV's shape) and an MP3 tone pushed
to a real Icecast (a provincial station).  The "test" button has the controller listen with
ffmpeg; the browser then plays what it heard from the controller.  Bad sources (a page that is
not a stream, a playlist that loops back on itself, a codec ffmpeg cannot decode, a dead host)
are explained in Vietnamese, and the form keeps what was typed.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from controller.devtools.broker_runner import free_port
from controller.streaming.accounts import StreamAccounts
from support.browser import PHONE, ServedApp, Session, chromium, wait_js
from support.stream_rig import HlsSource, IcecastRig, IcecastSource
from support.world import PASSWORD, make_world

pytestmark = pytest.mark.browser

PROBE_S = 5  # the product listens 10 s (streaming.probe_s); the test keeps the same path, shorter


def _bad_files(directory: Path) -> None:
    """Files beside the HLS stream: a web page, a playlist naming itself, a WAV of an unknown codec."""
    (directory / "page.html").write_text("<html><body>Trang tin xã</body></html>")
    (directory / "loop.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000\nloop.m3u8\n")
    fmt = struct.pack("<HHIIHH", 0x7777, 1, 48000, 96000, 2, 16)
    data = b"\0" * 96000
    (directory / "odd.wav").write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                                        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
                                        + b"data" + struct.pack("<I", len(data)) + data)


def _test_in_form(s: Session, url: str, kind: str) -> str:
    s.page.select_option("#source-kind", kind)
    s.page.fill("#source-url", url)
    s.page.click("#source-test")
    wait_js(s.page, "document.getElementById('source-test-result').dataset.reason !== undefined "
                    "&& !document.getElementById('source-test').disabled", timeout=40, what=f"the test of {url}")
    return s.page.get_attribute("#source-test-result", "data-reason")


def test_an_administrator_registers_and_tests_relay_sources_and_bad_ones_are_explained(tmp_path: Path):
    w = make_world(tmp_path / "ctl", streaming_probe_s=str(PROBE_S))
    c = w.controller
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    _bad_files(hls.dir)
    base = hls.url.rsplit("/", 1)[0]
    icecast = IcecastRig(tmp_path / "ice", tls=False).start()
    province = IcecastSource(icecast, "/prov.mp3", freq=800).start()
    listener = StreamAccounts(c.db, icecast.layout).for_device("relay-in")
    prov_url = icecast.listen_url("/prov.mp3").replace("://", f"://{listener.username}:{listener.password}@")
    served = ServedApp(w.app)
    try:
        assert hls.ready()
        with chromium("--autoplay-policy=no-user-gesture-required") as browser:
            s = Session(browser, served.url, "root", PASSWORD, viewport=PHONE)
            s.go("/relay-sources")
            assert s.page.is_visible("#no-sources")
            s.page.fill("#source-name", "VOV1")

            # bad sources: each is named in Vietnamese, nothing is stored, the form keeps what was typed
            bad = {f"{base}/page.html": ("http", "not_a_stream", "không phải là một luồng"),
                   f"{base}/loop.m3u8": ("hls", "loop", "vòng lại chính nó"),
                   f"{base}/odd.wav": ("http", "codec", "không giải mã được"),
                   f"http://127.0.0.1:{free_port()}/live.m3u8": ("hls", "unreachable", "Không kết nối được")}
            for url, (kind, reason, words) in bad.items():
                assert _test_in_form(s, url, kind) == reason, url
                assert words in s.page.text_content("#source-test-result")
                assert s.page.is_hidden("#source-test-audio")
                assert s.page.input_value("#source-url") == url and s.page.input_value("#source-name") == "VOV1"
            s.page.fill("#source-url", "ftp://vov.vn/live")
            s.page.click("#source-test")
            wait_js(s.page, "document.querySelector('[data-error-for=url]').textContent.length > 0")
            assert "http://" in s.page.text_content('[data-error-for="url"]')
            assert not c.streaming.sources.list()

            # the VOV-like HLS source: alive, its codec and bitrate, and the browser plays what was heard
            assert _test_in_form(s, hls.url, "hls") == "ok"
            said = s.page.text_content("#source-test-result")
            assert "Nguồn đang phát" in said and "aac" in said
            wait_js(s.page, "document.getElementById('source-test-audio').currentTime > 1.5", timeout=20,
                    what="the browser playing the test")
            played = s.page.evaluate("(() => { const a = document.getElementById('source-test-audio');"
                                     " return {src: a.src, duration: a.duration, error: a.error}; })()")
            assert played["src"].startswith(served.url + "/api/relay-previews/") and played["error"] is None
            assert PROBE_S * 0.6 <= played["duration"] <= PROBE_S + 0.5
            s.page.click("#source-form button[type=submit]")
            s.page.wait_for_selector("#source-list [data-source]")

            # the provincial station's Icecast MP3, with VOV1 as its fallback; tested from the list
            s.page.fill("#source-name", "Đài tỉnh")
            s.page.select_option("#source-kind", "http")
            s.page.fill("#source-url", prov_url)
            vov = c.streaming.sources.list()[0]
            s.page.select_option("#source-fallback", vov.id)
            s.page.click("#source-form button[type=submit]")
            s.page.wait_for_selector("#source-list [data-source]:nth-child(2)")
            prov = next(x for x in c.streaming.sources.list() if x.name == "Đài tỉnh")
            assert listener.password not in s.page.text_content("#source-list")  # the account's password is hidden
            row = f'#source-list [data-source="{prov.id}"]'
            s.page.click(f"{row} [data-probe]")
            wait_js(s.page, f"document.querySelector('{row} .probe-result').dataset.reason === 'ok'", timeout=40,
                    what="the test of the provincial station")
            said = s.page.text_content(f"{row} .probe-result")
            assert "mp3" in said and "64 kb/s" in said
            wait_js(s.page, f"document.querySelector('{row} .probe-audio').currentTime > 1.5", timeout=20,
                    what="the browser playing the provincial station")
            s.shot("relay-sources")  # the operator guide's picture
            assert s.overflow() == 0 and not s.errors
            s.close()

        assert {x.name: x.fallback_source_id for x in c.streaming.sources.list()} == {"VOV1": None, "Đài tỉnh": vov.id}
        assert prov.kind == "http" and vov.kind == "hls" and vov.unit_id is None
        assert c.streaming.sources.get(prov.id).last_probe["codec"] == "mp3"
        assert [e.actor for e in c.audit.entries(action="relay_source_added")] == ["root", "root"]
        # a test's recording is the controller's to serve, to people who may manage sources
        preview = played["src"].removeprefix(served.url)
        assert w.call("editor", "GET", preview).status_code == 403
        heard = w.call("root", "GET", preview)
        assert heard.status_code == 200 and heard.data[:4] == b"OggS"
        assert w.call("root", "GET", "/api/relay-previews/khong-co").status_code == 404
    finally:
        served.close()
        province.close()
        icecast.stop()
        hls.close()
        c.stop()
