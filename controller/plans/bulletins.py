"""Bulletins: the text an official wrote, its broadcast script, and its rendered media."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any, Callable

from audio.document import clean_document
from audio.normalize import Abbreviations, normalize
from audio.pipeline import RenderedMedia, RenderError, master_upload, render_text
from audio.progress import ProgressCallback
from audio.script import ScriptError, ScriptSettings, build_script
from audio.settings import AudioSettings
from controller.db import Database
from controller.errors import InputError, NotFound
from controller.ids import new_id
from controller.plans.records import Bulletin, PreparedScript, RemovedLine
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000
MAX_TITLE_CHARS = 300


def _check_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError("empty_text", "Nội dung bản tin đang trống.", field)
    if len(value) > MAX_TEXT_CHARS:
        raise InputError("text_too_long", f"Nội dung dài quá {MAX_TEXT_CHARS:,} ký tự; hãy chia thành nhiều bản tin.".replace(",", "."), field)
    return value


def record_media(db: Any, media: RenderedMedia) -> None:
    """Register a rendered file and its MP3 fallback in the media index (inside the caller's transaction)."""
    now = format_time(utcnow())
    rows = [{"sha256": media.sha256, "ext": media.ext, "size": media.size, "duration_s": media.duration_s,
             "engine": media.engine, "created_at": now, "fallback_sha256": media.mp3_sha256 or ""}]
    if media.mp3_sha256:
        rows.append({"sha256": media.mp3_sha256, "ext": "mp3", "size": media.mp3_size, "duration_s": media.duration_s,
                     "engine": media.engine, "created_at": now, "fallback_sha256": ""})
    db["media"].insert_all(rows, replace=True)


class Bulletins:
    def __init__(self, db: Database, media_dir: Path, audio: AudioSettings, script: ScriptSettings | None = None,
                 commune: str = "", local: Callable[[], Abbreviations | None] | None = None):
        """``local`` gives the commune's own dictionary (controller.dictionary) at each use."""
        self.db = db
        self.local = local or (lambda: None)
        self.media_dir = media_dir
        self.audio = audio
        self.script_settings = script or ScriptSettings()
        self.commune = commune

    def prepare(self, text: Any) -> PreparedScript:
        """The draft broadcast script of a pasted document, what was left out, and how it will be read."""
        text = _check_text(text, "text")
        doc = clean_document(text)
        try:
            script = build_script(doc, self.script_settings, self.commune or None)
        except ScriptError:
            raise InputError("nothing_to_read", "Sau khi lược bỏ phần thủ tục hành chính, bản tin không còn nội dung để đọc.", "text") from None
        return PreparedScript(doc.title, script, tuple(RemovedLine(r.text, r.reason, r.line) for r in doc.removed),
                              normalize(script, self.script_settings.dictionary(), self.local()).text)

    def add(self, title: Any, text: Any, created_by: str = "", script: Any = None,
            progress: ProgressCallback | None = None,
            on_stored: Callable[[dict[str, Any]], None] | None = None) -> Bulletin:
        """Validate, render and store a bulletin; on any failure nothing is stored.

        ``script`` is the text the official approved for reading (edited from the draft);
        without it the draft script built from ``text`` is read.  ``progress`` hears the
        render's steps (see :func:`audio.pipeline.render_text`).  ``on_stored`` runs inside
        the transaction that stores the bulletin (its audit entry commits with it).
        """
        prepared = self.prepare(text)
        if script is None or (isinstance(script, str) and not script.strip()):
            script = prepared.script
        script = _check_text(script, "script").strip()
        if not isinstance(title, str):
            raise InputError("invalid_title", "Tiêu đề không hợp lệ.", "title")
        title = title.strip() or prepared.title or script.splitlines()[0][:120]
        if len(title) > MAX_TITLE_CHARS:
            raise InputError("title_too_long", f"Tiêu đề dài quá {MAX_TITLE_CHARS} ký tự.", "title")
        try:
            media = render_text(script, self.audio.for_commune(self.commune),
                                self.media_dir, dictionary=self.script_settings.dictionary(), progress=progress,
                                local=self.local())
        except RenderError as exc:
            log.error("render failed: %s", exc)
            raise InputError("render_failed", f"Không tạo được âm thanh: {exc}", "text") from None
        bulletin = {
            "id": new_id("bt"),
            "title": title,
            "text": text,
            "script": script,
            "media_sha256": media.sha256,
            "removed_json": json.dumps([r.to_dict() for r in prepared.removed], ensure_ascii=False),
            "created_at": format_time(utcnow()),
            "created_by": created_by,
        }
        with self.db.tx() as db:
            record_media(db, media)
            db["bulletins"].insert(bulletin)
            if on_stored is not None:
                on_stored(bulletin)
        return self.get(bulletin["id"])

    def add_recording(self, title: str, data: bytes, filename: str, created_by: str = "",
                      progress: ProgressCallback | None = None) -> Bulletin:
        """A recorded announcement as the content: mastered like speech; unreadable audio stores nothing."""
        media = self.master_recording(data, filename, progress)
        bulletin = {"id": new_id("bt"), "title": title or Path(filename).stem, "text": f"[Bản ghi âm: {filename}]",
                    "script": "", "media_sha256": media.sha256, "created_at": format_time(utcnow()),
                    "created_by": created_by}
        with self.db.tx() as db:
            record_media(db, media)
            db["bulletins"].insert(bulletin)
        return self.get(bulletin["id"])

    def master_recording(self, data: bytes, filename: str, progress: ProgressCallback | None = None,
                         max_seconds: float | None = None, field: str = "audio",
                         too_long: Callable[[float], str] | None = None) -> RenderedMedia:
        """Check and master an uploaded recording into the media store (the caller records it in the index).

        Unreadable or silent audio, and with ``max_seconds`` a longer one (``too_long`` words the
        refusal), raise :class:`InputError` on ``field`` before anything is stored.
        """
        from audio.master import MasteringError, probe_duration

        suffix = Path(filename).suffix.lower()
        self.media_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.media_dir) as tmp:
            src = Path(tmp) / f"upload{suffix}"
            src.write_bytes(data)
            if max_seconds is not None:
                try:
                    seconds = probe_duration(src)
                except MasteringError:
                    seconds = 0.0  # unreadable: master_upload below names the fault
                if seconds > max_seconds:
                    raise InputError("too_long", too_long(seconds) if too_long else
                                     f"Bản ghi dài {seconds:.0f} giây; tối đa {max_seconds:.0f} giây.", field)
            try:
                return master_upload(src, self.audio, self.media_dir, progress)
            except RenderError as exc:
                log.info("refused recording %s: %s", filename, exc)
                raise InputError("not_audio", "Tệp này không phải âm thanh đọc được (MP3, WAV, M4A, OGG), hoặc không có tiếng.",
                                 field, details=str(exc)) from None

    def get(self, bulletin_id: str) -> Bulletin:
        with self.db.tx() as db:
            rows = list(db.query(
                """SELECT b.*, m.ext, m.size, m.duration_s, m.engine, m.fallback_sha256 FROM bulletins b
                   LEFT JOIN media m ON m.sha256 = b.media_sha256 WHERE b.id = ?""",
                [bulletin_id],
            ))
        if not rows:
            raise NotFound("unknown_bulletin", f"Không có bản tin '{bulletin_id}'.")
        return Bulletin.from_row(rows[0])

    def list(self) -> list[Bulletin]:
        with self.db.tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM bulletins ORDER BY created_at DESC").fetchall()]
        return [self.get(i) for i in ids]

