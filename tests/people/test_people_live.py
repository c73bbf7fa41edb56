"""The real controller process: the CLI and the harness authenticate, sign-ins are audited with
the client's address, and tampering behind the running controller's back is found."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import urllib.error
import urllib.request

import pytest

from controller.cli_http.client import ApiClient, ApiError
from support.harness import loaxa
from support.tree import seed_commune
from support.world import tomorrow_10h


def _post(url: str, path: str, data: dict, headers: dict[str, str], cookie: str = "") -> tuple[int, dict, str]:
    req = urllib.request.Request(url + path, data=json.dumps(data).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers, **({"Cookie": cookie} if cookie else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), r.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), ""


def test_live_controller_needs_auth_audits_sign_ins_and_detects_tampering(system, tmp_path):
    ctl = system.controller()
    with pytest.raises(ApiError) as err:
        ApiClient(ctl.url).get("/api/units")
    assert err.value.status == 401
    seed_commune(ctl.api, {"loa-1": "thon-a"})

    with urllib.request.urlopen(ctl.url + "/api/session") as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
        csrf = json.loads(r.read())["csrf_token"]
    status, body, _ = _post(ctl.url, "/api/login", {"username": "test-admin", "password": "sai"}, {"X-CSRF-Token": csrf}, cookie)
    assert status == 401 and body["code"] == "bad_credentials"
    status, body, _ = _post(ctl.url, "/api/login", {"username": "test-admin", "password": ctl.admin_password},
                            {"X-CSRF-Token": csrf}, cookie)
    assert status == 200 and body["user"]["unit_id"] == "*"

    text = tmp_path / "tin.txt"
    text.write_text("Thông báo. Sáng mai họp dân.", encoding="utf-8")
    env = dict(ctl.env, LOAXA_URL=ctl.url)
    out = subprocess.run(loaxa("bulletin", "add", str(text), "--at", tomorrow_10h(), "--targets", "xa"),
                         capture_output=True, text=True, env=dict(env, LOAXA_TOKEN=ctl.token), timeout=120)
    assert out.returncode == 0, out.stderr
    refused = subprocess.run(loaxa("logs"), capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 2 and "đăng nhập" in refused.stderr

    entries = ctl.api.get("/api/audit")
    by_action = {e["action"]: e for e in entries}
    assert by_action["login_failed"]["ip"] == "127.0.0.1" and by_action["login_failed"]["target"] == "test-admin"
    assert by_action["login"]["actor"] == "test-admin"
    assert {"unit_added", "device_added", "bulletin_added", "broadcast_scheduled"} <= set(by_action)
    assert ctl.api.get("/api/audit/verify")["ok"] is True

    conn = sqlite3.connect(ctl.data_dir / "loaxa.db")
    conn.executescript("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET ip = '198.51.100.7' "
                       "WHERE action = 'login_failed';")
    conn.close()
    verify = subprocess.run(loaxa("audit", "verify", "-c", ctl.cmd[-1]), capture_output=True, text=True,
                            env=ctl.env, timeout=60)
    assert verify.returncode == 1 and "content changed" in verify.stdout
    report = ctl.api.get("/api/audit/verify")
    assert report["ok"] is False
