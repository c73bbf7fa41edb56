"""The shared 1 kHz test tone in the media store: made once with ffmpeg, reused by its sha256.

Test plays from the devices page and speaker checks (``controller.fleet.care``) both use it;
every enrolled device may download it (``media_access``).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from controller.db import Database
from controller.devices.media_access import TEST_TONE_ENGINE
from loaxa.wire_time import format_time, utcnow

TEST_TONE_S = 3
SPEAKER_CHECK_PREFIX = "speaker-check-"  # the item ids of the fleet's speaker checks, which play this tone


@dataclass(frozen=True)
class ToneMedia:
    """The test tone's row of the media index: what a play item of it carries (sha256, size, ext, length)."""

    sha256: str
    ext: str
    size: int
    duration_s: float
    engine: str
    created_at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ToneMedia:
        return cls(row["sha256"], row["ext"], row["size"], row["duration_s"], row["engine"], row["created_at"])

    def to_dict(self) -> dict[str, Any]:
        """The row as ``media`` stores it."""
        return {"sha256": self.sha256, "ext": self.ext, "size": self.size, "duration_s": self.duration_s,
                "engine": self.engine, "created_at": self.created_at}


def test_tone_media(db: Database, media_dir: Path) -> ToneMedia:
    """The tone in the store, made (and indexed) on first use or when its file has gone."""
    from audio.pipeline import store_media

    with db.tx() as conn:
        rows = list(conn.query("SELECT * FROM media WHERE engine = ? LIMIT 1", [TEST_TONE_ENGINE]))
    if rows and (media_dir / f"{rows[0]['sha256']}.{rows[0]['ext']}").is_file():
        return ToneMedia.from_row(rows[0])
    media_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=media_dir) as tmp:
        ogg = Path(tmp) / "tone.ogg"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
                        "-i", f"sine=frequency=1000:duration={TEST_TONE_S}", "-af", "volume=0.5", "-ac", "1",
                        "-ar", "48000", "-c:a", "libopus", "-b:a", "24k", "-bitexact", str(ogg)],
                       check=True, capture_output=True, timeout=60)
        digest, final = store_media(ogg, media_dir, "ogg")
    tone = ToneMedia(digest, "ogg", final.stat().st_size, float(TEST_TONE_S), TEST_TONE_ENGINE, format_time(utcnow()))
    with db.tx() as conn:
        conn["media"].insert(tone.to_dict(), replace=True)
    return tone
