"""Icecast2 from the controller's own files: per-device listener accounts, TLS against the controller CA."""

from __future__ import annotations

from pathlib import Path

from controller.db import Database
from controller.streaming.accounts import StreamAccounts
from support.harness import wait_for
from support.stream_rig import IcecastRig, IcecastSource, decode


def test_a_device_listens_with_its_own_account_and_a_revoked_one_is_refused(icecast: IcecastRig, tmp_path: Path):
    db = Database(tmp_path / "c.db")
    accounts = StreamAccounts(db, icecast.layout, icecast.admin_url, icecast.secrets.admin_password)
    a, b = accounts.for_device("pole-a"), accounts.for_device("pole-b")
    source = IcecastSource(icecast, "/prov.mp3").start()
    try:
        url = icecast.listen_url("/prov.mp3").replace("://", f"://{a.username}:{a.password}@")
        pcm = wait_for(lambda: decode(url, 1.0)[0], timeout=30, what="pole-a hears the mount")
        assert len(pcm) >= 48000 * 2 * 0.9

        anonymous, why = decode(icecast.listen_url("/prov.mp3"), 1.0)
        assert anonymous == b"" and "401" in why
        stolen, why = decode(icecast.listen_url("/prov.mp3").replace("://", f"://{b.username}:{a.password}@"), 1.0)
        assert stolen == b"" and "401" in why

        assert accounts.revoke("pole-a")
        assert accounts.for_device("pole-a") is None
        refused, why = wait_for(lambda: (lambda r: r if r[0] == b"" else None)(decode(url, 1.0)), timeout=5,
                                what="pole-a refused after revocation")
        assert "401" in why
        b_url = icecast.listen_url("/prov.mp3").replace("://", f"://{b.username}:{b.password}@")
        assert len(decode(b_url, 0.5)[0]) > 0
    finally:
        source.close()
        db.close()


def test_devices_reach_icecast_over_tls_verified_against_the_controller_ca(icecast: IcecastRig, tmp_path: Path):
    db = Database(tmp_path / "c.db")
    acc = StreamAccounts(db, icecast.layout).for_device("pole-a")
    source = IcecastSource(icecast, "/prov.mp3").start()
    try:
        url = icecast.listen_url("/prov.mp3", tls=True).replace("://", f"://{acc.username}:{acc.password}@")
        pcm = wait_for(lambda: decode(url, 1.0, ca_file=icecast.ca_cert)[0], timeout=30, what="audio over TLS")
        assert len(pcm) >= 48000 * 2 * 0.9
        other_ca = Path("/etc/ssl/certs/ca-certificates.crt")
        refused, why = decode(url, 1.0, ca_file=other_ca)
        assert refused == b"" and "verif" in why.lower()
    finally:
        source.close()
        db.close()


def test_the_controller_sees_when_a_mount_is_up_before_telling_devices(icecast: IcecastRig, tmp_path: Path):
    """A live session's devices are told once its mount is up, so none gets a 404 and misses the intro chime."""
    db = Database(tmp_path / "c.db")
    accounts = StreamAccounts(db, icecast.layout, icecast.admin_url, icecast.secrets.admin_password)
    assert not accounts.mounted("/live-1.ogg")
    source = IcecastSource(icecast, "/live-1.ogg").start()
    try:
        wait_for(lambda: accounts.mounted("/live-1.ogg"), timeout=30, what="the mount listed by Icecast")
        assert not accounts.mounted("/live-2.ogg")
    finally:
        source.close()
        db.close()
    wait_for(lambda: not accounts.mounted("/live-1.ogg"), timeout=30, what="the mount gone with its source")
