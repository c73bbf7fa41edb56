"""Finding 13: the controller serves HTTPS itself, with the certificate the deployment's CA issues.

A real ``loaxa controller`` on the rig's generated broker config: requests verified against
the CA succeed, a client without it refuses the connection, plain HTTP gets no answer, and a
pole enrolled over HTTPS downloads and plays its media verified against that same CA.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import tomllib
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from loaxa.wire_time import format_time, utcnow
from support.harness import _env, loaxa, wait_for
from support.secure_rig import SecureRig


@pytest.fixture
def secure_https(tmp_path: Path):
    rig = SecureRig(tmp_path, tls=True, https=True)
    yield rig
    rig.close()


def _get(url: str, context: ssl.SSLContext) -> dict:
    with urllib.request.urlopen(url, timeout=20, context=context) as resp:
        return json.loads(resp.read())


def test_the_controller_serves_https_that_only_the_deployment_ca_vouches_for(secure_https: SecureRig):
    ctl, pole, _code = secure_https.commune_with_pole("loa-1")
    ca = secure_https.files.ca_cert
    cert = x509.load_pem_x509_certificate((ca.parent / "controller.crt").read_bytes())
    assert cert.issuer == x509.load_pem_x509_certificate(ca.read_bytes()).subject

    trusted = ssl.create_default_context(cafile=str(ca))
    assert _get(f"{ctl.url}/api/pubkey", trusted)["kid"] == secure_https.kid
    with pytest.raises(urllib.error.URLError) as untrusted:
        _get(f"{ctl.url}/api/pubkey", ssl.create_default_context())  # the system's roots only
    assert isinstance(untrusted.value.reason, ssl.SSLCertVerificationError)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{secure_https.http_port}/api/pubkey", timeout=10).read()

    cfg = tomllib.loads((secure_https.root / "agent-loa-1.toml").read_text())
    assert cfg["controller_url"].startswith("https://")
    assert Path(cfg["controller_ca"]).read_bytes() == ca.read_bytes()  # kept for media downloads

    api = ctl.api
    wait_for(lambda: api.get("/api/devices/loa-1")["online"], timeout=30, what="the pole online")
    bulletin = api.post("/api/bulletins", {"title": "Họp", "text": "Thông báo. Chiều nay họp dân."})
    start = utcnow() + timedelta(seconds=4)
    api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": format_time(start), "targets": ["xa"]})
    plays = wait_for(pole.plays, timeout=40, what="the pole plays media fetched over HTTPS")
    assert plays[0]["sha256"] == bulletin["media"]["sha256"]


def test_enrolling_over_https_without_the_ca_is_refused_and_keeps_the_code(secure_https: SecureRig):
    secure_https.generate()
    secure_https.start_broker()
    ctl = secure_https.controller()
    ctl.api.post("/api/units", {"id": "xa", "name": "Xã Thử", "level": "commune"})
    out = secure_https.cli("device", "add", "--unit", "xa", "--name", "Loa 2", "--id", "loa-2")
    line = next(x for x in out.stdout.splitlines() if x.startswith("on the device:"))
    assert "loaxa agent enroll https://" in line and "--cafile ca.crt" in line
    code = next(x.split()[2] for x in out.stdout.splitlines() if x.startswith("enrollment code:"))

    blind = subprocess.run(loaxa("agent", "enroll", f"https://localhost:{secure_https.http_port}", code,
                                 "-c", str(secure_https.root / "blind.toml")),
                           capture_output=True, text=True, env=_env(), timeout=60)
    assert blind.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in blind.stderr
    assert not (secure_https.root / "blind.toml").exists()
    assert secure_https.enroll(code, secure_https.root / "pole.toml").returncode == 0  # the code was not spent


def test_plain_http_beyond_loopback_is_refused_unless_allowed(tmp_path: Path, caplog):
    from controller.config import ControllerConfig
    from loaxa.config import load_config
    from web.serve import plain_http_allowed

    cfg = tmp_path / "controller.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "c"}"\n[http]\nhost = "0.0.0.0"\ntls = false\n')
    refused = subprocess.run(loaxa("controller", "-c", str(cfg)), capture_output=True, text=True, env=_env(), timeout=60)
    assert refused.returncode != 0 and "refusing plain HTTP on 0.0.0.0:8080" in refused.stderr
    assert "allow_plaintext" in refused.stderr

    allowed = load_config(ControllerConfig, cfg, env={"LOAXA_BROKER_ALLOW_PLAINTEXT": "true"})
    with caplog.at_level("ERROR", logger="web.serve"):
        plain_http_allowed(allowed)
    assert any("PLAINTEXT: plain HTTP on 0.0.0.0:8080" in r.getMessage() for r in caplog.records)
    plain_http_allowed(load_config(ControllerConfig, cfg, env={"LOAXA_HTTP_HOST": "127.0.0.1"}))  # the demo
