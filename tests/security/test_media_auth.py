"""Media downloads need a device's own, current credentials and a name the database knows."""

from __future__ import annotations

import base64
import hashlib

import pytest

from controller.config import ControllerConfig
from controller.people.actor import Actor
from controller.service import Controller
from loaxa.config import load_config
from loaxa.wire_time import format_time, utcnow
from web.app import create_app

AUDIO = b"OggS" + bytes(range(256)) * 40


@pytest.fixture
def media_app(tmp_path):
    config = load_config(ControllerConfig, env={"LOAXA_DATA_DIR": str(tmp_path / "ctl")})
    controller = Controller(config)
    controller.registry.add_unit("thon-a", "Thôn A")
    controller.registry.add_device("loa-1", "Loa 1", "thon-a")
    sha = hashlib.sha256(AUDIO).hexdigest()
    config.media_dir.mkdir(parents=True, exist_ok=True)
    (config.media_dir / f"{sha}.ogg").write_bytes(AUDIO)
    now = format_time(utcnow())
    with controller.db.tx() as db:  # a broadcast to loa-1 uses the file, so loa-1 may fetch it
        db["media"].insert({"sha256": sha, "ext": "ogg", "size": len(AUDIO), "duration_s": 1.0, "created_at": now})
        db["bulletins"].insert({"id": "b-1", "title": "Tin", "text": "Tin", "script": "Tin", "media_sha256": sha,
                                "created_at": now})
        db["broadcasts"].insert({"id": "bc-1", "bulletin_id": "b-1", "starts_at": now, "targets_json": '["thon-a"]',
                                 "status": "approved", "created_at": now})
        db["broadcast_devices"].insert({"broadcast_id": "bc-1", "device_id": "loa-1"})
    stray = hashlib.sha256(b"not registered").hexdigest()
    (config.media_dir / f"{stray}.ogg").write_bytes(b"not registered")
    user, password = controller.security.credentials.issue_device("loa-1")
    yield controller, create_app(controller).test_client(), sha, stray, user, password
    controller.stop()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_only_a_devices_current_credentials_open_the_media(media_app):
    controller, client, sha, stray, user, password = media_app
    url = f"/media/{sha}.ogg"
    assert client.get(url).status_code == 401
    assert client.get(url).headers["WWW-Authenticate"].startswith("Basic")
    assert client.get(url, headers=basic(user, password + "x")).status_code == 401
    assert client.get(url, headers=basic("dev-loa-2", password)).status_code == 401
    assert client.get(url, headers=basic(controller.config.broker.controller_username, password)).status_code == 401

    ok = client.get(url, headers=basic(user, password))
    assert ok.status_code == 200 and ok.data == AUDIO
    part = client.get(url, headers={**basic(user, password), "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == AUDIO[100:200]

    controller.security.revoke("loa-1", Actor.system("test"))
    assert client.get(url, headers=basic(user, password)).status_code == 401


def test_only_known_sha256_names_are_served(media_app):
    _controller, client, sha, stray, user, password = media_app
    auth = basic(user, password)
    assert client.get(f"/media/{stray}.ogg", headers=auth).status_code == 404  # on disk, but not a known medium
    assert client.get(f"/media/{sha}.mp3", headers=auth).status_code == 404
    for bad in ("..%2F..%2Fkeys%2Fcontroller-ed25519.pem", "../loaxa.db", f"{sha.upper()}.ogg", f"{sha}.ogg.bak",
                "%2e%2e%2floaxa.db"):
        assert client.get(f"/media/{bad}", headers=auth).status_code == 404, bad
