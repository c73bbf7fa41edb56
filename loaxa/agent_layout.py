"""How an agent installation lies on disk, and the start-up guard that rolls a bad update back.

::

    /opt/loaxa-agent/
        releases/0.1.0/      a virtual environment per installed release
        releases/0.2.0/
        current -> releases/0.2.0     what systemd starts (ExecStart=/opt/loaxa-agent/current/bin/loaxa)
        update.json          the update in progress: trial, confirmed or rolled back
        guard.py             a copy of this file, run by ExecStartPre before every start

A venv cannot be moved (its scripts name its absolute path), so each release is built at its
final place and only the ``current`` symlink changes: a new link under a temporary name, then
``os.replace`` over the old one, which is atomic on POSIX (what ``ln -sfn`` does).

An update first runs as a *trial*.  The new version confirms itself once healthy; if it does
not within the deadline, it switches back itself.  If it cannot (it crashes at start-up or
hangs and the systemd watchdog kills it), this guard, run before each start, counts the starts
of the trial and switches back after ``max_starts`` or once the deadline has passed: the
boot-counting of A/B systems, for a venv.  The version that runs after a rollback reports
``update_failed`` with the reason written here.

This module uses only the standard library, so the copy systemd runs with the system Python
works whatever state the release venvs are in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path("/opt/loaxa-agent")
MARKER = "update.json"
TRIAL, CONFIRMED, ROLLED_BACK = "trial", "confirmed", "rolled_back"
_NAME_RE = re.compile(r"^\d{1,6}(\.\d{1,6}){1,3}$")


class Layout:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.releases = self.root / "releases"
        self.current = self.root / "current"
        self.marker = self.root / MARKER
        self.downloads = self.root / "downloads"

    def release_dir(self, version: str) -> Path:
        if not _NAME_RE.match(version):
            raise ValueError(f"{version!r} is not a release version")
        return self.releases / version

    def is_installed(self) -> bool:
        return self.current.is_symlink()

    def current_target(self) -> str:
        """Where ``current`` points, as written in the link (relative for releases)."""
        return os.readlink(self.current) if self.current.is_symlink() else ""

    def target_of(self, version: str) -> str:
        return str(self.release_dir(version).relative_to(self.root))

    def switch(self, target: str) -> None:
        """Point ``current`` at ``target`` atomically (a relative ``releases/<v>`` or an absolute venv)."""
        tmp = self.root / f".current.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        os.replace(tmp, self.current)
        _fsync_dir(self.root)

    def read_marker(self) -> dict[str, Any]:
        try:
            data = json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_marker(self, data: dict[str, Any]) -> None:
        tmp = self.marker.with_name(f".{MARKER}.{os.getpid()}")
        tmp.write_text(json.dumps(data, sort_keys=True))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.marker)
        _fsync_dir(self.root)


def rollback(layout: Layout, marker: dict[str, Any], reason: str) -> dict[str, Any]:
    """Switch back to the version the trial came from and record why."""
    layout.switch(marker["from_target"])
    marker = dict(marker, state=ROLLED_BACK, reason=reason, reported=False, rolled_back_at=time.time())
    layout.write_marker(marker)
    return marker


def guard(layout: Layout, now: float | None = None) -> str:
    """Run before every start: count a trial's starts and roll back a trial that cannot get healthy."""
    now = time.time() if now is None else now
    marker = layout.read_marker()
    if marker.get("state") != TRIAL or layout.current_target() != marker.get("to_target"):
        return "nothing to do"
    starts = int(marker.get("starts", 0)) + 1
    version = marker.get("version", "?")
    if starts > int(marker.get("max_starts", 3)):
        rollback(layout, marker, f"version {version} did not become healthy in {starts - 1} starts")
        return f"rolled back to {marker['from_target']}"
    if now > float(marker.get("deadline", now + 1)):
        rollback(layout, marker, f"version {version} was not healthy by its deadline")
        return f"rolled back to {marker['from_target']}"
    layout.write_marker(dict(marker, starts=starts))
    return f"trial of {version}: start {starts}"


def build_venv(target: Path, wheels: Path, requirements: list[str], pip_python: str | None = None) -> None:
    """A new venv at ``target`` with ``requirements`` from ``wheels`` only: no index, no network, no pip config.

    ``pip_python`` is an interpreter that has pip (the running release's); the release ships pip's
    own wheel, so the new venv gets one for the update after it.
    """
    pip_python = pip_python or sys.executable
    subprocess.run([pip_python, "-m", "venv", "--without-pip", str(target)], check=True, capture_output=True)
    subprocess.run([pip_python, "-m", "pip", "--isolated", "--disable-pip-version-check",
                    "--python", str(target / "bin" / "python"), "install", "--quiet", "--no-index", "--no-cache-dir",
                    "--find-links", str(wheels), *requirements],
                   check=True, capture_output=True, env={k: v for k, v in os.environ.items()
                                                          if not k.startswith(("PIP_", "PYTHONPATH"))})


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """``python3 guard.py /opt/loaxa-agent``: never fails the start, whatever happens here."""
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else DEFAULT_ROOT
    try:
        print(f"loaxa-agent guard: {guard(Layout(root))}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the agent must start even if the guard breaks
        print(f"loaxa-agent guard: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
