"""Every migration written in controller/db.py is registered, and a new database applies them all."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from controller import db as db_module
from controller.db import Database, migrations


def test_every_migration_function_is_registered_in_file_order() -> None:
    written = re.findall(r"^def (m\d{3}_\w+)\(", inspect.getsource(db_module), re.M)
    registered = [m.name for m in migrations._migrations]
    assert registered == written


def test_a_new_database_applies_every_migration(tmp_path: Path) -> None:
    database = Database(tmp_path / "loaxa.db")
    with database.tx() as conn:
        applied = {r["name"] for r in conn.query(f"SELECT name FROM {migrations.migrations_table}")}
        indexes = {r["name"] for r in conn.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert applied == {m.name for m in migrations._migrations}
    assert "playback_events_device_planned" in indexes
