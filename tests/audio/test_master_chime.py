"""The generated chimes: short, click-free, rising to open and falling to close."""

from __future__ import annotations

import pytest
from pydub import AudioSegment

from audio.chime import NOTES_HZ, intro_chime, outro_chime


def dominant_hz(segment: AudioSegment) -> float:
    """Frequency from the zero crossings of the first note alone (before the second starts)."""
    samples = segment[:250].get_array_of_samples()
    crossings = sum(1 for a, b in zip(samples, samples[1:]) if (a < 0) != (b < 0))
    return crossings / 2 / 0.25


@pytest.mark.parametrize("rate", [22050, 24000, 48000])
def test_chimes_are_short_mono_and_leave_headroom(rate: int):
    for chime in (intro_chime(rate), outro_chime(rate)):
        assert chime.frame_rate == rate and chime.channels == 1 and chime.sample_width == 2
        assert 1500 <= len(chime) <= 2500
        assert chime.max_dBFS == pytest.approx(-6.0, abs=0.1)
        head = chime.get_array_of_samples()[:5]
        assert max(abs(s) for s in head) < 1000  # a soft attack, no click


def test_the_intro_rises_and_the_outro_falls():
    assert dominant_hz(intro_chime(48000)) == pytest.approx(NOTES_HZ[0], rel=0.03)
    assert dominant_hz(outro_chime(48000)) == pytest.approx(NOTES_HZ[-1], rel=0.03)
    assert intro_chime(48000).raw_data != outro_chime(48000).raw_data
