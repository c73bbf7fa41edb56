"""Render speed and delivery size: the four corpus bulletins through clean → normalize → espeak-ng → master → encode.

``render_rtf`` is seconds of delivered audio per wall-clock second (median of five
runs, each with an empty render cache, so nothing is served from a previous run);
the target on the reference 2-core machine is at least 30.  ``opus_kbytes_per_min``
is the Opus file size per minute of speech, in kilobytes of 1000 bytes: what a
bulletin costs on a device's 4G data plan.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path

from audio.document import clean_document
from audio.pipeline import render_text
from audio.settings import AudioSettings

log = logging.getLogger(__name__)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bulletins"
RUNS = 5


def _one_run(sources: list[str], settings: AudioSettings) -> tuple[float, float, int]:
    """(audio seconds, wall seconds, Opus bytes) for rendering every source once."""
    audio_s = 0.0
    opus_bytes = 0
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        started = time.perf_counter()
        for source in sources:
            media = render_text(clean_document(source).text, settings, Path(tmp) / "media")
            audio_s += media.duration_s
            opus_bytes += media.size
        wall_s = time.perf_counter() - started
    return audio_s, wall_s, opus_bytes


def run() -> dict[str, float]:
    paths = sorted(CORPUS.glob("*.txt"))
    if not paths:
        raise SystemExit(f"no corpus bulletins in {CORPUS}")
    sources = [p.read_text(encoding="utf-8") for p in paths]
    settings = AudioSettings(engine="espeak")
    rtfs = []
    kbytes_per_min = []
    for index in range(RUNS):
        audio_s, wall_s, opus_bytes = _one_run(sources, settings)
        rtfs.append(audio_s / wall_s)
        kbytes_per_min.append(opus_bytes / 1000 / (audio_s / 60))
        log.info("run %d: %.0f s of audio in %.1f s (%.1fx real time)", index + 1, audio_s, wall_s, rtfs[-1])
    return {"render_rtf": statistics.median(rtfs), "opus_kbytes_per_min": statistics.median(kbytes_per_min)}
