"""The agent's local state in SQLite (WAL, synchronous=FULL): it survives kill -9 and power cuts.

Holds the current verified plan (as the signed payload it arrived in), the media cache
index, the outbox of playback events, what has already been played, and the replay
counters (last plan version, last command sequence).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plan (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL,
                                 payload BLOB NOT NULL, received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS media (sha256 TEXT PRIMARY KEY, ext TEXT NOT NULL, size INTEGER NOT NULL,
                                  verified_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS plays (item_id TEXT PRIMARY KEY, status TEXT NOT NULL, updated_at REAL NOT NULL,
                                  info TEXT NOT NULL DEFAULT '{}');
"""


class AgentStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._lock = threading.RLock()
        with self._lock:
            self._conn.executescript(SCHEMA)
            if self.get("epoch") is None:
                self.set("epoch", f"e{int(time.time())}-{secrets.token_hex(4)}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _x(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    # key-value -----------------------------------------------------------------
    def get(self, key: str, default: str | None = None) -> str | None:
        row = self._x("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set(self, key: str, value: str) -> None:
        self._x("INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value))

    def get_int(self, key: str, default: int = 0) -> int:
        return int(self.get(key, str(default)))

    @property
    def epoch(self) -> str:
        return self.get("epoch") or ""

    # plan ----------------------------------------------------------------------
    def save_plan(self, version: int, payload: bytes) -> None:
        self._x("INSERT OR REPLACE INTO plan(id, version, payload, received_at) VALUES (1, ?, ?, ?)",
                (version, payload, time.time()))

    def load_plan_payload(self) -> bytes | None:
        row = self._x("SELECT payload FROM plan WHERE id = 1").fetchone()
        return bytes(row[0]) if row else None

    # media index -----------------------------------------------------------------
    def add_media(self, sha256: str, ext: str, size: int) -> None:
        self._x("INSERT OR REPLACE INTO media(sha256, ext, size, verified_at) VALUES (?, ?, ?, ?)",
                (sha256, ext, size, time.time()))

    def has_media(self, sha256: str) -> bool:
        return self._x("SELECT 1 FROM media WHERE sha256 = ?", (sha256,)).fetchone() is not None

    def media_entries(self) -> list[tuple[str, str, int]]:
        return [tuple(r) for r in self._x("SELECT sha256, ext, size FROM media").fetchall()]

    def remove_media(self, sha256: str) -> None:
        self._x("DELETE FROM media WHERE sha256 = ?", (sha256,))

    # outbox ----------------------------------------------------------------------
    def append_event(self, event: dict[str, Any]) -> int:
        """Store an event durably and return its sequence number (never reused).

        One transaction: a crash between numbering and writing must not leave a blank event.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self._conn.execute("INSERT INTO outbox(payload, created_at) VALUES ('{}', ?)", (time.time(),))
                seq = int(cur.lastrowid)
                event = dict(event, seq=seq)
                self._conn.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (json.dumps(event), seq))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return seq

    def pending_events(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._x("SELECT payload FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def outbox_size(self) -> int:
        return self._x("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def ack_events(self, up_to_seq: int) -> int:
        return self._x("DELETE FROM outbox WHERE seq <= ?", (up_to_seq,)).rowcount

    def delete_event(self, seq: int) -> None:
        self._x("DELETE FROM outbox WHERE seq = ?", (seq,))

    # plays -----------------------------------------------------------------------
    def play_status(self, item_id: str) -> str | None:
        row = self._x("SELECT status FROM plays WHERE item_id = ?", (item_id,)).fetchone()
        return row[0] if row else None

    def mark_play(self, item_id: str, status: str, info: dict[str, Any] | None = None) -> None:
        self._x("INSERT OR REPLACE INTO plays(item_id, status, updated_at, info) VALUES (?, ?, ?, ?)",
                (item_id, status, time.time(), json.dumps(info or {})))

    def clear_play(self, item_id: str) -> None:
        self._x("DELETE FROM plays WHERE item_id = ?", (item_id,))

    def unfinished_plays(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._x("SELECT item_id, info FROM plays WHERE status = 'playing'").fetchall()
        return [(r[0], json.loads(r[1])) for r in rows]

    def forget_plays_before(self, cutoff: float) -> None:
        self._x("DELETE FROM plays WHERE updated_at < ? AND status != 'playing'", (cutoff,))
