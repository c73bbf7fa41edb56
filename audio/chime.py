"""Intro and outro chimes, synthesized here so no jingle's copyright is involved.

A bright ascending arpeggio (G4-C5-E5) tells listeners an announcement begins; the
same notes descending close it.  Each note is a soft bell: a few harmonics with an
exponential decay and a short attack so it never clicks.
"""

from __future__ import annotations

import math
import sys
from array import array
from functools import lru_cache

from pydub import AudioSegment

NOTES_HZ = (392.00, 523.25, 659.26)
NOTE_SPACING_S = 0.30
NOTE_LENGTH_S = 1.3
DECAY_S = 0.35
ATTACK_S = 0.005
PARTIALS = ((1.0, 1.0), (2.0, 0.30), (3.0, 0.10))
PEAK_DBFS = -6.0


def intro_chime(frame_rate: int) -> AudioSegment:
    return _chime(frame_rate, NOTES_HZ)


def outro_chime(frame_rate: int) -> AudioSegment:
    return _chime(frame_rate, NOTES_HZ[::-1])


@lru_cache(maxsize=8)
def _chime(frame_rate: int, notes: tuple[float, ...]) -> AudioSegment:
    note_frames = int(NOTE_LENGTH_S * frame_rate)
    step = int(NOTE_SPACING_S * frame_rate)
    mix = [0.0] * (step * (len(notes) - 1) + note_frames)
    for index, freq in enumerate(notes):
        offset = index * step
        for n in range(note_frames):
            t = n / frame_rate
            envelope = min(1.0, t / ATTACK_S) * math.exp(-t / DECAY_S)
            mix[offset + n] += envelope * sum(a * math.sin(2 * math.pi * freq * k * t) for k, a in PARTIALS)
    scale = 32767 * 10 ** (PEAK_DBFS / 20) / max(abs(x) for x in mix)
    samples = array("h", (round(x * scale) for x in mix))
    if sys.byteorder == "big":
        samples.byteswap()
    return AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=frame_rate, channels=1)
