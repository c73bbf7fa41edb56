"""Retired signing keys leave only their public half, on disk and in backups."""

from __future__ import annotations

import tarfile
from pathlib import Path

from controller.config import ControllerConfig
from controller.db import Database
from controller.operations.backup import backup
from controller.security.key_file import retired_dir
from controller.security.keyring import Keyring
from loaxa import protocol
from loaxa.protocol import Signer


def test_a_retired_private_key_left_by_an_older_version_is_scrubbed_and_never_backed_up(tmp_path: Path):
    config = ControllerConfig(data_dir=tmp_path / "data")
    Database(config.db_path).close()
    Keyring(config.key_path)
    old = Signer.generate()  # what an older version archived at each rotation
    folder = retired_dir(config.key_path)
    folder.mkdir(parents=True)
    (folder / f"{old.kid}.pem").write_bytes(old.private_pem())
    stray = folder / "copy-of-old.key"  # whatever else lies there that is not a public half
    stray.write_bytes(old.private_pem())

    archive = tmp_path / "backup.tar.gz"
    backup(config, archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        blobs = [tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()]
    assert not any(n.startswith("keys/retired/") and not n.endswith(".pub") for n in names)
    assert sum(b"PRIVATE KEY" in b for b in blobs) == 1  # the current signing key only

    keyring = Keyring(config.key_path)  # the controller (or any command) starting up
    assert {p.name for p in folder.iterdir()} == {"copy-of-old.key", f"{old.kid}.pub"}
    assert (folder / f"{old.kid}.pub").read_text().strip() == protocol.public_key_to_text(old.public_key)
    assert keyring.kid != old.kid
