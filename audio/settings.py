"""Settings of the audio pipeline, one section of the controller's configuration."""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import setting


@dataclass(frozen=True)
class AudioSettings:
    engine: str = setting("auto", "speech engine: auto (gTTS, falling back to espeak-ng), gtts or espeak")
    espeak_voice: str = setting("vi", "espeak-ng voice")
    espeak_rate_wpm: int = setting(140, "espeak-ng speaking rate in words per minute")
    opus_bitrate_kbps: int = setting(24, "Opus delivery bitrate in kb/s (mono)")
