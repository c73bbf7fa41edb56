"""``loaxa agent enroll``: trade a one-time code for this device's identity and credentials.

The device makes its own Ed25519 key and sends the public half; it signs the device's
playback events from then on.  The controller answers with the device id, its broker
account, the broker address, the controller's public signing key (pinned from then on)
and, with TLS, the broker's CA.
They go into the agent's config file, written atomically with mode 0600 and owned by
the agent's user; every other setting already in that file is kept.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from edge_agent.config import AgentConfig
from loaxa import protocol
from loaxa.config import ConfigError, load_config, to_toml


class EnrollError(RuntimeError):
    """Enrollment did not happen; the message says why and nothing was written."""


@dataclasses.dataclass(frozen=True)
class Grant:
    device_id: str
    public_key: str
    kid: str
    host: str
    port: int
    username: str
    password: str
    tls: bool
    tls_ca_pem: str
    release_public_key: str = ""

    @classmethod
    def from_response(cls, d: Any) -> "Grant":
        try:
            mqtt = d["mqtt"]
            grant = cls(device_id=d["device_id"], public_key=d["controller_public_key"], kid=d["kid"],
                        host=mqtt["host"], port=mqtt["port"], username=mqtt["username"], password=mqtt["password"],
                        tls=mqtt["tls"], tls_ca_pem=d.get("tls_ca_pem", ""),
                        release_public_key=d.get("release_public_key") or "")
        except (KeyError, TypeError):
            raise EnrollError("the controller's answer is not an enrollment grant") from None
        for name, value, tp in (("host", grant.host, str), ("port", grant.port, int), ("username", grant.username, str),
                                ("password", grant.password, str), ("tls", grant.tls, bool), ("kid", grant.kid, str),
                                ("tls_ca_pem", grant.tls_ca_pem, str), ("release_public_key", grant.release_public_key, str)):
            if not isinstance(value, tp) or (tp is str and ("\n" in value and name != "tls_ca_pem")):
                raise EnrollError(f"the controller's answer has an unusable {name}")
        try:
            protocol.plan_topic(grant.device_id)
            key = protocol.public_key_from_text(grant.public_key)
            if grant.release_public_key:
                protocol.public_key_from_text(grant.release_public_key)
        except protocol.ProtocolError as exc:
            raise EnrollError(f"the controller's answer is unusable: {exc}") from None
        if protocol.key_id(key) != grant.kid:
            raise EnrollError("the controller's public key does not match its key id")
        if grant.tls and "BEGIN CERTIFICATE" not in grant.tls_ca_pem:
            raise EnrollError("the broker uses TLS but the controller sent no CA certificate")
        return grant


def _call(controller_url: str, path: str, body: Any = None, *, cafile: str | None = None, timeout: float = 30) -> Any:
    url = controller_url.rstrip("/") + path
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    context = ssl.create_default_context(cafile=cafile) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", "")
        except (ValueError, AttributeError):
            message = ""
        raise EnrollError(f"the controller refused (HTTP {exc.code}): {message or exc.reason}") from None
    except urllib.error.URLError as exc:
        raise EnrollError(f"cannot reach the controller at {controller_url}: {exc.reason}") from None
    except ValueError:
        raise EnrollError("the controller's answer is not JSON") from None


def request_grant(controller_url: str, code: str, *, cafile: str | None = None, device_public_key: str = "") -> Grant:
    body = {"code": code, "device_public_key": device_public_key} if device_public_key else {"code": code}
    return Grant.from_response(_call(controller_url, "/api/enroll", body, cafile=cafile))


def check_kid(controller_url: str, expect_kid: str, *, cafile: str | None = None) -> None:
    """Refuse a controller with another signing key before the one-time code is spent."""
    answer = _call(controller_url, "/api/pubkey", cafile=cafile)
    kid = answer.get("kid") if isinstance(answer, dict) else None
    if kid != expect_kid:
        raise EnrollError(f"the controller's key is {kid}, not the expected {expect_kid}: refusing to pin it")


def enroll(controller_url: str, code: str, config_path: Path, *, user: str | None = None,
           expect_kid: str | None = None, cafile: str | None = None) -> AgentConfig:
    """Enroll this device and write its config; returns the config as written."""
    owner = _owner(user)
    try:
        base = load_config(AgentConfig, config_path if config_path.exists() else None, env={})
    except ConfigError as exc:
        raise EnrollError(f"the existing config cannot be kept: {exc}") from None
    if expect_kid:
        check_kid(controller_url, expect_kid, cafile=cafile)
    device_key = protocol.Signer.generate()  # the pole's own key: its private half never leaves this machine
    grant = request_grant(controller_url, code, cafile=cafile,
                          device_public_key=protocol.public_key_to_text(device_key.public_key))
    _write_bytes(base.device_key_path, device_key.private_pem(), 0o600, owner)
    if expect_kid and grant.kid != expect_kid:
        raise EnrollError(f"the controller's key is {grant.kid}, not the expected {expect_kid}: refusing to pin it")
    tls_ca = ""
    if grant.tls:
        ca_path = config_path.with_name(config_path.stem + "-broker-ca.pem")
        _write(ca_path, grant.tls_ca_pem, 0o644, owner)
        tls_ca = str(ca_path)
    controller_ca = ""
    if cafile and controller_url.lower().startswith("https:"):
        controller_ca_path = config_path.with_name(config_path.stem + "-controller-ca.pem")
        _write(controller_ca_path, Path(cafile).read_text(encoding="ascii"), 0o644, owner)
        controller_ca = str(controller_ca_path)
    config = dataclasses.replace(
        base, device_id=grant.device_id, controller_url=controller_url.rstrip("/"), controller_ca=controller_ca,
        controller_public_key=grant.public_key, enrolled_at=protocol.format_time(protocol.utcnow()),
        release_public_key=grant.release_public_key or base.release_public_key,
        mqtt=dataclasses.replace(base.mqtt, host=grant.host, port=grant.port, username=grant.username,
                                 password=grant.password, tls_ca=tls_ca),
    )
    header = "# Loa Xã agent configuration, written by 'loaxa agent enroll'. It holds this device's secret.\n"
    _write(config_path, header + to_toml(config), 0o600, owner)
    return config


def _owner(user: str | None) -> tuple[int, int] | None:
    if not user:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise EnrollError(f"there is no user {user!r} on this machine") from None
    if os.geteuid() != 0 and entry.pw_uid != os.geteuid():
        raise EnrollError(f"only root can write a config owned by {user!r}")
    return entry.pw_uid, entry.pw_gid


def _write_bytes(path: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if owner is not None:
        os.chown(path.parent, *owner)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    if owner is not None:
        os.chown(tmp, *owner)
    os.replace(tmp, path)


def _write(path: Path, text: str, mode: int, owner: tuple[int, int] | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    if owner is not None:
        os.chown(tmp, *owner)
    os.replace(tmp, path)
