"""The espeak-ng engine, always available offline."""

from __future__ import annotations

import pytest

from audio.settings import AudioSettings
from audio.tts.auto import plan_engines
from audio.tts.base import EngineUnavailable
from audio.tts.espeak import EspeakEngine
from audio.tts.google import GoogleEngine

TEXT = "Trạm y tế xã thông báo lịch tiêm vắc xin cho trẻ em dưới năm tuổi."


def test_speaks_vietnamese_as_mono_pcm():
    audio = EspeakEngine().speak(TEXT)
    assert audio.channels == 1 and audio.sample_width == 2 and audio.frame_rate == 22050
    assert len(audio) > 2000
    assert audio.dBFS > -40


def test_a_slower_commune_rate_lengthens_speech_naturally():
    settings = AudioSettings(commune_speech_rate=["Tân Lập=0.7"])
    normal = EspeakEngine.from_settings(settings)
    slow = EspeakEngine.from_settings(settings.for_commune("TÂN LẬP"))
    assert slow.rate_wpm == round(140 * 0.7)
    assert slow.identity != normal.identity
    assert len(slow.speak(TEXT)) > 1.25 * len(normal.speak(TEXT))


def test_an_unknown_voice_is_reported():
    with pytest.raises(EngineUnavailable, match="has no voice .no-such-voice."):
        EspeakEngine(voice="no-such-voice").speak(TEXT)


def test_missing_espeak_is_reported(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", "")
    engine = EspeakEngine()
    assert not engine.ready()
    with pytest.raises(EngineUnavailable, match="not installed"):
        engine.speak(TEXT)


@pytest.mark.parametrize(
    ("engine", "names", "fallback"),
    [("auto", ["gtts", "espeak"], True), ("gtts", ["gtts"], False), ("espeak", ["espeak"], False)],
)
def test_engine_plans(engine: str, names: list[str], fallback: bool):
    plan = plan_engines(AudioSettings(engine=engine))
    assert [e.name for e in plan.engines] == names
    assert plan.fallback is fallback
    assert all(isinstance(e, (EspeakEngine, GoogleEngine)) for e in plan.engines)
