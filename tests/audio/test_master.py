"""Mastering: EBU R128 loudness and true peak on the delivered Opus and MP3, checked by an independent analysis."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from audio.master import Mastered, MasteringError, master, measure_loudness
from audio.settings import AudioSettings
from support.loudness import analyse, ffmpeg, stream

SPEECH = "Ủy ban nhân dân xã thông báo: bà con đưa trẻ đến trạm y tế để tiêm vắc xin."


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real espeak-ng speech, which peaks at full scale while its loudness sits far lower."""
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(path), SPEECH], check=True, capture_output=True)
    return path


def derived(src: Path, tmp_path: Path, name: str, af: str) -> Path:
    out = tmp_path / name
    ffmpeg("-i", str(src), "-af", af, "-c:a", "pcm_s16le", str(out))
    return out


def run_master(src: Path, tmp_path: Path, **settings) -> tuple:
    ogg, mp3 = tmp_path / "out.ogg", tmp_path / "out.mp3"
    done = master(src, AudioSettings(**settings), ogg, mp3)
    return done, analyse(ogg), analyse(mp3)


def test_measures_the_ebu_reference_tone(tmp_path: Path):
    """A 1 kHz sine peaking at -20 dBFS reads -23 LUFS (EBU Tech 3341) and -20 dBTP."""
    tone = tmp_path / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*1000*t):s=48000:d=5", "-c:a", "pcm_f32le", str(tone))
    loudness = measure_loudness(tone)
    assert loudness.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert loudness.true_peak_dbtp == pytest.approx(-20.0, abs=0.1)


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_clipped_speech_lands_on_target_below_the_true_peak_ceiling(speech_wav: Path, tmp_path: Path, target: float):
    hot = derived(speech_wav, tmp_path, "hot.wav", "volume=12dB")
    done, (ogg_i, ogg_tp), (mp3_i, mp3_tp) = run_master(hot, tmp_path, target_lufs=target)
    assert ogg_i == pytest.approx(target, abs=1.0)
    assert mp3_i == pytest.approx(target, abs=1.0)
    assert ogg_tp <= -1.0 and mp3_tp <= -1.0
    assert done.loudness.integrated_lufs == pytest.approx(ogg_i, abs=0.3)
    assert done.loudness.true_peak_dbtp <= -1.0
    assert_delivery_formats(done, stream(hot)["duration"])


def assert_delivery_formats(done: Mastered, source_s: float) -> None:
    ogg, mp3 = stream(done.ogg), stream(done.mp3)
    assert (ogg["format"], ogg["codec"], ogg["channels"], ogg["rate"]) == ("ogg", "opus", 1, 48000)
    assert (mp3["format"], mp3["codec"], mp3["channels"], mp3["rate"]) == ("mp3", "mp3", 1, 24000)
    assert done.duration_s == pytest.approx(source_s, abs=0.1)
    assert mp3["duration"] == pytest.approx(source_s, abs=0.1)
    assert done.ogg.stat().st_size * 8 / done.duration_s / 1000 < AudioSettings().opus_bitrate_kbps * 1.2


def test_quiet_speech_is_raised_to_target(speech_wav: Path, tmp_path: Path):
    quiet = derived(speech_wav, tmp_path, "quiet.wav", "volume=-30dB")
    assert analyse(quiet)[0] < -40
    _, (ogg_i, ogg_tp), _ = run_master(quiet, tmp_path, true_peak_dbtp=-2.0)
    assert ogg_i == pytest.approx(-16.0, abs=1.0)
    assert ogg_tp <= -2.0


def test_the_horn_band_pass_removes_lows(tmp_path: Path):
    tones = tmp_path / "tones.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=100:duration=2", "-f", "lavfi", "-i", "sine=frequency=1000:duration=2",
           "-filter_complex", "amix=inputs=2", "-ac", "1", str(tones))

    def low_band_share(**settings) -> float:
        done, _, _ = run_master(tones, tmp_path, **settings)
        low = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(done.ogg), "-af", "lowpass=f=150,lowpass=f=150,volumedetect",
                              "-f", "null", "-"], capture_output=True, text=True).stderr
        return float(low.split("mean_volume:")[1].split("dB")[0])

    assert low_band_share(bandpass=True) < low_band_share(bandpass=False) - 10


def test_silence_cannot_be_mastered(tmp_path: Path):
    silent = tmp_path / "silent.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "3", str(silent))
    with pytest.raises(MasteringError, match="silent"):
        master(silent, AudioSettings(), tmp_path / "o.ogg", tmp_path / "o.mp3")


def test_an_overshooting_opus_file_tries_other_frame_sizes_before_losing_loudness(tmp_path: Path):
    from audio.master import OPUS_FRAME_MS, _Encode

    opus = _Encode(tmp_path / "a.ogg", 10.0, OPUS_FRAME_MS[0])
    frames = []
    for _ in range(len(OPUS_FRAME_MS) - 1):
        opus.retry(0.5)
        frames.append(opus.frame_ms)
    assert frames == list(OPUS_FRAME_MS[1:]) and opus.gain == 10.0
    opus.retry(0.5)
    assert opus.gain == pytest.approx(9.2)
    mp3 = _Encode(tmp_path / "a.mp3", 10.0)
    mp3.retry(0.4)
    assert mp3.gain == pytest.approx(9.3) and mp3.frame_ms is None
    assert "-frame_duration" not in mp3.command(tmp_path / "in.wav", "anull", AudioSettings())


def test_files_over_the_ceiling_are_encoded_again_until_both_sit_under_it(
    speech_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
):
    """The real re-encode loop: with the limiter set 3 dB above the delivery ceiling, Opus
    tries its other frame sizes, then both files are encoded again with less gain."""
    import logging

    import audio.master

    monkeypatch.setattr(audio.master, "CODEC_MARGIN_DB", -3.0)
    hot = derived(speech_wav, tmp_path, "hot.wav", "volume=12dB")
    with caplog.at_level(logging.INFO, logger="audio.master"):
        done, (ogg_i, ogg_tp), (mp3_i, mp3_tp) = run_master(hot, tmp_path, true_peak_dbtp=-4.0)
    messages = [r.getMessage() for r in caplog.records]
    assert any("with 40 ms frames" in m for m in messages)
    assert any(m.startswith(".mp3 overshoots") and "dB lower" in m for m in messages)
    assert done.loudness.true_peak_dbtp <= -4.0 and done.mp3_loudness.true_peak_dbtp <= -4.0
    assert ogg_tp <= -3.8 and mp3_tp <= -3.8
    assert ogg_i < -16.3 and mp3_i < -16.3, "the lowered gain shows in the loudness"
