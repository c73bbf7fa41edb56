"""espeak-ng: a robotic but always available offline voice."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydub import AudioSegment

from audio.settings import AudioSettings
from audio.tts.base import EngineUnavailable, SpeechEngine

ESPEAK = "espeak-ng"


@lru_cache(maxsize=1)
def installed_voices() -> frozenset[str]:
    """Names a voice can be given by (language, name, file); espeak-ng itself silently falls back to English."""
    listing = subprocess.run([ESPEAK, "--voices"], capture_output=True, text=True, timeout=30).stdout
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 5:
            names.update(c.casefold() for c in (columns[1], columns[3], columns[4], columns[4].rsplit("/", 1)[-1]))
    return frozenset(names)


class EspeakEngine(SpeechEngine):
    name = "espeak"
    concurrency = max(1, os.cpu_count() or 1)

    def __init__(self, voice: str = "vi", rate_wpm: int = 140, pitch: int = 50):
        self.voice = voice
        self.rate_wpm = max(80, min(450, rate_wpm))
        self.pitch = pitch

    @classmethod
    def from_settings(cls, settings: AudioSettings) -> EspeakEngine:
        """Speech rate scales the words per minute: espeak-ng slows down naturally, without stretching."""
        return cls(settings.espeak_voice, round(settings.espeak_rate_wpm * settings.speech_rate), settings.espeak_pitch)

    @property
    def identity(self) -> dict[str, Any]:
        return {"engine": self.name, "voice": self.voice, "rate_wpm": self.rate_wpm, "pitch": self.pitch}

    def ready(self) -> bool:
        return shutil.which(ESPEAK) is not None

    def speak(self, text: str) -> AudioSegment:
        if not self.ready():
            raise EngineUnavailable(f"{ESPEAK} is not installed")
        if self.voice.split("+")[0].casefold() not in installed_voices():
            raise EngineUnavailable(f"{ESPEAK} has no voice {self.voice!r} (see: {ESPEAK} --voices)")
        with tempfile.TemporaryDirectory(prefix="loaxa-espeak-") as tmp:
            wav = Path(tmp) / "speech.wav"
            cmd = [ESPEAK, "-v", self.voice, "-s", str(self.rate_wpm), "-p", str(self.pitch), "-w", str(wav), "--stdin"]
            try:
                subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=True, timeout=300)
            except subprocess.CalledProcessError as exc:
                raise EngineUnavailable(f"{ESPEAK} failed: {exc.stderr.decode(errors='replace').strip()[-300:]}") from None
            except subprocess.TimeoutExpired:
                raise EngineUnavailable(f"{ESPEAK} did not finish within 300 s") from None
            with wave.open(str(wav), "rb") as w:
                return AudioSegment(
                    data=w.readframes(w.getnframes()), sample_width=w.getsampwidth(),
                    frame_rate=w.getframerate(), channels=w.getnchannels(),
                )
