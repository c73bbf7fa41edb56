"""Published agent releases: checked like a device checks them, stored, and served to devices.

A release is published from a ``loaxa release build`` + ``sign`` directory.  The controller
refuses what a device would refuse (unsigned, signed by another or a retired release key, a
file that does not match), so an operator learns of a bad release before any pole does.
Files live in ``<data_dir>/releases/<version>/`` and only the files a manifest lists (plus the
manifest and the key chain) are ever served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controller.db import Database
from controller.errors import Conflict, InputError, NotFound
from controller.fleet.settings import FleetSettings
from loaxa import release
from loaxa.wire_time import format_time, utcnow
from loaxa.release import KEYS_NAME, MANIFEST_NAME, ReleaseManifest, ReleaseRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Release:
    """A published release as stored: its manifest's facts, the digest and key id it was signed with,
    and who published it when (the JSON of ``/api/releases``)."""

    version: str
    notes: str
    floor: str
    min_from_version: str
    total_bytes: int
    files: int
    manifest_sha256: str
    kid: str
    published_at: str
    published_by: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = ", ".join(Release.__dataclass_fields__)


class ReleaseStore:
    def __init__(self, db: Database, directory: Path, settings: FleetSettings):
        self.db = db
        self.dir = directory
        self.settings = settings

    def _verify(self, source: Path) -> tuple[ReleaseManifest, bytes, bytes | None]:
        if not self.settings.release_public_key:
            raise InputError("no_release_key", "Chưa cấu hình khóa phát hành ([fleet] release_public_key).")
        try:
            payload = (source / MANIFEST_NAME).read_bytes()
        except OSError:
            raise InputError("no_manifest", f"Không có {MANIFEST_NAME} trong {source} (chưa ký bản phát hành?).") from None
        chain_bytes = (source / KEYS_NAME).read_bytes() if (source / KEYS_NAME).is_file() else None
        try:
            chain = json.loads(chain_bytes) if chain_bytes else []
            if not isinstance(chain, list):
                raise ReleaseRefused("bad_keys", f"{KEYS_NAME} is not a list")
            verifier, retired = release.follow_rollovers(self.settings.release_public_key, chain)
            manifest = release.open_manifest(payload, verifier, retired)
            release.check_files(manifest, source)
        except (ReleaseRefused, ValueError) as exc:
            code = getattr(exc, "reason", "bad_release")
            raise InputError(f"release_{code}", f"Bản phát hành bị từ chối: {exc}") from None
        return manifest, payload, chain_bytes

    def publish(self, source: Path, by: str) -> Release:
        """Check and store a signed release; publishing the same release again changes nothing."""
        manifest, payload, chain = self._verify(source)
        digest = hashlib.sha256(payload).hexdigest()
        existing = self.get(manifest.version, missing_ok=True)
        if existing:
            if existing.manifest_sha256 != digest:
                raise Conflict("release_exists", f"Đã có bản {manifest.version} khác với bản này.")
            return existing
        target = self.dir / manifest.version
        tmp = self.dir / f".{manifest.version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for f in manifest.files:
            shutil.copyfile(source / f.name, tmp / f.name)
        (tmp / MANIFEST_NAME).write_bytes(payload)
        if chain:
            (tmp / KEYS_NAME).write_bytes(chain)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        row = Release(version=manifest.version, notes=manifest.notes, floor=manifest.floor,
                      min_from_version=manifest.min_from_version, total_bytes=manifest.total_bytes,
                      files=len(manifest.files), manifest_sha256=digest, kid=json.loads(payload)["kid"],
                      published_at=format_time(utcnow()), published_by=by)
        with self.db.tx() as db:
            db["releases"].insert(row.to_dict())
        log.info("published agent release %s (%d files, %d bytes)", manifest.version, len(manifest.files),
                 manifest.total_bytes)
        return row

    def get(self, version: str, missing_ok: bool = False) -> Release | None:
        """The published release ``version``; None when missing and ``missing_ok``, else NotFound."""
        with self.db.tx() as db:
            rows = list(db.query(f"SELECT {_COLUMNS} FROM releases WHERE version = ?", [version]))
        if not rows and not missing_ok:
            raise NotFound("unknown_release", f"Không có bản phát hành '{version}'.")
        return Release(**rows[0]) if rows else None

    def list(self) -> list[Release]:
        """Every published release, newest version first."""
        with self.db.tx() as db:
            rows = [Release(**r) for r in db.query(f"SELECT {_COLUMNS} FROM releases")]
        return sorted(rows, key=lambda r: release.parse_version(r.version), reverse=True)

    def file(self, version: str, name: str) -> Path | None:
        """The path of a file devices may download, or None (unknown release or file)."""
        try:
            release.check_version(version)
        except ValueError:
            return None
        directory = self.dir / version
        if name in (MANIFEST_NAME, KEYS_NAME):
            path = directory / name
            return path if path.is_file() else None
        try:
            manifest = ReleaseManifest.from_dict(json.loads((directory / MANIFEST_NAME).read_bytes())["body"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        listed = {f.name for f in manifest.files}
        return directory / name if name in listed and (directory / name).is_file() else None
