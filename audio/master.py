"""Mastering and delivery encoding: loud enough for a horn, never clipping, the same level every time.

Speech synthesizers peak at full scale while their loudness sits far lower, so plain
loudness normalization (ffmpeg's ``loudnorm``, even in two passes) cannot raise them
to the target without breaking the true-peak ceiling.  The chain here tames the
dynamics first and sets the gain by measurement:

1. the band (rumble high-pass and the 7.5 kHz a wideband codec keeps, or the horn
   band-pass), then a trim to a reference loudness so the compressor acts the same on
   any source;
2. a speech compressor, then gain to the EBU R128 target and a look-ahead limiter at
   48 kHz, below the true-peak ceiling by a margin for the codecs' overshoot;
3. the gain is corrected by measuring the chain's output until it lands on target;
4. Opus and MP3 are encoded in parallel and measured again; a file whose codec still
   overshot the ceiling is encoded again (see :class:`_Encode`).

Measuring uses ffmpeg's ``ebur128`` filter (integrated loudness, 4x oversampled
true peak).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from audio.settings import AudioSettings

log = logging.getLogger(__name__)

OUTPUT_RATE = 48000
MP3_RATE = 24000
REFERENCE_LUFS = -23.0
COMPRESSOR = "acompressor=threshold=-28dB:ratio=4:attack=1:release=250:knee=6:detection=peak"
RUMBLE_HZ = 80
DELIVERY_LOWPASS_HZ = 7500
OPUS_CUTOFF_HZ = 8000
CODEC_MARGIN_DB = 2.5
CODEC_LOSS_LU = 0.4
OPUS_FRAME_MS = (20, 40, 60)
ENCODE_ATTEMPTS = 4
BITEXACT = ("-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact")
GAIN_TOLERANCE_LU = 0.25
LIMITER_LOSS_LU = 0.3
SILENT_LUFS = -60.0
FFMPEG_TIMEOUT_S = 1800
METER = "ebur128=framelog=verbose"
METER_TRUE_PEAK = "ebur128=framelog=verbose:peak=true"
FFMPEG = ("ffmpeg", "-nostdin", "-hide_banner", "-nostats")
_LUFS_RE = re.compile(r"I:\s+(-?inf|-?\d+(?:\.\d+)?) LUFS")
_PEAK_RE = re.compile(r"Peak:\s+(-?inf|-?\d+(?:\.\d+)?) dBFS")


class MasteringError(RuntimeError):
    """ffmpeg could not read, process or encode the audio; the message says why."""


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class Mastered:
    ogg: Path
    mp3: Path
    duration_s: float
    loudness: Loudness
    mp3_loudness: Loudness


def mastering_identity(settings: AudioSettings) -> dict[str, object]:
    """Every setting that changes the mastered sound, for the render cache key."""
    s = settings
    return {
        "target_lufs": s.target_lufs, "true_peak_dbtp": s.true_peak_dbtp,
        "bandpass": [s.bandpass_low_hz, s.bandpass_high_hz] if s.bandpass else None,
        "opus": [s.opus_bitrate_kbps, s.opus_complexity], "mp3": s.mp3_bitrate_kbps,
        "compressor": COMPRESSOR, "margin": CODEC_MARGIN_DB, "lowpass": DELIVERY_LOWPASS_HZ, "cutoff": OPUS_CUTOFF_HZ,
        "frames": OPUS_FRAME_MS,
    }


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness and true peak of a file, as ffmpeg's ebur128 filter reports them."""
    return _measure(path, "", true_peak=True)


def master(program: Path, settings: AudioSettings, ogg: Path, mp3: Path,
           on_step: Callable[[float], None] | None = None) -> Mastered:
    """Master ``program`` (any file ffmpeg reads) into ``ogg`` (Opus) and ``mp3``.

    ``on_step`` hears how far mastering has come (0 to 1) after each pass, weighted by
    what the passes cost on speech (the encode is most of it); a second encode after a
    codec overshoot does not move it back.
    """
    step = on_step or (lambda fraction: None)
    band = _band(settings)
    raw = _measure(program, band).integrated_lufs
    if raw < SILENT_LUFS:
        raise MasteringError("the audio is silent or too quiet to master")
    step(0.05)
    pre = f"{band},volume={REFERENCE_LUFS - raw:.2f}dB,{COMPRESSOR}"
    aim = settings.target_lufs + CODEC_LOSS_LU
    ceiling = settings.true_peak_dbtp - CODEC_MARGIN_DB
    first_gain = aim - _measure(program, pre).integrated_lufs + LIMITER_LOSS_LU
    step(0.1)
    gain = _settle_gain(program, pre, first_gain, ceiling, aim)
    step(0.25)
    encodes = [_Encode(ogg, gain, OPUS_FRAME_MS[0]), _Encode(mp3, gain)]
    pending = list(encodes)
    for attempt in range(ENCODE_ATTEMPTS):
        _run_all([e.command(program, _final_chain(pre, e.gain, ceiling), settings) for e in pending])
        if attempt == 0:
            step(0.85)
        for e, loudness in zip(pending, _measure_all([e.path for e in pending])):
            e.loudness = loudness
        if attempt == 0:
            step(1.0)
        pending = [e for e in pending if e.loudness.true_peak_dbtp > settings.true_peak_dbtp]
        if not pending or attempt == ENCODE_ATTEMPTS - 1:
            break
        for e in pending:
            e.retry(e.loudness.true_peak_dbtp - settings.true_peak_dbtp)
    for e in pending:
        log.warning("%s true peak %.1f dBTP stays above the ceiling %.1f dBTP", e.path.suffix, e.loudness.true_peak_dbtp, settings.true_peak_dbtp)
    opus, mpeg = encodes
    return Mastered(ogg, mp3, probe_duration(ogg), opus.loudness, mpeg.loudness)


class _Encode:
    """One delivery file and how to make it again when a codec's overshoot crossed the ceiling.

    libopus 1.3 now and then bursts at a sharp word ending, a few dB to well over
    +10 dBTP in one frame (xiph/opus#255); the burst depends on the encoder's state, so
    Opus first tries other frame sizes, which leave the loudness alone.  MP3, and Opus
    when no frame size helps, is encoded again with the gain lowered by the excess.
    """

    def __init__(self, path: Path, gain: float, frame_ms: int | None = None):
        self.path = path
        self.gain = gain
        self.frame_ms = frame_ms
        self.loudness = Loudness(float("nan"), float("nan"))

    def command(self, src: Path, chain: str, s: AudioSettings) -> list[str]:
        head = [*FFMPEG, "-v", "error", "-y", "-i", str(src), "-map", "0:a:0"]
        if self.frame_ms is None:
            return [*head, "-af", f"{chain},aresample={MP3_RATE}", "-ac", "1", "-c:a", "libmp3lame",
                    "-b:a", f"{s.mp3_bitrate_kbps}k", *BITEXACT, "-f", "mp3", str(self.path)]
        return [*head, "-af", chain, "-ac", "1", "-c:a", "libopus", "-b:a", f"{s.opus_bitrate_kbps}k", "-vbr", "on",
                "-cutoff", str(OPUS_CUTOFF_HZ), "-application", "audio", "-frame_duration", str(self.frame_ms),
                "-compression_level", str(s.opus_complexity), *BITEXACT, "-f", "ogg", str(self.path)]

    def retry(self, excess_db: float) -> None:
        if self.frame_ms is not None and self.frame_ms in OPUS_FRAME_MS[:-1]:
            self.frame_ms = OPUS_FRAME_MS[OPUS_FRAME_MS.index(self.frame_ms) + 1]
            log.info("opus overshoots the true-peak ceiling by %.1f dB; encoding again with %d ms frames", excess_db, self.frame_ms)
            return
        self.gain -= excess_db + 0.3
        log.info("%s overshoots the true-peak ceiling by %.1f dB; encoding again %.1f dB lower", self.path.suffix, excess_db, excess_db + 0.3)


def _band(s: AudioSettings) -> str:
    """The horn band, or else rumble and the delivery bandwidth: limiting what the codecs keep avoids their overshoot."""
    if s.bandpass:
        return f"highpass=f={s.bandpass_low_hz},lowpass=f={min(s.bandpass_high_hz, DELIVERY_LOWPASS_HZ)}"
    return f"highpass=f={RUMBLE_HZ},lowpass=f={DELIVERY_LOWPASS_HZ}"


def _settle_gain(program: Path, pre: str, gain: float, ceiling: float, aim: float) -> float:
    """Find the gain whose limited output measures ``aim``; limiting eats part of every added dB, hence the secant steps."""
    previous: tuple[float, float] | None = None
    for _ in range(4):
        measured = _measure(program, _final_chain(pre, gain, ceiling, resample=False)).integrated_lufs
        error = aim - measured
        if abs(error) <= GAIN_TOLERANCE_LU:
            break
        slope = 1.0
        if previous is not None and measured != previous[1]:
            slope = min(4.0, max(1.0, (gain - previous[0]) / (measured - previous[1])))
        previous = (gain, measured)
        gain += error * slope
    return gain


def probe(path: Path) -> dict:
    """ffprobe's view of a file (format and streams), or :class:`MasteringError` if it is not media."""
    cmd = ["ffprobe", "-v", "error", "-show_entries", "format=format_name,duration:stream=codec_type,codec_name",
           "-of", "json", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise MasteringError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "ffprobe cannot read it")
    return json.loads(done.stdout)


def probe_duration(path: Path) -> float:
    try:
        return float(probe(path)["format"]["duration"])
    except (KeyError, ValueError):
        raise MasteringError(f"{path.name} has no duration") from None


def _final_chain(pre: str, gain: float, ceiling_db: float, resample: bool = True) -> str:
    """Gain, then the look-ahead limiter at 48 kHz, where its sample peaks sit close to the true peaks.

    Without ``resample`` (only to measure loudness) the limiter runs at the source
    rate, which costs half as much and reads the same loudness.
    """
    limit = min(1.0, max(0.0625, 10 ** (ceiling_db / 20)))
    rate = f"aresample={OUTPUT_RATE}," if resample else ""
    return f"{pre},volume={gain:.2f}dB,{rate}alimiter=limit={limit:.4f}:level=0:attack=1.5:release=60:latency=1"


def _measure(src: Path, chain: str, true_peak: bool = False) -> Loudness:
    meter = METER_TRUE_PEAK if true_peak else METER
    cmd = [*FFMPEG, "-i", str(src), "-map", "0:a:0", "-af", f"{chain},{meter}" if chain else meter, "-f", "null", "-"]
    return _parse_loudness(_run(cmd), true_peak)


def _measure_all(paths: Sequence[Path]) -> list[Loudness]:
    cmds = [[*FFMPEG, "-i", str(p), "-map", "0:a:0", "-af", METER_TRUE_PEAK, "-f", "null", "-"] for p in paths]
    return [_parse_loudness(err, True) for err in _run_all(cmds)]


def _parse_loudness(stderr: str, true_peak: bool) -> Loudness:
    summary = stderr[stderr.rfind("Summary:"):]
    lufs = _LUFS_RE.search(summary)
    peak = _PEAK_RE.search(summary)
    if not lufs or (true_peak and not peak):
        raise MasteringError("ffmpeg did not report loudness: " + stderr.strip()[-300:])
    return Loudness(float(lufs.group(1)), float(peak.group(1)) if peak else float("nan"))


def _run(cmd: list[str]) -> str:
    return _run_all([cmd])[0]


def _run_all(cmds: Sequence[list[str]]) -> list[str]:
    """Run ffmpeg commands side by side (the machine has cores to spare) and return their stderr."""
    def run(cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=FFMPEG_TIMEOUT_S)

    try:
        if len(cmds) == 1:
            results = [run(cmds[0])]
        else:
            with ThreadPoolExecutor(len(cmds)) as pool:
                results = list(pool.map(run, cmds))
    except subprocess.TimeoutExpired:
        raise MasteringError(f"ffmpeg took longer than {FFMPEG_TIMEOUT_S} s") from None
    outputs = [r.stderr.decode("utf-8", errors="replace") for r in results]
    for result, text in zip(results, outputs):
        if result.returncode != 0:
            reason = text.strip().splitlines()[-1] if text.strip() else f"exit status {result.returncode}"
            raise MasteringError(f"ffmpeg failed: {reason}")
    return outputs
