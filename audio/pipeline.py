"""Approved script or uploaded recording → delivery-ready media in the content-addressed store.

:func:`render_text` normalizes the approved script, speaks it paragraph by paragraph
(gTTS, or espeak-ng when Google is out of reach), frames it with the chimes and
paragraph pauses, masters it to the loudness target and stores ``<sha256>.ogg``
(Opus) plus the ``<sha256>.mp3`` fallback.  :func:`master_upload` gives an uploaded
recording the same mastering.  Both consult the render cache first, and both leave
the media store untouched when they fail.  Both take an optional ``progress`` callback
that hears each step (:mod:`audio.progress`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from audio.progress import ProgressCallback, RenderProgress, notify
from audio.settings import AudioSettings

if TYPE_CHECKING:
    from pydub import AudioSegment

    from audio.normalize import Abbreviations
    from audio.render_cache import RenderCache
    from audio.tts.base import SpeechEngine

log = logging.getLogger(__name__)

CHIME_GAP_MS = 400
UPLOAD_FORMATS = {"mp3": "MP3", "wav": "WAV", "mov,mp4,m4a,3gp,3g2,mj2": "M4A", "ogg": "OGG"}
UPLOAD_ENGINE = "upload"


SPEAKING_SHARES = {"gtts": 0.6, "espeak": 0.05}
STORING_AT = 0.98


def speaking_share(engine: str) -> float:
    """The part of a render's time a voice typically takes (measured: espeak-ng speaks 30
    paragraphs in 0.4 s and mastering takes 9.5 s; Google's voice is one request per piece)."""
    return SPEAKING_SHARES.get(engine, 0.3)


class RenderError(RuntimeError):
    """Speech, mastering or an upload failed; the message says which step and why."""


@dataclass(frozen=True)
class RenderedMedia:
    """Stored media: the Opus file (``sha256``, ``path``) and its MP3 fallback.

    ``engine`` is "gtts", "espeak" (the offline voice, worth a warning in the UI) or
    "upload"; loudness and true peak are measured on the stored Opus file.
    """

    sha256: str
    ext: str
    size: int
    duration_s: float
    engine: str
    path: Path
    loudness_lufs: float
    true_peak_dbtp: float
    mp3_sha256: str
    mp3_size: int
    mp3_path: Path
    cached: bool = False

    @property
    def offline_voice(self) -> bool:
        return self.engine == "espeak"


def cache_root(settings: AudioSettings, media_dir: Path) -> Path:
    return Path(settings.cache_dir).expanduser() if settings.cache_dir else media_dir.parent / "render-cache"


def store_media(data_path: Path, media_dir: Path, ext: str) -> tuple[str, Path]:
    """Move a finished file into the content-addressed store as ``<sha256>.<ext>``."""
    digest = _sha256(data_path)
    media_dir.mkdir(parents=True, exist_ok=True)
    final = media_dir / f"{digest}.{ext}"
    os.replace(data_path, final)
    return digest, final


def spoken_paragraphs(text: str, dictionary: Abbreviations | None = None,
                      local: Abbreviations | None = None) -> list[str]:
    """The script as it will be spoken, one entry per paragraph (paragraphs are separated by blank lines).

    ``local`` is the commune's own dictionary, applied before every other rule."""
    from audio.normalize import normalize

    spoken = normalize(text.replace("\r\n", "\n"), dictionary, local).text
    paragraphs = (" ".join(block.split()) for block in spoken.split("\n\n"))
    return [p for p in paragraphs if any(c.isalnum() for c in p)]


def render_text(
    text: str,
    settings: AudioSettings,
    media_dir: Path,
    *,
    dictionary: Abbreviations | None = None,
    progress: ProgressCallback | None = None,
    attention: bool = False,
    bare: bool = False,
    local: Abbreviations | None = None,
) -> RenderedMedia:
    """Speak the approved script ``text`` and store it mastered, as Opus and MP3, in ``media_dir``.

    With engine "auto", Google's voice is tried first and espeak-ng replaces it for the
    whole render when Google is unreachable or failing; a recent failure skips Google
    for ``gtts_cooldown_s``.  Raises :class:`RenderError` when no engine can speak.

    ``progress`` hears normalizing, speaking (paragraphs done of total), fallback when
    a voice gives up, mastering, storing and done; a cache hit goes straight to done.

    ``local`` is the commune's own dictionary (see :func:`spoken_paragraphs`).

    ``attention`` opens with the warning signal (:mod:`audio.attention`) instead of the
    bulletin chime, for official disaster warnings.  ``bare`` is the speech alone, without
    chime or signal: the words of a warning whose signal (:func:`render_attention`) airs
    as its own item just before them.
    """
    from audio.tts.auto import plan_engines
    from audio.tts.base import EngineUnavailable
    from audio.master import mastering_identity
    from audio.render_cache import RenderCache, render_key

    notify(progress, RenderProgress("normalizing"))
    paragraphs = spoken_paragraphs(text, dictionary, local)
    if not paragraphs:
        raise RenderError("nothing to say: the text is empty")
    cache = RenderCache(cache_root(settings, media_dir))
    plan = plan_engines(settings, cache.root)
    failures: list[str] = []
    for engine in plan.engines:
        key = render_key({
            "paragraphs": paragraphs, "engine": engine.identity, "master": mastering_identity(settings),
            "chime": settings.chime, "pause_ms": settings.paragraph_pause_ms,
            **({"attention": True} if attention else {}), **({"bare": True} if bare else {}),
        })
        hit = _from_cache(cache, key, media_dir)
        if hit is not None:
            log.info("render cache hit: %s voice, %s", hit.engine, hit.sha256[:12])
            notify(progress, RenderProgress("done", engine=hit.engine, fraction=1.0))
            return hit
        if plan.fallback and not engine.ready():
            failures.append(f"{engine.name} skipped after a recent failure")
            log.info("skipping %s: it failed recently", engine.name)
            notify(progress, RenderProgress("fallback", engine=engine.name))
            continue
        try:
            speech = _speak_all(engine, paragraphs, progress)
        except EngineUnavailable as exc:
            failures.append(f"{engine.name}: {exc}")
            log.warning("%s cannot speak: %s", engine.name, exc)
            notify(progress, RenderProgress("fallback", engine=engine.name))
            continue
        share = speaking_share(engine.name)
        notify(progress, RenderProgress("mastering", engine=engine.name, fraction=share))
        program = _assemble(speech, settings, attention, bare)
        media = _master_and_store(program, settings, media_dir, engine.name, progress, share)
        cache.save(key, _record(media))
        log.info("rendered %.1f s with %s as %s (%.1f LUFS)", media.duration_s, engine.name, media.sha256[:12], media.loudness_lufs)
        notify(progress, RenderProgress("done", engine=engine.name, fraction=1.0))
        return media
    raise RenderError("no speech engine could speak: " + "; ".join(failures))


ATTENTION_RATE = 24000
ATTENTION_FORMAT = 1  # bump when the signal itself changes


def render_attention(settings: AudioSettings, media_dir: Path) -> RenderedMedia:
    """The attention signal alone, then the pause that separates it from the words, mastered and stored.

    A warning's signal is the same every time, so it is made once (then read from the render
    cache) and can air as its own item at once while the warning's words are still being
    spoken: the words (``render_text(..., bare=True)``) follow it back to back.
    """
    from pydub import AudioSegment

    from audio.attention import attention_tone
    from audio.master import mastering_identity
    from audio.render_cache import RenderCache, render_key

    cache = RenderCache(cache_root(settings, media_dir))
    key = render_key({"attention_signal": ATTENTION_FORMAT, "gap_ms": CHIME_GAP_MS, "master": mastering_identity(settings)})
    hit = _from_cache(cache, key, media_dir)
    if hit is not None:
        return hit
    signal = attention_tone(ATTENTION_RATE) + AudioSegment.silent(CHIME_GAP_MS, frame_rate=ATTENTION_RATE)
    media = _master_and_store(signal, settings, media_dir, "signal")
    cache.save(key, _record(media))
    log.info("attention signal mastered: %.2f s as %s (%.1f LUFS)", media.duration_s, media.sha256[:12], media.loudness_lufs)
    return media


def master_upload(path: Path, settings: AudioSettings, media_dir: Path,
                  progress: ProgressCallback | None = None) -> RenderedMedia:
    """Master an uploaded recording (MP3, WAV, M4A or OGG) like a rendered bulletin and store it.

    An unreadable, non-audio, silent or too long file raises :class:`RenderError` and
    stores nothing.  ``progress`` hears mastering, storing and done.
    """
    from audio.master import mastering_identity
    from audio.render_cache import RenderCache, render_key

    _check_upload(path, settings)
    cache = RenderCache(cache_root(settings, media_dir))
    key = render_key({"upload": _sha256(path), "master": mastering_identity(settings)})
    hit = _from_cache(cache, key, media_dir)
    if hit is not None:
        notify(progress, RenderProgress("done", engine=UPLOAD_ENGINE, fraction=1.0))
        return hit
    notify(progress, RenderProgress("mastering", engine=UPLOAD_ENGINE))
    media = _master_and_store(path, settings, media_dir, UPLOAD_ENGINE, progress, 0.0)
    cache.save(key, _record(media))
    log.info("mastered an upload of %.1f s as %s (%.1f LUFS)", media.duration_s, media.sha256[:12], media.loudness_lufs)
    notify(progress, RenderProgress("done", engine=UPLOAD_ENGINE, fraction=1.0))
    return media


def _speak_all(engine: SpeechEngine, paragraphs: Sequence[str], progress: ProgressCallback | None = None) -> list[AudioSegment]:
    """Speak every paragraph in order; ``progress`` hears each completion (from this thread, whatever the pool does)."""
    total = len(paragraphs)
    share = speaking_share(engine.name)

    def spoken(done: int) -> None:
        notify(progress, RenderProgress("speaking", done, total, engine.name, share * done / total))

    spoken(0)
    if engine.concurrency <= 1 or total == 1:
        speech = []
        for paragraph in paragraphs:
            speech.append(engine.speak(paragraph))
            spoken(len(speech))
        return speech
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(min(engine.concurrency, total)) as pool:
        futures = [pool.submit(engine.speak, p) for p in paragraphs]
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()
            spoken(done)
        return [f.result() for f in futures]


def _check_upload(path: Path, settings: AudioSettings) -> None:
    from audio.master import MasteringError, probe

    accepted = ", ".join(sorted(set(UPLOAD_FORMATS.values())))
    if not path.is_file():
        raise RenderError(f"the uploaded file {path.name} does not exist")
    if path.stat().st_size == 0:
        raise RenderError("the uploaded file is empty")
    try:
        info = probe(path)
    except MasteringError:
        raise RenderError(f"the uploaded file is not a readable recording; use {accepted}") from None
    fmt = info.get("format", {}).get("format_name", "")
    if fmt not in UPLOAD_FORMATS or not any(s.get("codec_type") == "audio" for s in info.get("streams", [])):
        raise RenderError(f"the uploaded file is not an audio recording in a supported format; use {accepted}")
    try:
        duration = float(info["format"]["duration"])
    except (KeyError, ValueError):
        raise RenderError("the uploaded recording has no readable duration") from None
    if duration > settings.max_upload_minutes * 60:
        raise RenderError(f"the uploaded recording lasts {duration / 60:.0f} minutes; the limit is {settings.max_upload_minutes:g}")


def _assemble(speech: Sequence[AudioSegment], settings: AudioSettings, attention: bool = False,
              bare: bool = False) -> AudioSegment:
    """Chime (or the attention signal), paragraphs with pauses between them, chime; one mono 16-bit track.

    ``bare``: the paragraphs and their pauses only."""
    from pydub import AudioSegment

    from audio.attention import attention_tone
    from audio.chime import intro_chime, outro_chime

    rate = max(seg.frame_rate for seg in speech)
    pieces = [seg.set_channels(1).set_sample_width(2).set_frame_rate(rate) for seg in speech if len(seg)]
    if not pieces:
        raise RenderError("the speech engine produced no audio")
    pause = AudioSegment.silent(settings.paragraph_pause_ms, frame_rate=rate)
    track: list[AudioSegment] = []
    for index, piece in enumerate(pieces):
        track += [pause, piece] if index else [piece]
    gap = AudioSegment.silent(CHIME_GAP_MS, frame_rate=rate)
    if bare:
        pass
    elif attention:
        track = [attention_tone(rate), gap, *track]
    elif settings.chime:
        track = [intro_chime(rate), gap, *track, gap, outro_chime(rate)]
    return AudioSegment(data=b"".join(seg.raw_data for seg in track), sample_width=2, frame_rate=rate, channels=1)


def _master_and_store(source: AudioSegment | Path, settings: AudioSettings, media_dir: Path, engine: str,
                      progress: ProgressCallback | None = None, start: float = 0.0) -> RenderedMedia:
    """Master and store; ``progress`` hears mastering advance from ``start`` (what speaking took) to nearly done."""
    from audio.master import MasteringError, master

    media_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=media_dir, prefix=".render-") as tmp:
        work = Path(tmp)
        program = work / "program.wav"
        if isinstance(source, Path):
            _decode_to_wav(source, program)
        else:
            _write_wav(source, program)
        try:
            done = master(program, settings, work / "out.ogg", work / "out.mp3", on_step=lambda m: notify(
                progress, RenderProgress("mastering", engine=engine, fraction=start + (STORING_AT - start) * m)))
        except MasteringError as exc:
            raise RenderError(f"mastering failed: {exc}") from None
        notify(progress, RenderProgress("storing", engine=engine, fraction=STORING_AT))
        size, mp3_size = done.ogg.stat().st_size, done.mp3.stat().st_size
        digest, final = store_media(done.ogg, media_dir, "ogg")
        mp3_digest, mp3_final = store_media(done.mp3, media_dir, "mp3")
    return RenderedMedia(
        sha256=digest, ext="ogg", size=size, duration_s=round(done.duration_s, 3), engine=engine, path=final,
        loudness_lufs=done.loudness.integrated_lufs, true_peak_dbtp=done.loudness.true_peak_dbtp,
        mp3_sha256=mp3_digest, mp3_size=mp3_size, mp3_path=mp3_final,
    )


def _decode_to_wav(source: Path, out: Path) -> None:
    """Decode the first audio stream to mono, so measuring and mastering hear what the horn will play."""
    import subprocess

    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-map", "0:a:0", "-vn", "-ac", "1", "-c:a", "pcm_s16le", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "unknown error"
        raise RenderError(f"the recording cannot be decoded: {reason}")


def _write_wav(segment: AudioSegment, out: Path) -> None:
    with wave.open(str(out), "wb") as w:
        w.setnchannels(segment.channels)
        w.setsampwidth(segment.sample_width)
        w.setframerate(segment.frame_rate)
        w.writeframes(segment.raw_data)


def _record(media: RenderedMedia) -> dict[str, Any]:
    return {
        "sha256": media.sha256, "duration_s": media.duration_s, "engine": media.engine,
        "loudness_lufs": media.loudness_lufs, "true_peak_dbtp": media.true_peak_dbtp, "mp3_sha256": media.mp3_sha256,
        "files": {media.path.name: media.size, media.mp3_path.name: media.mp3_size},
    }


def _from_cache(cache: RenderCache, key: str, media_dir: Path) -> RenderedMedia | None:
    record = cache.load(key, media_dir)
    if record is None:
        return None
    try:
        ogg, mp3 = f"{record['sha256']}.ogg", f"{record['mp3_sha256']}.mp3"
        return RenderedMedia(
            sha256=record["sha256"], ext="ogg", size=record["files"][ogg], duration_s=record["duration_s"],
            engine=record["engine"], path=media_dir / ogg, loudness_lufs=record["loudness_lufs"],
            true_peak_dbtp=record["true_peak_dbtp"], mp3_sha256=record["mp3_sha256"], mp3_size=record["files"][mp3],
            mp3_path=media_dir / mp3, cached=True,
        )
    except (KeyError, TypeError):
        log.warning("ignoring a malformed render cache entry %s", key[:12])
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
