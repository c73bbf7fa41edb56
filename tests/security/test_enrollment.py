"""Enrollment against a real controller and a broker running the generated configuration."""

from __future__ import annotations

import sqlite3
import stat
import tomllib
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from controller.cli_http.client import ApiError, ApiClient
from controller.devices.enrollment import AttemptLimiter, code_digest, normalize_code, slug
from support.harness import wait_for
from loaxa.wire_time import format_time, utcnow

TEXT = "Thông báo. Chiều nay họp dân."


def test_an_enrolled_agent_connects_with_its_own_credentials_and_plays(secure):
    ctl, agent, code = secure.commune_with_pole("loa-1")
    api = ctl.api

    cfg_path = secure.root / "agent-loa-1.toml"
    assert stat.S_IMODE(cfg_path.stat().st_mode) == 0o600
    cfg = tomllib.loads(cfg_path.read_text())
    assert cfg["device_id"] == "loa-1" and cfg["mqtt"]["username"] == "dev-loa-1" and len(cfg["mqtt"]["password"]) >= 32
    assert cfg["controller_public_key"] == api.get("/api/pubkey")["public_key"]
    assert cfg["player"]["backend"] == "file"  # the pole's own settings survive enrollment
    wait_for(lambda: api.get("/api/devices/loa-1")["online"], timeout=30, what="enrolled agent online")

    used = secure.enroll(code, secure.root / "again.toml", check=False)
    assert used.returncode != 0 and "đã được dùng" in used.stderr
    assert not (secure.root / "again.toml").exists()

    bulletin = api.post("/api/bulletins", {"title": "Họp", "text": TEXT})
    sha = bulletin["media"]["sha256"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{ctl.url}/media/{sha}.ogg")
    assert refused.value.code == 401
    start = utcnow() + timedelta(seconds=4)
    api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": format_time(start), "targets": ["xa"]})
    plays = wait_for(agent.plays, timeout=30, what="the enrolled agent plays")
    assert plays[0]["sha256"] == sha  # downloaded with its own credentials, verified against the signed plan

    with ctl.db() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert {"device_added", "device_enrolled", "enrollment_refused"} <= set(actions)


def test_expired_unknown_and_hammered_codes_are_refused(secure):
    secure.generate()
    secure.start_broker()
    ctl = secure.controller()
    ctl.api.post("/api/units", {"id": "thon-a", "name": "Thôn A"})
    code = secure.add_device("loa-1", "thon-a")
    with sqlite3.connect(secure.config.db_path) as conn:
        conn.execute("UPDATE enrollment_codes SET expires_at = ? WHERE code_sha256 = ?",
                     [format_time(utcnow() - timedelta(seconds=1)), code_digest(code)])
    anonymous = ApiClient(ctl.url)
    with pytest.raises(ApiError) as expired:
        anonymous.post("/api/enroll", {"code": code})
    assert expired.value.status == 403 and expired.value.code == "code_expired"

    fresh = secure.cli("device", "code", "loa-1").stdout.split()[4]
    impostor = secure.enroll(fresh, secure.root / "impostor.toml", check=False, kid="0123456789abcdef")
    assert impostor.returncode != 0 and "refusing to pin" in impostor.stderr
    assert not (secure.root / "impostor.toml").exists()
    statuses = []
    for _ in range(12):
        try:
            anonymous.post("/api/enroll", {"code": "AAAA-BBBB-CCCC"})
        except ApiError as exc:
            statuses.append(exc.status)
    assert statuses[:8] == [403] * 8 and statuses[-1] == 429
    with pytest.raises(ApiError) as limited:
        anonymous.post("/api/enroll", {"code": fresh})  # even a good code waits out the minute
    assert limited.value.status == 429
    with sqlite3.connect(secure.config.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM broker_accounts WHERE role = 'device'").fetchone()[0] == 0


def test_codes_and_ids_are_typed_by_people():
    assert normalize_code(" k7qm-2xhd 9rta ") == "K7QM2XHD9RTA"
    assert code_digest("k7qm-2xhd-9rta") == code_digest("K7QM2XHD9RTA")
    assert slug("Cụm loa chợ Đông") == "cum-loa-cho-dong"
    limiter = AttemptLimiter(2)
    assert [limiter.allow("1.2.3.4") for _ in range(3)] == [True, True, False]
    assert limiter.allow("5.6.7.8")
