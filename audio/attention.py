"""The attention signal that opens every official warning: unmistakably not the bulletin chime.

The bulletin chime is three soft bell notes; a warning must sound different before anyone
hears a word.  This is a steady two-tone signal (853 Hz and 960 Hz together, the pair
broadcast warning systems use because it carries over noise and is rarely heard otherwise),
pulsed three times and then held, with short ramps so it never clicks.  It is generated, so
there is no recording to license, and capped at 8 s as broadcast practice advises.
"""

from __future__ import annotations

import math
import sys
from array import array
from functools import lru_cache

from pydub import AudioSegment

TONES_HZ = (853.0, 960.0)
PULSE_S = 0.5
GAP_S = 0.25
PULSES = 3
HOLD_S = 2.0
RAMP_S = 0.01
PEAK_DBFS = -6.0
MAX_SECONDS = 8.0


def attention_tone(frame_rate: int) -> AudioSegment:
    return _tone(frame_rate)


def _burst(frame_rate: int, seconds: float) -> list[float]:
    frames = int(seconds * frame_rate)
    ramp = max(1, int(RAMP_S * frame_rate))
    out = []
    for n in range(frames):
        t = n / frame_rate
        envelope = min(1.0, n / ramp, (frames - 1 - n) / ramp)
        out.append(envelope * sum(math.sin(2 * math.pi * f * t) for f in TONES_HZ) / len(TONES_HZ))
    return out


@lru_cache(maxsize=8)
def _tone(frame_rate: int) -> AudioSegment:
    silence = [0.0] * int(GAP_S * frame_rate)
    mix: list[float] = []
    for _ in range(PULSES):
        mix += _burst(frame_rate, PULSE_S) + silence
    mix += _burst(frame_rate, HOLD_S) + silence
    assert len(mix) / frame_rate <= MAX_SECONDS
    scale = 32767 * 10 ** (PEAK_DBFS / 20)
    samples = array("h", (round(x * scale) for x in mix))
    if sys.byteorder == "big":
        samples.byteswap()
    return AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=frame_rate, channels=1)
