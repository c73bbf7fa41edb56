"""Text to delivery-ready media: the minimal espeak-ng → Opus path."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from audio.settings import AudioSettings

log = logging.getLogger(__name__)


class RenderError(RuntimeError):
    """Speech or encoding failed; the message says which step and why."""


@dataclass(frozen=True)
class RenderedMedia:
    sha256: str
    ext: str
    size: int
    duration_s: float
    engine: str
    path: Path


def _probe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return float(json.loads(out.stdout)["format"]["duration"])


def store_media(data_path: Path, media_dir: Path, ext: str) -> tuple[str, Path]:
    """Move a finished file into the content-addressed store as ``<sha256>.<ext>``."""
    digest = hashlib.sha256(data_path.read_bytes()).hexdigest()
    media_dir.mkdir(parents=True, exist_ok=True)
    final = media_dir / f"{digest}.{ext}"
    os.replace(data_path, final)
    return digest, final


def render_text(text: str, settings: AudioSettings, media_dir: Path) -> RenderedMedia:
    """Speak ``text`` with espeak-ng and encode it to Opus in Ogg under ``media_dir``."""
    if not text.strip():
        raise RenderError("nothing to say: the text is empty")
    media_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=media_dir) as tmp:
        wav = Path(tmp) / "speech.wav"
        ogg = Path(tmp) / "speech.ogg"
        try:
            subprocess.run(
                ["espeak-ng", "-v", settings.espeak_voice, "-s", str(settings.espeak_rate_wpm), "-w", str(wav), "--stdin"],
                input=text.encode("utf-8"), capture_output=True, check=True, timeout=600,
            )
            subprocess.run(
                ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar", "48000",
                 "-c:a", "libopus", "-b:a", f"{settings.opus_bitrate_kbps}k", str(ogg)],
                capture_output=True, check=True, timeout=600,
            )
        except subprocess.CalledProcessError as exc:
            raise RenderError(f"{exc.cmd[0]} failed: {exc.stderr.decode(errors='replace')[-500:]}") from None
        duration = _probe_duration(ogg)
        digest, final = store_media(ogg, media_dir, "ogg")
    log.info("rendered %.1f s of speech with espeak-ng as %s", duration, digest[:12])
    return RenderedMedia(digest, "ogg", final.stat().st_size, duration, "espeak", final)
