"""Bulletins: the text an official wrote, its broadcast script, and its rendered media."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from audio.pipeline import RenderedMedia, RenderError, render_text
from audio.settings import AudioSettings
from controller.db import Database
from controller.errors import InputError, NotFound
from loaxa.protocol import format_time, utcnow

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000
MAX_TITLE_CHARS = 300


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


class Bulletins:
    def __init__(self, db: Database, media_dir: Path, audio: AudioSettings):
        self.db = db
        self.media_dir = media_dir
        self.audio = audio

    def add(self, title: str, text: str, created_by: str = "") -> dict[str, Any]:
        """Validate, render and store a bulletin; on any failure nothing is stored."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("empty_text", "Nội dung bản tin đang trống.", "text")
        if len(text) > MAX_TEXT_CHARS:
            raise InputError("text_too_long", f"Nội dung dài quá {MAX_TEXT_CHARS:,} ký tự; hãy chia thành nhiều bản tin.".replace(",", "."), "text")
        if not isinstance(title, str):
            raise InputError("invalid_title", "Tiêu đề không hợp lệ.", "title")
        title = title.strip() or text.strip().splitlines()[0][:120]
        if len(title) > MAX_TITLE_CHARS:
            raise InputError("title_too_long", f"Tiêu đề dài quá {MAX_TITLE_CHARS} ký tự.", "title")
        script = text.strip()
        try:
            media = render_text(script, self.audio, self.media_dir)
        except RenderError as exc:
            log.error("render failed: %s", exc)
            raise InputError("render_failed", f"Không tạo được âm thanh: {exc}", "text") from None
        bulletin = {
            "id": new_id("bt"),
            "title": title,
            "text": text,
            "script": script,
            "media_sha256": media.sha256,
            "created_at": format_time(utcnow()),
            "created_by": created_by,
        }
        with self.db.tx() as db:
            self._record_media(db, media)
            db["bulletins"].insert(bulletin)
        return self.get(bulletin["id"])

    def _record_media(self, db: Any, media: RenderedMedia) -> None:
        db["media"].insert(
            {
                "sha256": media.sha256,
                "ext": media.ext,
                "size": media.size,
                "duration_s": media.duration_s,
                "engine": media.engine,
                "created_at": format_time(utcnow()),
            },
            replace=True,
        )

    def get(self, bulletin_id: str) -> dict[str, Any]:
        with self.db.tx() as db:
            rows = list(db.query(
                """SELECT b.*, m.ext, m.size, m.duration_s, m.engine FROM bulletins b
                   LEFT JOIN media m ON m.sha256 = b.media_sha256 WHERE b.id = ?""",
                [bulletin_id],
            ))
        if not rows:
            raise NotFound("unknown_bulletin", f"Không có bản tin '{bulletin_id}'.")
        row = rows[0]
        return _bulletin_view(row)

    def list(self) -> list[dict[str, Any]]:
        with self.db.tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM bulletins ORDER BY created_at DESC").fetchall()]
        return [self.get(i) for i in ids]


def _bulletin_view(row: dict[str, Any]) -> dict[str, Any]:
    media = None
    if row.get("media_sha256"):
        media = {
            "sha256": row["media_sha256"],
            "ext": row.pop("ext"),
            "size": row.pop("size"),
            "duration_s": row.pop("duration_s"),
            "engine": row.pop("engine"),
            "url": f"/media/{row['media_sha256']}.ogg",
        }
    row["media"] = media
    return row
