"""Settings of the audio pipeline, one section of the controller's configuration.

Every value is checked once, here, when the settings are built, so the pipeline can
trust them.  Speech rate is the one setting that varies by commune: horns on a pole
need slower speech than headphones, so ``commune_speech_rate`` overrides it per name
and :meth:`AudioSettings.for_commune` applies the override.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loaxa.config import ConfigError, section, setting

if TYPE_CHECKING:
    from audio.intake.model import IntakeLimits

ENGINES = ("auto", "gtts", "espeak")
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128)


@dataclass(frozen=True)
class AudioSettings:
    engine: str = setting("auto", "speech engine: auto (gTTS, falling back to espeak-ng when offline or failing), gtts or espeak")
    speech_rate: float = setting(1.0, "speech speed relative to the engine's normal pace (0.5-2.0); below 1 suits outdoor horns")
    commune_speech_rate: list[str] = setting([], "per-commune speech rate overrides, each written 'Commune name=0.85'")

    gtts_lang: str = setting("vi", "gTTS language")
    gtts_tld: str = setting("com", "Google Translate domain suffix used by gTTS (com, com.vn, ...)")
    gtts_endpoint: str = setting("", "base URL of the Google Translate host; empty means https://translate.google.<tld>")
    gtts_slow: bool = setting(False, "use Google's slow reading mode (much slower than speech_rate 0.8)")
    gtts_connect_timeout_s: float = setting(3.0, "seconds to wait for name lookup and connection before declaring Google unreachable")
    gtts_read_timeout_s: float = setting(10.0, "seconds to wait for each gTTS answer")
    gtts_min_interval_s: float = setting(0.35, "least time between two gTTS requests, so Google does not answer 429")
    gtts_retries: int = setting(3, "retries of one gTTS request after 429 or 5xx")
    gtts_backoff_s: float = setting(1.0, "first wait before a retry; doubles each time, capped at 8 s, unless Google sends Retry-After")
    gtts_budget_s: float = setting(90.0, "longest time one render may spend on gTTS before falling back")
    gtts_cooldown_s: float = setting(300.0, "after gTTS fails, how long 'auto' goes straight to espeak-ng")

    espeak_voice: str = setting("vi", "espeak-ng voice")
    espeak_rate_wpm: int = setting(140, "espeak-ng speaking rate in words per minute at speech_rate 1.0")
    espeak_pitch: int = setting(50, "espeak-ng pitch, 0-99")

    chime: bool = setting(True, "play a short generated chime before and after spoken bulletins")
    paragraph_pause_ms: int = setting(700, "silence between paragraphs, in milliseconds")
    bandpass: bool = setting(False, "band-limit speech for horn speakers (see bandpass_low_hz and bandpass_high_hz)")
    bandpass_low_hz: int = setting(250, "lower edge of the horn band-pass")
    bandpass_high_hz: int = setting(5000, "upper edge of the horn band-pass")
    target_lufs: float = setting(-16.0, "integrated loudness target (EBU R128), in LUFS")
    true_peak_dbtp: float = setting(-1.0, "highest true peak allowed in delivered files, in dBTP")

    opus_bitrate_kbps: int = setting(32, "Opus delivery bitrate in kb/s (mono); below 32, libopus often overshoots the true-peak ceiling and the file is encoded again")
    opus_complexity: int = setting(7, "Opus encoder complexity 0-10: higher sounds slightly better and encodes slower")
    mp3_bitrate_kbps: int = setting(48, "MP3 fallback bitrate in kb/s (mono, 24 kHz)")
    max_upload_minutes: float = setting(60.0, "longest uploaded recording accepted")
    cache_dir: str = setting("", "render cache folder; empty means 'render-cache' beside the media store")

    intake_max_mb: int = setting(50, "largest document or photo accepted for reading, in MB")
    intake_max_pages: int = setting(30, "most pages read from one PDF; a longer file is refused with this limit named")
    ocr_low_confidence: float = setting(75.0, "OCR words read with less confidence (0-100) are marked for the official to check")
    ocr_timeout_s: float = setting(120.0, "longest Tesseract may spend on one page")

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise ConfigError("[audio] " + "; ".join(problems))

    def commune_rates(self) -> dict[str, float]:
        """The per-commune speech rates, keyed by :func:`commune_key`."""
        return dict(_parse_rate(entry) for entry in self.commune_speech_rate)

    def for_commune(self, name: str | None) -> AudioSettings:
        """These settings with the commune's speech rate applied, if it has one."""
        if not name:
            return self
        rate = self.commune_rates().get(commune_key(name))
        return self if rate is None else dataclasses.replace(self, speech_rate=rate)

    def intake_limits(self) -> "IntakeLimits":
        """What one uploaded document may ask of the machine (see :mod:`audio.intake`)."""
        from audio.intake.model import MB, IntakeLimits

        return IntakeLimits(max_bytes=self.intake_max_mb * MB, max_pages=self.intake_max_pages,
                            low_confidence=self.ocr_low_confidence, ocr_timeout_s=self.ocr_timeout_s)


def commune_key(name: str) -> str:
    """Compare commune names the way people type them: any Unicode form, any case."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _parse_rate(entry: str) -> tuple[str, float]:
    name, sep, value = entry.rpartition("=")
    try:
        rate = float(value)
    except ValueError:
        rate = float("nan")
    if not sep or not name.strip() or not 0.5 <= rate <= 2.0:
        raise ConfigError(f"[audio] commune_speech_rate entry {entry!r}: write it as 'Commune name=0.85' with a rate from 0.5 to 2.0")
    return commune_key(name), rate


def _problems(s: AudioSettings) -> Any:
    def outside(name: str, lo: float, hi: float) -> str | None:
        value = getattr(s, name)
        return None if lo <= value <= hi else f"{name} = {value} is outside {lo}..{hi}"

    if s.engine not in ENGINES:
        yield f"engine = {s.engine!r} is not one of {', '.join(ENGINES)}"
    for name, lo, hi in (
        ("speech_rate", 0.5, 2.0), ("gtts_connect_timeout_s", 0.1, 60), ("gtts_read_timeout_s", 0.1, 120),
        ("gtts_min_interval_s", 0, 10), ("gtts_retries", 0, 10), ("gtts_backoff_s", 0, 60),
        ("gtts_budget_s", 1, 3600), ("gtts_cooldown_s", 0, 86400), ("espeak_rate_wpm", 80, 450),
        ("espeak_pitch", 0, 99), ("paragraph_pause_ms", 0, 10000), ("bandpass_low_hz", 20, 2000),
        ("bandpass_high_hz", 2000, 7500), ("target_lufs", -40, -5), ("true_peak_dbtp", -9, 0),
        ("opus_bitrate_kbps", 6, 256), ("opus_complexity", 0, 10), ("max_upload_minutes", 0.1, 600),
        ("intake_max_mb", 1, 500), ("intake_max_pages", 1, 1000), ("ocr_low_confidence", 0, 100),
        ("ocr_timeout_s", 5, 3600),
    ):
        problem = outside(name, lo, hi)
        if problem:
            yield problem
    if s.mp3_bitrate_kbps not in MP3_BITRATES:
        yield f"mp3_bitrate_kbps = {s.mp3_bitrate_kbps} is not one of {', '.join(map(str, MP3_BITRATES))}"
    for entry in s.commune_speech_rate:
        try:
            _parse_rate(entry)
        except ConfigError as exc:
            yield str(exc).removeprefix("[audio] ")


@dataclass(frozen=True)
class StandaloneAudioConfig:
    """The audio section on its own, for commands run without a controller (env ``LOAXA_AUDIO_*``)."""

    audio: AudioSettings = section(AudioSettings, "speech synthesis and mastering")
