"""Proof of sound: the RMS meter and the ``silent`` flag.

No capture device exists here, so the meter's ``file`` backend replays a real audio file
through ffmpeg into the same reader that ``arecord`` feeds on a pole.
"""

from __future__ import annotations

from array import array

import pytest

from support.agent_rig import make_clip
from edge_agent.capture import FLOOR_DBFS, LevelMeter, make_meter, rms_dbfs
from edge_agent.config import CaptureSettings

SINE_RMS_DBFS = -21.07  # ffmpeg's sine source: amplitude 1/8, RMS = 1/(8*sqrt 2)


def test_rms_of_known_signals():
    square = array("h", [32767, -32767] * 500)
    assert rms_dbfs(float(sum(s * s for s in square)), len(square)) == pytest.approx(0.0, abs=0.01)
    half = array("h", [16384, -16384] * 500)
    assert rms_dbfs(float(sum(s * s for s in half)), len(half)) == pytest.approx(-6.02, abs=0.01)
    assert rms_dbfs(0.0, 1000) == FLOOR_DBFS
    assert rms_dbfs(0.0, 0) == FLOOR_DBFS


def test_meter_measures_a_tone_through_the_capture_path(tmp_path):
    tone = make_clip(tmp_path, 1.0, freq=1000)
    meter = LevelMeter(CaptureSettings(backend="file", device=str(tone.path)))
    level = meter.start().finish_after_eof()
    assert level.dbfs == pytest.approx(SINE_RMS_DBFS, abs=1.5)
    assert level.seconds == pytest.approx(1.0, abs=0.1)
    assert not level.silent


def test_meter_flags_silence(tmp_path):
    quiet = make_clip(tmp_path, 1.0, silent=True)
    level = LevelMeter(CaptureSettings(backend="file", device=str(quiet.path))).start().finish_after_eof()
    assert level.dbfs < -90 and level.silent


def test_alsa_backend_reads_the_configured_capture_device():
    meter = LevelMeter(CaptureSettings(backend="alsa", device="plughw:1,0", sample_rate=8000))
    assert meter.command()[:4] == ["arecord", "-q", "-D", "plughw:1,0"]
    assert "8000" in meter.command()


def test_capture_settings_are_checked():
    assert make_meter(CaptureSettings()) is None
    with pytest.raises(ValueError, match="unknown capture backend"):
        make_meter(CaptureSettings(backend="pulse", device="x"))
    with pytest.raises(ValueError, match="capture.device"):
        make_meter(CaptureSettings(backend="alsa"))
