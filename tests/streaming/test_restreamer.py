"""The restreamer on real parts: ffmpeg sources on loopback, a real Icecast, listeners decoding the mount."""

from __future__ import annotations

import time
from pathlib import Path

from controller.db import Database
from controller.streaming.accounts import StreamAccounts
from controller.streaming.restreamer import Restreamer
from controller.streaming.sources import RelaySource, Sources, probe
from support.harness import wait_for
from support.stream_rig import HlsSource, IcecastRig, IcecastSource, decode, dominant_hz, received_kbps


def _listener(icecast: IcecastRig, db: Database, mount: str) -> str:
    acc = StreamAccounts(db, icecast.layout).for_device("pole-a")
    return icecast.listen_url(mount).replace("://", f"://{acc.username}:{acc.password}@")


def test_hls_source_is_restreamed_as_opus_under_240_kilobytes_a_minute(icecast: IcecastRig, tmp_path: Path):
    db = Database(tmp_path / "c.db")
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    src = RelaySource("vov1", "VOV1", hls.url, "hls")
    try:
        wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the HLS playlist")
        with Restreamer(src, icecast.source_url(src.mount)):
            url = _listener(icecast, db, src.mount)
            pcm = wait_for(lambda: (lambda p: p if abs(dominant_hz(p) - 600) < 15 else None)(decode(url, 2.0)[0]),
                           timeout=20, what="the HLS tone on the Opus mount")
            assert len(pcm) >= 2 * 48000 * 2 * 0.9
            kbps = received_kbps(url, 6.0)
            assert 16 <= kbps <= 32, kbps  # 24 kb/s Opus in Ogg: at most 240 kB a minute
    finally:
        hls.close()
        db.close()


def test_a_dead_source_fails_over_within_5_s_and_comes_back(icecast: IcecastRig, tmp_path: Path):
    db = Database(tmp_path / "c.db")
    sources = Sources(db)
    primary_feed = IcecastSource(icecast, "/prov.mp3", freq=800).start()
    backup_feed = HlsSource(tmp_path / "hls", freq=400).start()
    relay_acc = StreamAccounts(db, icecast.layout).for_device("relay-in")
    prov_url = icecast.listen_url("/prov.mp3").replace("://", f"://{relay_acc.username}:{relay_acc.password}@")
    backup = sources.add("VOV dự phòng", backup_feed.url, "hls", source_id="vov-backup")
    primary = sources.add("Đài tỉnh", prov_url, "http", fallback_source_id="vov-backup", source_id="prov")
    switches = []
    try:
        wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the backup playlist")
        wait_for(lambda: decode(prov_url, 0.2)[0], timeout=10, what="the provincial mount on air")
        with Restreamer(primary, icecast.source_url("/relay-prov.ogg"), fallback=backup, failover_s=2.0,
                        on_switch=lambda sw: (switches.append(sw), sources.log_switch(
                            "prov", "/relay-prov.ogg", sw.from_input, sw.to_input, sw.reason))) as rs:
            url = _listener(icecast, db, "/relay-prov.ogg")
            wait_for(lambda: abs(dominant_hz(decode(url, 1.0)[0]) - 800) < 15, timeout=20, what="the primary tone")
            died = time.time()
            primary_feed.kill()
            wait_for(lambda: rs.on_air == "fallback", timeout=6, what="the switch to the fallback")
            wait_for(lambda: abs(dominant_hz(decode(url, 1.0)[0]) - 400) < 15, timeout=10, what="the fallback tone")
            assert switches[0].at - died <= 5.0
            primary_feed.start()
            wait_for(lambda: rs.on_air == "primary", timeout=20, what="the return to the primary")
            wait_for(lambda: abs(dominant_hz(decode(url, 1.0)[0]) - 800) < 15, timeout=10, what="the primary again")
        logged = sources.switches("prov")
        assert [(s.from_input, s.to_input) for s in logged] == [("primary", "fallback"), ("fallback", "primary")]
    finally:
        primary_feed.close()
        backup_feed.close()
        db.close()


def test_probe_reports_codec_and_bitrate_and_explains_what_is_not_a_stream(tmp_path: Path):
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    (tmp_path / "hls" / "page.html").write_text("<html>không phải luồng</html>")
    (tmp_path / "hls" / "loop.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000\nloop.m3u8\n")
    try:
        wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the HLS playlist")
        ok = probe(hls.url, "hls", seconds=3)
        assert ok.alive and ok.codec == "aac" and not ok.silent, ok
        page = probe(hls.url.replace("live.m3u8", "page.html"), "http", seconds=2)
        assert not page.alive and page.message_vi
        missing = probe(hls.url.replace("live.m3u8", "none.m3u8"), "hls", seconds=2)
        assert not missing.alive and missing.reason == "http_error", missing
        loop = probe(hls.url.replace("live.m3u8", "loop.m3u8"), "hls", seconds=2)
        assert not loop.alive and loop.message_vi, loop
    finally:
        hls.close()
