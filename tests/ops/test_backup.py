"""A backup taken while the controller runs restores into a working controller with the same data and key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import urllib.request

from support.tree import seed_commune


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loaxa", *args], capture_output=True, text=True)


def test_backup_while_running_then_restore(system, tmp_path):
    ctl = system.controller()
    seed_commune(ctl.api, {"loa-1": "thon-a"})
    bulletin = ctl.api.post("/api/bulletins", {"title": "Lịch tiêm", "text": "Thông báo lịch tiêm chủng."})
    key = ctl.api.get("/api/pubkey")["public_key"]
    config = tmp_path / "controller.toml"
    archive = tmp_path / "backups" / "loaxa.tar.gz"

    out = run("backup", "-c", str(config), str(archive))
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    ctl.stop()

    # Lose everything, then restore.
    subprocess.run(["rm", "-rf", str(ctl.data_dir)], check=True)
    out = run("restore", "-c", str(config), str(archive))
    assert out.returncode == 0, out.stderr
    again = run("restore", "-c", str(config), str(archive))
    assert again.returncode == 2 and "--force" in again.stderr, again.stderr

    ctl.start()
    assert ctl.api.get("/api/pubkey")["public_key"] == key
    assert [d["id"] for d in ctl.api.get("/api/devices")] == ["loa-1"]
    restored = ctl.api.get(f"/api/bulletins/{bulletin['id']}")
    assert restored["title"] == "Lịch tiêm"
    media = urllib.request.urlopen(f"{ctl.url}/media/{bulletin['media']['sha256']}.ogg").read()
    assert len(media) == bulletin["media"]["size"]


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tarball")
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    out = run("restore", "-c", str(config), str(bogus))
    assert out.returncode == 2
    assert "not a Loa Xã backup" in out.stderr
    assert not (tmp_path / "data" / "loaxa.db").exists()
