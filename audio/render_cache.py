"""The render cache: identical speech, voice and mastering never synthesize twice.

A render's key hashes everything that shapes the sound: the spoken text (after
normalization, so a dictionary change re-renders), the engine's identity (voice,
rate, language) and the mastering parameters.  The entry records the finished media;
it counts as a hit only while both files are still in the media store with the
recorded sizes, so pruning the store can never make the cache lie.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


def render_key(parts: dict[str, Any]) -> str:
    canonical = json.dumps({"format": CACHE_FORMAT, **parts}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RenderCache:
    def __init__(self, root: Path):
        self.root = root

    def _entry(self, key: str) -> Path:
        return self.root / "renders" / key[:2] / f"{key}.json"

    def load(self, key: str, media_dir: Path) -> dict[str, Any] | None:
        """The recorded render for ``key`` if its media files are all still in ``media_dir``."""
        try:
            record = json.loads(self._entry(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable render cache entry %s: %s", key[:12], exc)
            return None
        for name, size in record.get("files", {}).items():
            path = media_dir / name
            if not path.is_file() or path.stat().st_size != size:
                return None
        return record

    def save(self, key: str, record: dict[str, Any]) -> None:
        """Record a render; ``record["files"]`` maps each media file name to its size."""
        path = self._entry(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
