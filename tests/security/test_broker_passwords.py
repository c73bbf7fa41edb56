"""Broker password hashes: mosquitto's own $7$ format, checked in constant time."""

from __future__ import annotations

import subprocess

from controller.devices.credentials import hash_password, verify_password


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
