"""Backup and restore of a controller: the database (SQLite online backup), keys and media.

The database is copied with SQLite's backup API, so a backup taken while the controller
runs is consistent. The archive holds the signing key, so it is written readable only by
its owner: whoever has it can speak for the controller.  It holds no retired signing
key's private half (only the current key is private; retired keys keep their public
half), even if an older version left one on disk.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from controller.config import ControllerConfig
from controller.security.key_file import retired_dir
from loaxa.wire_time import utcnow

log = logging.getLogger(__name__)

MANIFEST = "loaxa-backup.json"


class BackupError(RuntimeError):
    pass


def backup(config: ControllerConfig, archive: Path) -> dict[str, object]:
    """Write a consistent ``.tar.gz`` of the controller's state; returns the manifest."""
    if not config.db_path.exists():
        raise BackupError(f"no controller database at {config.db_path}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    data = config.data_dir
    with tempfile.TemporaryDirectory() as tmp:
        databases = sorted(data.glob("*.db"))
        for db in databases:
            _snapshot(db, Path(tmp) / db.name)
        files = sorted(p for p in data.rglob("*")
                       if p.is_file() and not _is_db_file(p, data) and not _is_retired_private_key(p, config))
        manifest = {
            "format": 1,
            "created_at": utcnow().isoformat(timespec="seconds"),
            "databases": [d.name for d in databases],
            "files": len(files),
        }
        (Path(tmp) / MANIFEST).write_text(json.dumps(manifest, indent=2))
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(Path(tmp) / MANIFEST, arcname=MANIFEST)
            for db in databases:
                tar.add(Path(tmp) / db.name, arcname=db.name)
            for p in files:
                tar.add(p, arcname=str(p.relative_to(data)))
    log.info("backup of %s written to %s", config.data_dir, archive)
    return manifest


def _is_retired_private_key(path: Path, config: ControllerConfig) -> bool:
    return path.parent == retired_dir(config.key_path) and path.suffix != ".pub"


def _is_db_file(path: Path, data: Path) -> bool:
    return path.parent == data and (path.suffix == ".db" or path.name.endswith((".db-wal", ".db-shm", ".db-journal")))


def _snapshot(src_path: Path, dst_path: Path) -> None:
    """Copy a live SQLite database consistently with the online backup API."""
    src = sqlite3.connect(src_path)
    dst = sqlite3.connect(dst_path)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def restore(config: ControllerConfig, archive: Path, *, force: bool = False) -> dict[str, object]:
    """Restore an archive into the configured data dir (refuses to overwrite unless forced)."""
    if config.db_path.exists() and not force:
        raise BackupError(f"{config.db_path} exists; stop the controller and pass --force to overwrite it")
    try:
        tar = tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive} is not a Loa Xã backup: {exc}") from None
    with tar:
        names = tar.getnames()
        if MANIFEST not in names or "loaxa.db" not in names:
            raise BackupError(f"{archive} is not a Loa Xã backup (no manifest or database)")
        manifest = json.load(tar.extractfile(MANIFEST))  # type: ignore[arg-type]
        config.data_dir.mkdir(parents=True, exist_ok=True)
        for name in manifest.get("databases", []):
            for suffix in ("-wal", "-shm"):
                (config.data_dir / f"{name}{suffix}").unlink(missing_ok=True)
        tar.extractall(config.data_dir, members=[m for m in tar.getmembers() if m.name != MANIFEST], filter="data")
    if config.key_path.parent.exists():
        os.chmod(config.key_path.parent, 0o700)
    log.info("restored %s into %s", archive, config.data_dir)
    return manifest
