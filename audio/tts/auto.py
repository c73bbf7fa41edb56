"""Which engines a render tries, in order: the 'auto' policy lives here.

'auto' prefers Google's natural voice and falls back to espeak-ng when Google is
unreachable or failing.  The fallback replaces the whole render, never a part of it,
so one bulletin is never read in two voices.  The rendered media records which engine
spoke, so the web UI can warn "giọng đọc ngoại tuyến".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audio.settings import AudioSettings
from audio.tts.base import SpeechEngine
from audio.tts.espeak import EspeakEngine
from audio.tts.google import GoogleEngine


@dataclass(frozen=True)
class EnginePlan:
    """Engines to try in order; with ``fallback``, an engine that is not ready is skipped."""

    engines: tuple[SpeechEngine, ...]
    fallback: bool


def plan_engines(settings: AudioSettings, cache_dir: Path | None = None) -> EnginePlan:
    espeak = EspeakEngine.from_settings(settings)
    if settings.engine == "espeak":
        return EnginePlan((espeak,), fallback=False)
    google = GoogleEngine(settings, cache_dir)
    if settings.engine == "gtts":
        return EnginePlan((google,), fallback=False)
    return EnginePlan((google, espeak), fallback=True)
