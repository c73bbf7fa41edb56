"""The warning's attention signal is generated, short, click-free and spectrally unlike the bulletin chime."""

from __future__ import annotations

import numpy

from audio.attention import MAX_SECONDS, attention_tone
from audio.chime import intro_chime

RATE = 24000


def spectrum_peaks(segment, count):
    samples = numpy.frombuffer(segment.raw_data, dtype=numpy.int16).astype(float)
    power = numpy.abs(numpy.fft.rfft(samples))
    freqs = numpy.fft.rfftfreq(len(samples), 1 / segment.frame_rate)
    peaks = []
    for index in numpy.argsort(power)[::-1]:
        if all(abs(freqs[index] - p) > 20 for p in peaks):
            peaks.append(float(freqs[index]))
        if len(peaks) == count:
            return sorted(peaks)
    return sorted(peaks)


def test_attention_tone_is_two_tones_unlike_the_chime():
    tone, chime = attention_tone(RATE), intro_chime(RATE)
    assert [round(f) for f in spectrum_peaks(tone, 2)] == [853, 960]
    chime_peaks = spectrum_peaks(chime, 3)
    assert all(abs(c - t) > 100 for c in chime_peaks for t in (853, 960))


def test_attention_tone_is_bounded_loud_enough_and_does_not_click():
    tone = attention_tone(RATE)
    assert 3.0 <= tone.duration_seconds <= MAX_SECONDS
    assert -7.0 < tone.max_dBFS < -5.0
    samples = numpy.frombuffer(tone.raw_data, dtype=numpy.int16)
    assert abs(int(samples[0])) < 200 and numpy.abs(numpy.diff(samples.astype(int))).max() < 12000
