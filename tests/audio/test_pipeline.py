"""render_text and master_upload end to end: real espeak-ng, ffmpeg and files; Google played by a local server."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from audio.pipeline import RenderError, RenderedMedia, master_upload, render_text
from audio.settings import AudioSettings
from support.google_stand_in import GoogleStandIn, make_mp3
from support.loudness import analyse, ffmpeg, stream

TEXT = (
    "Thông báo tiêm vắc xin\n\n"
    "Trạm y tế xã thông báo: sáng thứ bảy tổ chức tiêm vắc xin cho trẻ em.\n\n"
    "Đề nghị các gia đình đưa trẻ đến đúng giờ."
)
ESPEAK = AudioSettings(engine="espeak")


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture(scope="module")
def mp3() -> bytes:
    return make_mp3(0.4)


@pytest.fixture
def google(mp3: bytes):
    with GoogleStandIn(mp3) as server:
        yield server


def with_google(server: GoogleStandIn, **overrides) -> AudioSettings:
    return dataclasses.replace(
        AudioSettings(engine="auto", gtts_endpoint=server.url, gtts_min_interval_s=0, gtts_backoff_s=0.01,
                      gtts_read_timeout_s=0.3, gtts_connect_timeout_s=1.0),
        **overrides,
    )


def stored(media_dir: Path) -> list[str]:
    return sorted(p.name for p in media_dir.iterdir()) if media_dir.exists() else []


def assert_delivered(media: RenderedMedia, media_dir: Path, target: float = -16.0) -> None:
    assert stored(media_dir) == sorted([media.path.name, media.mp3_path.name])
    assert media.path == media_dir / f"{media.sha256}.ogg" and media.mp3_path == media_dir / f"{media.mp3_sha256}.mp3"
    assert hashlib.sha256(media.path.read_bytes()).hexdigest() == media.sha256
    assert hashlib.sha256(media.mp3_path.read_bytes()).hexdigest() == media.mp3_sha256
    assert (media.size, media.mp3_size) == (media.path.stat().st_size, media.mp3_path.stat().st_size)
    info = stream(media.path)
    assert (info["codec"], info["channels"]) == ("opus", 1)
    assert media.duration_s == pytest.approx(info["duration"], abs=0.05)
    for path in (media.path, media.mp3_path):
        loudness, true_peak = analyse(path)
        assert loudness == pytest.approx(target, abs=1.0)
        assert true_peak <= -1.0
    assert media.loudness_lufs == pytest.approx(analyse(media.path)[0], abs=0.3)


def test_espeak_render_is_mastered_and_stored_by_sha256(media_dir: Path):
    media = render_text(TEXT, ESPEAK, media_dir)
    assert media.engine == "espeak" and media.offline_voice and not media.cached
    assert_delivered(media, media_dir)


def test_an_identical_render_never_synthesizes_again(media_dir: Path, monkeypatch: pytest.MonkeyPatch):
    first = render_text(TEXT, ESPEAK, media_dir)
    with monkeypatch.context() as m:
        m.setenv("PATH", "")  # neither espeak-ng nor ffmpeg could run now
        again = render_text(TEXT, ESPEAK, media_dir)
    assert again.cached and again.sha256 == first.sha256 and again.mp3_sha256 == first.mp3_sha256
    assert again.loudness_lufs == first.loudness_lufs and again.duration_s == first.duration_s
    quieter = render_text(TEXT, dataclasses.replace(ESPEAK, target_lufs=-20.0), media_dir)
    assert not quieter.cached and quieter.sha256 != first.sha256
    assert analyse(quieter.path)[0] == pytest.approx(-20.0, abs=1.0)


def test_a_pruned_media_store_makes_the_cache_render_again(media_dir: Path):
    first = render_text(TEXT, ESPEAK, media_dir)
    first.path.unlink()
    again = render_text(TEXT, ESPEAK, media_dir)
    assert not again.cached and again.path.is_file()


def test_chimes_and_paragraph_pauses_frame_the_speech(media_dir: Path):
    bare = render_text(TEXT, dataclasses.replace(ESPEAK, chime=False, paragraph_pause_ms=0), media_dir)
    framed = render_text(TEXT, dataclasses.replace(ESPEAK, chime=True, paragraph_pause_ms=2000), media_dir)
    chimes = 2 * (1.9 + 0.4)
    pauses = 2 * 2.0
    assert framed.duration_s - bare.duration_s == pytest.approx(chimes + pauses, abs=0.1)


def test_auto_speaks_with_google_when_it_answers(google: GoogleStandIn, media_dir: Path):
    google.queue.append(429)
    media = render_text(TEXT, with_google(google), media_dir)
    assert media.engine == "gtts" and not media.offline_voice
    assert google.count >= 4  # three paragraphs, one throttled request retried
    assert_delivered(media, media_dir)


@pytest.mark.timeout(30)
def test_auto_falls_back_to_espeak_on_timeout_and_then_skips_google(google: GoogleStandIn, media_dir: Path):
    google.always = "stall"
    media = render_text(TEXT, with_google(google), media_dir)
    assert media.engine == "espeak" and media.offline_voice
    assert google.count == 1
    later = render_text("Một thông báo khác.", with_google(google), media_dir)
    assert later.engine == "espeak" and google.count == 1
    retry_now = render_text("Thông báo thứ ba.", with_google(google, gtts_cooldown_s=0), media_dir)
    assert retry_now.engine == "espeak" and google.count == 2


@pytest.mark.timeout(30)
def test_offline_auto_falls_back_and_explicit_gtts_fails_clearly(tmp_path: Path):
    with GoogleStandIn(b"") as gone:
        offline = with_google(gone)
    media = render_text(TEXT, offline, tmp_path / "a")
    assert media.engine == "espeak"
    with pytest.raises(RenderError, match="cannot reach 127.0.0.1"):
        render_text(TEXT, dataclasses.replace(offline, engine="gtts"), tmp_path / "b")
    assert stored(tmp_path / "b") == []


def test_a_google_render_is_reused_while_offline(mp3: bytes, media_dir: Path):
    with GoogleStandIn(mp3) as server:
        online = render_text(TEXT, with_google(server), media_dir)
    again = render_text(TEXT, with_google(server), media_dir)
    assert online.engine == again.engine == "gtts"
    assert again.cached and again.sha256 == online.sha256


def test_nothing_to_say_is_refused(media_dir: Path):
    with pytest.raises(RenderError, match="empty"):
        render_text(" \n\n … \n", ESPEAK, media_dir)
    assert stored(media_dir) == []


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stereo 44.1 kHz recording, as a phone or an office PC would make it."""
    import subprocess

    folder = tmp_path_factory.mktemp("uploads")
    mono = folder / "mono.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(mono), "Xin chào bà con, đây là bản ghi âm của xã."], check=True, capture_output=True)
    stereo = folder / "speech.wav"
    ffmpeg("-i", str(mono), "-af", "volume=-12dB", "-ac", "2", "-ar", "44100", str(stereo))
    return stereo


@pytest.mark.parametrize(("suffix", "codec"), [("wav", "pcm_s16le"), ("mp3", "libmp3lame"), ("m4a", "aac"), ("ogg", "libvorbis")])
def test_uploads_get_the_same_mastering(speech_wav: Path, tmp_path: Path, media_dir: Path, suffix: str, codec: str):
    upload = tmp_path / f"upload.{suffix}"
    ffmpeg("-i", str(speech_wav), "-c:a", codec, str(upload))
    media = master_upload(upload, AudioSettings(), media_dir)
    assert media.engine == "upload" and not media.cached
    assert_delivered(media, media_dir)
    assert media.duration_s == pytest.approx(stream(speech_wav)["duration"], abs=0.1)
    assert master_upload(upload, AudioSettings(), media_dir).cached


def write_bad_upload(kind: str, path: Path) -> None:
    if kind == "text":
        path.write_text("Đây không phải là âm thanh.\n" * 20, encoding="utf-8")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "image":
        ffmpeg("-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", "-f", "image2", str(path))
    elif kind == "noise-bytes":
        path.write_bytes(bytes(range(256)) * 64)


@pytest.mark.parametrize(
    ("kind", "message"),
    [("text", "not a readable recording"), ("empty", "empty"), ("image", "not an audio recording"), ("noise-bytes", "not a readable recording")],
)
def test_unreadable_uploads_are_refused_and_nothing_is_stored(tmp_path: Path, media_dir: Path, kind: str, message: str):
    upload = tmp_path / "upload.mp3"
    write_bad_upload(kind, upload)
    with pytest.raises(RenderError, match=message):
        master_upload(upload, AudioSettings(), media_dir)
    assert stored(media_dir) == []
    assert not (tmp_path / "render-cache").exists()


def test_silent_or_too_long_uploads_are_refused(tmp_path: Path, media_dir: Path):
    silent = tmp_path / "silent.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "8", str(silent))
    with pytest.raises(RenderError, match="silent"):
        master_upload(silent, AudioSettings(), media_dir)
    with pytest.raises(RenderError, match="lasts 0 minutes; the limit is 0.1"):
        master_upload(silent, AudioSettings(max_upload_minutes=0.1), media_dir)
    assert stored(media_dir) == []
