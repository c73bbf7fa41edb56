"""The commune dictionary, kept in the controller database (table ``commune_dictionary``).

An entry is a written form and how it is read.  Its kind says which table of the
normalizer it goes to: an *abbreviation* matches exactly as written (``HTXDV``), a *foreign*
word in any case (``Festival`` = ``FESTIVAL``).  The entries are applied before every other
normalization rule (see :func:`audio.normalize.normalize`), so a commune can also correct a
rule's reading of one of its own names.  Every change is audited with the old and the new
reading; the official sees who taught the machine what.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from audio.normalize import Abbreviations, DictionaryError, normalize
from audio.normalize.dictionary import _check_table
from controller.db import Database
from controller.errors import InputError, NotFound
from controller.reports.audit import AuditTrail
from loaxa.protocol import format_time, utcnow

ABBREVIATION = "abbreviation"
FOREIGN = "foreign"
KINDS = (ABBREVIATION, FOREIGN)
MAX_ENTRIES = 5000
MAX_KEY = 64
MAX_READING = 200


@dataclass(frozen=True)
class DictionaryEntry:
    """One reading the commune taught: ``key`` as written, ``reading`` as it is said."""

    key: str
    reading: str
    kind: str
    updated_at: str
    updated_by: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "reading": self.reading, "kind": self.kind,
                "updated_at": self.updated_at, "updated_by": self.updated_by}


@dataclass(frozen=True)
class Finding:
    """A word of a script the official should look at: how it is read now, and whether the
    commune dictionary already has it."""

    word: str
    spoken: str
    kind: str
    in_dictionary: bool

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "spoken": self.spoken, "kind": self.kind, "in_dictionary": self.in_dictionary}


@dataclass(frozen=True)
class Review:
    """How a script will be read with the commune dictionary, and the words to look at."""

    normalized: str
    unknown: tuple[Finding, ...]
    foreign: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"normalized": self.normalized, "unknown": [f.to_dict() for f in self.unknown],
                "foreign": [f.to_dict() for f in self.foreign]}


def _text(value: Any, field: str, limit: int, empty_code: str, empty_message: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(empty_code, empty_message, field)
    value = " ".join(value.split())
    if len(value) > limit:
        raise InputError(f"{field}_too_long", f"Dài quá {limit} ký tự.", field)
    return value


class CommuneDictionary:
    """Read, change and apply the commune's own readings; every change is audited."""

    def __init__(self, db: Database, audit: AuditTrail):
        self.db = db
        self.audit = audit
        self._lock = threading.Lock()
        self._cached: Abbreviations | None = None
        self._stale = True

    # -- reading ---------------------------------------------------------------------------
    def entries(self) -> list[DictionaryEntry]:
        with self.db.tx() as db:
            rows = db.execute(
                "SELECT key, reading, kind, updated_at, updated_by FROM commune_dictionary ORDER BY key COLLATE NOCASE"
            ).fetchall()
        return [DictionaryEntry(*r) for r in rows]

    def get(self, key: str) -> DictionaryEntry | None:
        with self.db.tx() as db:
            row = db.execute("SELECT key, reading, kind, updated_at, updated_by FROM commune_dictionary WHERE key = ?",
                             [key]).fetchone()
        return DictionaryEntry(*row) if row else None

    def local(self) -> Abbreviations | None:
        """The entries as a normalizer dictionary (None when there are none); cached until a change."""
        with self._lock:
            if self._stale:
                entries = self.entries()
                abbreviations = {e.key: e.reading for e in entries if e.kind == ABBREVIATION}
                foreign = {e.key: e.reading for e in entries if e.kind == FOREIGN}
                self._cached = Abbreviations(abbreviations, {}, "commune dictionary", foreign) if entries else None
                self._stale = False
            return self._cached

    def review(self, script: str, dictionary: Abbreviations | None = None) -> Review:
        """How ``script`` will be read, with its unknown all-caps tokens and its foreign words."""
        local = self.local()
        result = normalize(script, dictionary, local)
        known = {e.key.casefold() for e in self.entries()}

        def findings(items: tuple[Any, ...], kind: str) -> tuple[Finding, ...]:
            return tuple(Finding(f.word, f.spoken, kind, f.word.casefold() in known) for f in items)

        return Review(result.text, findings(result.unknown, ABBREVIATION), findings(result.foreign, FOREIGN))

    # -- changing --------------------------------------------------------------------------
    def put(self, key: Any, reading: Any, kind: Any = ABBREVIATION, *, actor: str = "", ip: str = "") -> DictionaryEntry:
        """Add or replace one reading; audited as ``dictionary_entry_set`` with the old reading."""
        key = _text(key, "key", MAX_KEY, "empty_key", "Chưa nhập từ viết tắt hoặc từ nước ngoài cần dạy cách đọc.")
        reading = _text(reading, "reading", MAX_READING, "empty_reading", "Chưa nhập cách đọc.")
        if kind not in KINDS:
            raise InputError("invalid_kind", "Loại mục phải là từ viết tắt hoặc từ nước ngoài.", "kind")
        if not any(c.isalnum() for c in key):
            raise InputError("invalid_key", "Từ cần dạy cách đọc phải có chữ hoặc số.", "key")
        try:
            _check_table("commune dictionary", "abbreviations", {key: reading})
        except DictionaryError as exc:
            raise InputError("invalid_entry", "Mục từ điển không hợp lệ.", "key", details=str(exc)) from None
        now = format_time(utcnow())
        with self.db.tx() as db:
            old = db.execute("SELECT reading, kind FROM commune_dictionary WHERE key = ?", [key]).fetchone()
            if old is None:
                count = db.execute("SELECT COUNT(*) FROM commune_dictionary").fetchone()[0]
                if count >= MAX_ENTRIES:
                    raise InputError("dictionary_full", f"Từ điển của xã đã có {MAX_ENTRIES} mục; hãy xóa bớt mục cũ.", "key")
            db.execute(
                "INSERT INTO commune_dictionary(key, reading, kind, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET reading = excluded.reading, kind = excluded.kind, "
                "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                [key, reading, kind, now, str(actor)[:200]],
            )
            details = {"reading": reading, "kind": kind}
            if old is not None:
                details.update({"old_reading": old[0], "old_kind": old[1]})
            self.audit.record(actor, "dictionary_entry_set", key, details, ip)
            self._stale = True
        return DictionaryEntry(key, reading, kind, now, str(actor)[:200])

    def remove(self, key: Any, *, actor: str = "", ip: str = "") -> None:
        """Drop one reading; audited as ``dictionary_entry_removed``."""
        if not isinstance(key, str) or not key.strip():
            raise InputError("empty_key", "Chưa chọn mục cần xóa.", "key")
        with self.db.tx() as db:
            old = db.execute("SELECT reading, kind FROM commune_dictionary WHERE key = ?", [key]).fetchone()
            if old is None:
                raise NotFound("unknown_entry", f"Từ điển của xã không có mục '{key}'.", "key")
            db.execute("DELETE FROM commune_dictionary WHERE key = ?", [key])
            self.audit.record(actor, "dictionary_entry_removed", key, {"old_reading": old[0], "old_kind": old[1]}, ip)
            self._stale = True
