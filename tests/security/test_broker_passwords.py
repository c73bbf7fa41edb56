"""Broker password hashes: mosquitto's own $7$ format, checked in constant time."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from controller.devices.credentials import hash_password, verify_password
from controller.port_probe import NotListening, wait_for_port
from support.secure_rig import Client, SecureRig


def test_hashes_from_mosquitto_passwd_verify_and_ours_have_its_shape(tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "dev-loa-1", "s3cret-Mật-khẩu"], check=True)
    theirs = passwd.read_text().strip().split(":", 1)[1]
    assert verify_password("s3cret-Mật-khẩu", theirs)
    assert not verify_password("s3cret-mật-khẩu", theirs)

    ours = hash_password("s3cret-Mật-khẩu", iterations=1000)
    assert ours.startswith("$7$1000$") and verify_password("s3cret-Mật-khẩu", ours)
    assert ours != hash_password("s3cret-Mật-khẩu", iterations=1000)  # salted
    for broken in ("", "plain", "$6$1$abc$def", "$7$x$y$z"):
        assert not verify_password("anything", broken)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mosquitto drops to its own user only when started as root")
def test_mosquitto_started_as_root_reads_the_generated_files():
    """The generated mosquitto.conf, run verbatim by root (as Debian's own mosquitto unit does)."""
    root = Path(tempfile.mkdtemp(prefix="loaxa-broker-"))  # pytest's own base directory is closed to other users
    root.chmod(0o755)
    rig = SecureRig(root)
    proc = None
    try:
        rig.generate()
        rig.pid_file.parent.mkdir()  # the rig names its own pid file: a directory the broker's user may write
        broker_user = pwd.getpwnam("mosquitto")  # the default [broker] run_as
        os.chown(rig.pid_file.parent, broker_user.pw_uid, broker_user.pw_gid)
        proc = subprocess.Popen(["mosquitto", "-c", str(rig.files.conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_for_port("127.0.0.1", rig.port, timeout=10, proc=proc)
        except NotListening:
            raise AssertionError(f"mosquitto did not start: {proc.stderr.read()}") from None
        user, password = rig.controller_account()
        client = Client(rig.port, user, password, client_id="loaxa-controller")
        try:
            assert client.accepted
        finally:
            client.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
