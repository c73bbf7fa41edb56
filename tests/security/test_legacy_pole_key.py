"""A pole enrolled before per-device keys gets its events counted again without a visit.

On the generated broker config with a really enrolled agent, made into such a pole (no key
on record at the controller, none on the pole until the upgraded agent makes one at start):
its events are refused; an administrator asks it for its key (a signed
``register_key`` command), the pole posts the public half over its authenticated media
channel, the controller takes it once (audited), and the pole's next play counts.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from controller.cli_http.client import ApiError
from edge_agent.config import AgentConfig
from loaxa import protocol
from loaxa.config import load_config
from loaxa.protocol import Signer
from support.harness import wait_for
from support.secure_rig import SecureRig


def _post_key(url: str, user: str, password: str, body: dict) -> int:
    req = urllib.request.Request(f"{url}/device/key", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_pole_enrolled_before_device_keys_registers_its_key_when_asked(secure: SecureRig):
    ctl, pole, _ = secure.commune_with_pole("loa-1")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["online"], timeout=30, what="loa-1 online")
    config = load_config(AgentConfig, secure.root / "agent-loa-1.toml", env={})
    pole.stop()
    config.device_key_path.unlink()  # an old pole: no key file ...
    with sqlite3.connect(secure.config.db_path) as conn:  # ... and none on record (a database from before keys)
        conn.execute("DELETE FROM device_keys WHERE device_id = 'loa-1'")
    pole.start()  # the upgraded agent makes a key at start; the controller does not know it
    wait_for(config.device_key_path.exists, timeout=30, what="the agent makes its key")
    key = Signer.from_pem(config.device_key_path.read_bytes())
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["online"], timeout=30, what="loa-1 online again")

    refused_before = [e for e in ctl.api.get("/api/audit") if e["action"] == "device_key_registered"]
    assert refused_before == []
    creds = (config.mqtt.username, config.mqtt.password)
    proof = key.sign_detached(protocol.device_key_proof("loa-1"))
    body = {"public_key": protocol.public_key_to_text(key.public_key), "proof": proof}
    assert _post_key(ctl.url, *creds, body) == 403  # nobody asked: no window open

    with pytest.raises(ApiError) as editor:
        ctl.user_api("bientap", "editor", "xa").post("/api/devices/loa-1/key-request", {})
    assert editor.value.status == 403
    asked = ctl.api.post("/api/devices/loa-1/key-request", {})
    assert asked["device_id"] == "loa-1" and asked["expires_at"]
    wait_for(lambda: [e for e in ctl.api.get("/api/audit") if e["action"] == "device_key_registered"], timeout=30,
             what="the pole answers the signed command with its key")
    with ctl.db() as conn:
        active = conn.execute("SELECT kid FROM device_keys WHERE device_id = 'loa-1' AND retired_at IS NULL").fetchall()
    assert [r[0] for r in active] == [key.kid]
    entry = [e for e in ctl.api.get("/api/audit") if e["action"] == "device_key_registered"][0]
    assert entry["details"]["device_kid"] == key.kid and entry["target"] == "loa-1"
    assert [e["target"] for e in ctl.api.get("/api/audit") if e["action"] == "device_key_requested"] == ["loa-1"]

    # Once only: a second answer (someone else's key with the pole's password) and a second request are refused.
    other = Signer.generate()
    assert _post_key(ctl.url, *creds, {"public_key": protocol.public_key_to_text(other.public_key),
                                       "proof": other.sign_detached(protocol.device_key_proof("loa-1"))}) == 403
    with pytest.raises(ApiError) as again:
        ctl.api.post("/api/devices/loa-1/key-request", {})
    assert again.value.status == 409 and again.value.code == "has_device_key"
    assert _post_key(ctl.url, creds[0], "sai-mat-khau", body) == 401

    # The pole's events count again: an emergency it plays reaches the logbook.
    em = ctl.api.post("/api/emergency", {"targets": ["xa"], "text": "Thử còi báo động.", "reason": "thử"})
    wait_for(lambda: ctl.events(broadcast_id=em["broadcast_id"], kind="finished"), timeout=60,
             what="the pole's signed finished event accepted")
