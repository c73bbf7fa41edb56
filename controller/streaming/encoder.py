"""The one Opus encoder every mount is pushed by (relays and live sessions), and the timeline it stamps.

Why one builder: the restreamer and the live mixer must produce the same stream shape (Opus 20 ms
frames, 200 ms Ogg pages, constrained VBR) for the agents' player, and the same timeline.

The timeline is the controller's wall clock, carried in the Ogg granule positions.  The encoder
is started with ``-output_ts_offset`` set to the wall-clock instant its first PCM sample is due
(``origin``), so a page whose first sample has granule ``g`` (its granule minus its own samples)
holds the audio due at ``g / 48000`` seconds after 1970-01-01 UTC.  The Opus pre-skip needs no
arithmetic: the decoder trims it at any join, so a listener's first decoded sample is exactly
the first sample of the first page it decodes.  A restarted encoder (a new restreamer, a
restarted controller) simply continues on the same absolute timeline.
"""

from __future__ import annotations

TIMELINE_RATE = 48000  # Opus always counts granules at 48 kHz
PAGE_S = 0.2


def opus_encoder_args(target: str, name: str, bitrate_kbps: int, origin: float, application: str = "audio",
                      rate: int = TIMELINE_RATE) -> list[str]:
    """ffmpeg reading 16-bit mono PCM on stdin and pushing Opus in Ogg to ``target`` (an icecast:// URL).

    ``origin`` is the epoch instant (seconds) the first PCM sample is due on air: the stream's timeline.
    """
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "s16le", "-ar", str(rate), "-ac", "1",
            "-i", "-", "-c:a", "libopus", "-b:a", f"{bitrate_kbps}k", "-vbr", "constrained", "-application",
            application, "-frame_duration", "20", "-page_duration", str(int(PAGE_S * 1_000_000)),
            "-flush_packets", "1", "-output_ts_offset", f"{origin:.6f}", "-content_type", "audio/ogg",
            "-ice_name", name, "-f", "ogg", target]
