"""What ``loaxa install controller`` sets up: the ``loaxa`` user, the broker and controller units, the config."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

from controller.config import ControllerConfig
from loaxa.config import ConfigError, load_config
from loaxa.install import Role


def plaintext_warnings(config_path: Path) -> list[str]:
    """Loud warnings for an installed config that would carry device passwords in clear.

    The installed controller serves HTTPS itself (``[http] tls``) with a certificate from the
    deployment's CA; these warnings appear only once someone turned that off.  ``loaxa broker
    config``, ``loaxa device add`` and the controller refuse such a config unless ``[broker] allow_plaintext``.
    """
    from controller.security.broker_config import plaintext_exposure

    try:
        config = load_config(ControllerConfig, config_path, env={})
    except ConfigError as exc:
        return [f"WARNING: {config_path} does not load: {exc}"]
    exposed = plaintext_exposure(config)
    if not config.public_url.startswith("https://") and not any(w.startswith("http.public_url") for w in exposed):
        exposed.append(f"http.public_url {config.public_url} is not https:// (devices cannot enroll from another "
                       "machine, and over plain HTTP their passwords would travel in clear)")
    if not exposed:
        return []
    return [f"WARNING: plaintext: {what}" for what in exposed] + [
        "WARNING: set [http] tls = true (the controller serves HTTPS with the deployment's CA) and an https:// "
        "[http] public_url, or a TLS reverse proxy in front (docs/install.md); until then the controller, "
        "'loaxa broker config' and 'loaxa device add' refuse to run unless [broker] allow_plaintext = true"]


INSTALLED_HTTPS_PORT = 8443


def _config(state_dir: Path) -> ControllerConfig:
    """An installed controller serves HTTPS to the network and runs Icecast from its own generated files.

    Poles enroll from other machines, so it listens on every interface, with TLS, under this
    machine's name (the certificate the deployment's CA issues names it)."""
    base = ControllerConfig()
    host = socket.getfqdn() or "localhost"
    http = replace(base.http, host="0.0.0.0", port=INSTALLED_HTTPS_PORT, tls=True,
                   public_url=f"https://{host}:{INSTALLED_HTTPS_PORT}")
    return replace(base, data_dir=state_dir, http=http, streaming=replace(base.streaming, enabled=True))


ROLE = Role("controller", "loaxa", ("loaxa-broker.service", "loaxa-controller.service"), "controller.toml",
            "/var/lib/loaxa", (), _config, warnings=plaintext_warnings)
