"""The gTTS engine against a local stand-in for Google (real HTTP, real gTTS request bodies, real MP3)."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest
from pydub import AudioSegment

from audio.settings import AudioSettings
from audio.tts.base import EngineUnavailable
from audio.tts.google import GoogleEngine, Health, Throttle, split_sentences
from support.google_stand_in import GoogleStandIn, make_mp3

PIECE_S = 0.5
LONG_SENTENCE = (
    "Ủy ban nhân dân xã đề nghị bà con nhân dân trong toàn xã chủ động theo dõi thông tin dự báo thời tiết, "
    "gia cố nhà cửa, chằng chống mái tôn, cắt tỉa cây xanh quanh nhà và chuẩn bị lương thực, nước uống, "
    "thuốc men cho ít nhất ba ngày."
)


@pytest.fixture(scope="module")
def mp3() -> bytes:
    return make_mp3(PIECE_S)


@pytest.fixture
def google(mp3: bytes):
    with GoogleStandIn(mp3) as server:
        yield server


def words(text: str) -> list[str]:
    return re.sub(r"[,.]", " ", text).split()


def settings_for(server: GoogleStandIn, **overrides) -> AudioSettings:
    base = AudioSettings(
        gtts_endpoint=server.url, gtts_min_interval_s=0, gtts_backoff_s=0.01, gtts_read_timeout_s=0.5,
        gtts_connect_timeout_s=1.0,
    )
    return dataclasses.replace(base, **overrides)


def test_a_long_sentence_goes_out_in_pieces_gtts_accepts(google: GoogleStandIn, tmp_path: Path):
    engine = GoogleEngine(settings_for(google), tmp_path)
    audio = engine.speak(LONG_SENTENCE)
    assert google.count >= 3
    assert all(0 < len(t) <= 100 for t in google.texts)
    assert set(google.langs) == {"vi"}
    assert words(" ".join(google.texts)) == words(LONG_SENTENCE)
    assert audio.channels == 1 and audio.sample_width == 2
    assert len(audio) == pytest.approx(google.count * len(AudioSegment.from_mp3(io.BytesIO(google.mp3))), abs=30)


def test_sentences_are_cached_so_nothing_is_asked_twice(google: GoogleStandIn, tmp_path: Path):
    settings = settings_for(google)
    GoogleEngine(settings, tmp_path).speak("Trạm y tế xã thông báo. Tiêm vắc xin sáng thứ bảy.")
    assert google.count == 2
    GoogleEngine(settings, tmp_path).speak("Trạm y tế xã thông báo. Tiêm vắc xin sáng thứ bảy.")
    assert google.count == 2
    GoogleEngine(settings, tmp_path).speak("Trạm y tế xã thông báo. Mang theo sổ tiêm chủng.")
    assert google.texts[2:] == ["Mang theo sổ tiêm chủng."]


def test_429_is_retried_after_a_backoff_and_then_succeeds(google: GoogleStandIn, tmp_path: Path):
    google.queue.extend([429, 429])
    sleeps: list[float] = []
    engine = GoogleEngine(settings_for(google, gtts_retries=3), tmp_path, sleep=sleeps.append)
    audio = engine.speak("Xin chào bà con.")
    assert google.count == 3
    assert sleeps == [0.0, 0.0]  # the stand-in sends Retry-After: 0, which wins over the backoff
    assert len(audio) > 300
    assert engine.ready()


def test_backoff_doubles_without_retry_after(google: GoogleStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    google.queue.extend([503, 503, 503])
    sleeps: list[float] = []
    monkeypatch.setattr("audio.tts.google._retry_after", lambda response: None)
    engine = GoogleEngine(settings_for(google, gtts_retries=3, gtts_backoff_s=0.01), tmp_path, sleep=sleeps.append)
    engine.speak("Xin chào bà con.")
    assert sleeps == [0.01, 0.02, 0.04]


def test_persistent_server_errors_give_up_and_start_the_cooldown(google: GoogleStandIn, tmp_path: Path):
    google.always = 503
    engine = GoogleEngine(settings_for(google, gtts_retries=2), tmp_path)
    with pytest.raises(EngineUnavailable, match="503"):
        engine.speak("Xin chào bà con.")
    assert google.count == 3
    assert not engine.ready()
    assert not GoogleEngine(settings_for(google), tmp_path).ready()
    assert GoogleEngine(settings_for(google, gtts_cooldown_s=0), tmp_path).ready()


@pytest.mark.timeout(20)
def test_a_server_that_never_answers_times_out(google: GoogleStandIn, tmp_path: Path):
    google.always = "stall"
    engine = GoogleEngine(settings_for(google, gtts_read_timeout_s=0.3), tmp_path)
    with pytest.raises(EngineUnavailable, match="did not answer within 0.3 s"):
        engine.speak("Xin chào bà con.")
    assert google.count == 1


@pytest.mark.timeout(20)
def test_offline_fails_at_once_without_retrying(tmp_path: Path):
    with GoogleStandIn(b"") as gone:
        url = gone.url
    engine = GoogleEngine(AudioSettings(gtts_endpoint=url, gtts_retries=5), tmp_path)
    with pytest.raises(EngineUnavailable, match="cannot reach 127.0.0.1"):
        engine.speak("Xin chào bà con.")
    assert not engine.ready()


def test_unknown_host_fails_with_a_clear_message(tmp_path: Path):
    engine = GoogleEngine(AudioSettings(gtts_endpoint="http://tts.invalid"), tmp_path)
    with pytest.raises(EngineUnavailable, match="cannot look up tts.invalid"):
        engine.speak("Xin chào.")


def test_an_answer_without_audio_or_a_refusal_is_reported(google: GoogleStandIn, tmp_path: Path):
    google.queue.extend(["no-audio", 403])
    with pytest.raises(EngineUnavailable, match="without audio"):
        GoogleEngine(settings_for(google), tmp_path).speak("Một.")
    with pytest.raises(EngineUnavailable, match="refused the request: 403"):
        GoogleEngine(settings_for(google), tmp_path).speak("Hai.")


def test_the_budget_stops_waiting_on_a_throttled_google(google: GoogleStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    google.always = 429
    monkeypatch.setattr("audio.tts.google._retry_after", lambda response: 8.0)
    sleeps: list[float] = []
    engine = GoogleEngine(settings_for(google, gtts_budget_s=5, gtts_retries=10), tmp_path, sleep=sleeps.append)
    with pytest.raises(EngineUnavailable, match="budget"):
        engine.speak("Xin chào bà con.")
    assert sleeps == [] and google.count == 1


def test_speech_rate_stretches_without_new_requests(google: GoogleStandIn, tmp_path: Path):
    normal = GoogleEngine(settings_for(google), tmp_path).speak("Xin chào bà con.")
    slower = GoogleEngine(settings_for(google, speech_rate=0.8), tmp_path).speak("Xin chào bà con.")
    assert google.count == 1
    assert len(slower) / len(normal) == pytest.approx(1 / 0.8, rel=0.05)
    assert GoogleEngine(settings_for(google, speech_rate=0.8)).identity["rate"] == 0.8


def test_throttle_spaces_requests():
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    throttle = Throttle(clock=lambda: now[0], sleep=sleep)
    throttle.wait(0.5)
    now[0] += 0.2
    throttle.wait(0.5)
    now[0] += 1.0
    throttle.wait(0.5)
    assert sleeps == [pytest.approx(0.3)]


def test_health_cools_down_for_the_configured_time():
    now = [0.0]
    health = Health(clock=lambda: now[0])
    health.record_failure("offline")
    now[0] = 299.0
    assert health.cooling_down(300)
    now[0] = 301.0
    assert not health.cooling_down(300)


def test_sentences_split_at_ends_and_lines():
    assert split_sentences("Một. Hai! Ba?\nBốn… năm; sáu") == ["Một.", "Hai!", "Ba?", "Bốn…", "năm;", "sáu"]
    assert split_sentences(" … \n") == []
